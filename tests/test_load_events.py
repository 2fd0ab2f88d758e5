"""load.finished (issue 15): a committed load announces itself with its report, in its own transaction, to the
municipalities it wrote and their prefecture; a dry run, a rejected file or a load that fails announces nothing.
Both write paths: one connection (an upload) and several (a parallel load's prepared transactions)."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from loaders import validate
from tests.conftest import KeyFactory
from tests.test_load_assets import CHIYODA, write_lights_csv
from tests.test_load_parallel import load


async def _events(owner: asyncpg.Connection) -> list[asyncpg.Record]:
    return await owner.fetch("select audience, prefecture, data from event_outbox where type = 'load.finished' "
                             "order by event_id")


async def test_an_upload_announces_its_report(client: AsyncTestClient, make_key: KeyFactory,
                                              owner: asyncpg.Connection, tmp_path: Path) -> None:
    key = await make_key("municipality", CHIYODA)
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 12)
    files = {"file": ("lights.csv", path.read_bytes(), "text/csv")}
    dry = await client.post("/v1/assets/uploads", params={"dry_run": "true"}, files=files, headers=key)
    assert dry.status_code == 200, dry.text
    assert await _events(owner) == [], "a dry run writes nothing, its event neither"
    r = await client.post("/v1/assets/uploads", files=files, headers=key)
    assert r.status_code == 200, r.text
    report = r.json()
    [event] = await _events(owner)
    data = json.loads(event["data"])
    assert event["audience"] == [CHIYODA, "pref:13"] and event["prefecture"] == "13"
    assert data["municipality_code"] == CHIYODA and data["file"] == report["file"]
    for field in ("rows", "accepted", "warnings", "inserted", "updated", "unchanged"):
        assert data[field] == report[field], field
    # Oracle: what the table holds now.
    assert data["inserted"] == await owner.fetchval("select count(*) from assets where municipality_code = $1",
                                                    CHIYODA) == 12


async def test_a_rejected_file_announces_nothing(client: AsyncTestClient, make_key: KeyFactory,
                                                 owner: asyncpg.Connection, tmp_path: Path) -> None:
    key = await make_key("municipality", CHIYODA)
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 12, bad_row=5)
    r = await client.post("/v1/assets/uploads", files={"file": ("lights.csv", path.read_bytes(), "text/csv")},
                          headers=key)
    assert r.status_code in (200, 422), r.text
    assert await _events(owner) == []


async def test_a_parallel_load_announces_once_with_the_load(settings, owner: asyncpg.Connection, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if await owner.fetchval("select current_setting('max_prepared_transactions')::int") < 4:
        pytest.skip("this server does not allow prepared transactions; the embedded cluster does")
    monkeypatch.setattr(validate, "BATCH_ROWS", 7)
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 40, bad_row=38)
    assert not (await load(settings, path, workers=3)).committed
    assert await _events(owner) == []
    write_lights_csv(path, 40)
    report = await load(settings, path, workers=3)
    [event] = await _events(owner)
    assert json.loads(event["data"])["inserted"] == report.inserted == 40
    # The event is in a worker's prepared transaction, so it shares the load's fate: its transaction is one of the
    # load's own in the change feed.
    # (xid8 carries the epoch in its high 32 bits; xmin is the 32-bit xid.)
    assert await owner.fetchval("""select count(*) from asset_changes c
                                    where (c.xid::text::bigint & 4294967295) = (select xmin::text::bigint
                                                                                 from event_outbox
                                                                                where type = 'load.finished')""") > 0
