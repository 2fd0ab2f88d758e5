"""Re-running the demo after carriers used it: approved slots, availability and applications stay as they were.

The bug this guards (issue 14): a re-run reloaded every demo asset from the generator, so an asset with
all its slots taken by approved applications went back to "offered" and could be approved past capacity.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from loaders.demo import run_demo
from registry.settings import Settings
from tests.conftest import KeyFactory, assert_problem

SCALE = 0.01
CHIYODA = "131016"
CARRIERS = ("docomo", "kddi", "softbank", "rakuten")
_STATE = """select a.asset_id::text, a.version, a.current_tenants, a.max_tenants, a.availability, a.status,
                   a.updated_at, a.name
              from assets a order by a.municipality_code, a.asset_id"""
_APPLICATIONS = "select application_id::text, status, version, updated_at from applications order by 1"


async def _snapshot(owner: asyncpg.Connection) -> dict[str, list]:
    return {"assets": [tuple(r) for r in await owner.fetch(_STATE)],
            "applications": [tuple(r) for r in await owner.fetch(_APPLICATIONS)],
            "audit": [tuple(r) for r in await owner.fetch("select count(*) from asset_audit")],
            "needs": [tuple(r) for r in await owner.fetch("select count(*), max(version) from procurement_needs")],
            "tenders": [tuple(r) for r in await owner.fetch("select tender_id::text, status, version "
                                                            "from procurement_tenders order by 1")]}


async def test_rerun_keeps_approved_slots_and_refuses_past_capacity(settings: Settings, owner: asyncpg.Connection,
                                                                    client: AsyncTestClient,
                                                                    make_key: KeyFactory,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The server listens on every address at port 18123: the printed lines must use a reachable address and port.
    monkeypatch.setenv("KYODO_HOST", "0.0.0.0")
    monkeypatch.setenv("KYODO_PORT", "18123")
    printed = io.StringIO()
    assert await run_demo(settings, scale=SCALE, out=printed) == 0
    _check_printed_lines(printed.getvalue())
    # The demo's Chiyoda asset with the most slots that nobody holds yet and is open to applications.
    asset = await owner.fetchrow(
        """select asset_id::text, max_tenants from assets
            where municipality_code = $1 and status = 'published' and availability in ('offered', 'partly_available')
              and current_tenants = 0 and max_tenants >= 2
            order by max_tenants desc, source_id limit 1""", CHIYODA)
    assert asset is not None, "the demo at 1% gives Chiyoda several multi-slot assets"
    slots = asset["max_tenants"]
    chiyoda = await make_key("municipality", CHIYODA)
    body = {"asset_ids": [asset["asset_id"]], "purpose": "5G small cell", "starts_on": "2027-04-01",
            "ends_on": "2032-03-31"}
    for carrier in CARRIERS[:slots]:
        filed = await client.post("/v1/applications", json=body, headers=await make_key("carrier", carrier))
        assert filed.status_code == 201, filed.text
        acted = await client.post(f"/v1/applications/{filed.json()['application_id']}/actions",
                                  json={"action": "approve"}, headers=chiyoda)
        assert acted.status_code == 200, acted.text
    full = await owner.fetchrow("select current_tenants, availability from assets where asset_id = $1::uuid",
                                asset["asset_id"])
    assert (full["current_tenants"], full["availability"]) == (slots, "occupied")
    before = await _snapshot(owner)

    out = io.StringIO()
    assert await run_demo(settings, scale=SCALE, out=out) == 0
    assert await _snapshot(owner) == before
    assert "0 new" in out.getvalue()

    # Still full: one more carrier cannot be approved past the asset's capacity.
    extra = await client.post("/v1/applications", json=body, headers=await make_key("carrier", "extra-carrier"))
    if extra.status_code == 201:
        refused = await client.post(f"/v1/applications/{extra.json()['application_id']}/actions",
                                    json={"action": "approve"}, headers=chiyoda)
        assert_problem(refused, 409)
    else:
        assert_problem(extra, 422)
    assert await owner.fetchval("select current_tenants from assets where asset_id = $1::uuid",
                                asset["asset_id"]) == slots


def _check_printed_lines(text: str) -> None:
    curls = [line for line in text.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) >= 8
    urls = [re.search(r"'(http[^']+)'\s*$", line) for line in curls]
    assert all(u and u.group(1).startswith("http://127.0.0.1:18123/v1/") for u in urls), curls
    files = [m.group(1) for line in curls for m in re.finditer(r"=@([^'\s]+)", line)]
    assert files and all(Path(f).is_file() for f in files), files
    savings = next(line for line in text.splitlines() if line.startswith("joint procurement:"))
    # Each figure is named with its method; the realised and process savings add up to the headline.
    assert "realised" in savings and "process" in savings and "method kyodo-savings/" in savings
    assert "realised savings + process savings" in savings and "pools not tendered excluded" in savings
    total, realised, process = (int(m.replace(",", "")) for m in re.findall(r"¥([\d,]+)", savings)[:3])
    assert total == realised + process and realised > 0 and process > 0
