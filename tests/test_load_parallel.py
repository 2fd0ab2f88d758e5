"""Loads merged over several connections with two-phase commit (loaders/parallel.py), against the real
database. Batches of a few rows make a small file take the parallel path that a million rows take."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from loaders import validate
from loaders.assets import LoadReport, load_assets
from loaders.formats import LoadError
from loaders.parallel import admin_connections, recover
from registry.db.admin import admin_session
from registry.settings import Settings
from tests.test_load_assets import CHIYODA, counts, write_lights_csv


@pytest.fixture(autouse=True)
async def small_batches(monkeypatch: pytest.MonkeyPatch, owner: asyncpg.Connection) -> None:
    if await owner.fetchval("select current_setting('max_prepared_transactions')::int") < 4:
        pytest.skip("this server does not allow prepared transactions (max_prepared_transactions); "
                    "the embedded cluster does")
    monkeypatch.setattr(validate, "BATCH_ROWS", 7)


async def load(settings: Settings, path: Path, workers: int = 2, **kw: Any) -> LoadReport:
    kw.setdefault("publish", True)  # as a clerk says with --publish; drafts are tests/test_load_drafts.py's
    return await admin_session(settings, lambda db: load_assets(
        db, path, tenant=CHIYODA, parallel=admin_connections(settings, workers), **kw))


async def leftovers(owner: asyncpg.Connection) -> tuple[int, int, int]:
    row = await owner.fetchrow("""
      select (select count(*) from pg_prepared_xacts where database = current_database())::int,
             (select count(*) from pg_tables where schemaname = 'loader'
                 and tablename not in ('decisions', 'deferred_indexes'))::int,
             (select count(*) from loader.decisions)::int""")
    return tuple(row)  # type: ignore[return-value]


async def test_parallel_load_stores_what_one_connection_stores(settings: Settings, owner: asyncpg.Connection,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 40)
    before = await owner.fetchval("select clock_timestamp()")
    report = await load(settings, path, workers=3)
    after = await owner.fetchval("select clock_timestamp()")
    assert (report.rows, report.inserted, report.committed) == (40, 40, True)
    assert await counts(owner) == (40, 40, 40, 40)
    # Three workers' transactions, one time: the load's, taken once while it ran (loaders.merge._AT).
    times = await owner.fetch("select distinct created_at, updated_at from assets")
    assert len(times) == 1 and times[0]["created_at"] == times[0]["updated_at"]
    assert before < times[0]["created_at"] < after
    # Two connections' transactions, each its own xid in the feed: both commit, or neither.
    assert await owner.fetchval("select count(distinct xid) from asset_changes") == 3
    assert await leftovers(owner) == (0, 0, 0)
    stored = await owner.fetch("select source_id, ST_Y(geom) as lat, ST_X(geom) as lon, height_m from assets")
    expected = {f"L{i:05d}": (round(35.68 + (i % 100) / 10_000, 5), round(139.75 + i / 1_000_000, 6))
                for i in range(1, 41)}
    assert {r["source_id"]: (round(r["lat"], 5), round(r["lon"], 6)) for r in stored} == expected
    assert {float(r["height_m"]) for r in stored} == {10.0}

    again = await load(settings, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 40)
    assert await counts(owner) == (40, 40, 40, 40)


async def test_parallel_reload_updates_only_changed_rows(settings: Settings, owner: asyncpg.Connection,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 30)
    await load(settings, path)
    text = path.read_text().replace("L00003,light 3,", "L00003,light three,").replace("L00025,light 25,",
                                                                                      "L00025,light 25b,")
    path.write_text(text + f"{CHIYODA},L00031,light 31,streetlight,35.6831,139.750031,10\n")
    first = await owner.fetchval("select max(updated_at) from assets")
    report = await load(settings, path)
    assert (report.inserted, report.updated, report.unchanged) == (1, 2, 28)
    versions = dict(await owner.fetch("select source_id, version from assets where version > 1"))
    assert versions == {"L00003": 2, "L00025": 2}
    # The second load's updated and added rows carry its one time; the unchanged keep the first load's.
    times = dict(await owner.fetch("select source_id, updated_at from assets where updated_at > $1", first))
    assert sorted(times) == ["L00003", "L00025", "L00031"] and len(set(times.values())) == 1
    assert await owner.fetchval("select created_at from assets where source_id = 'L00031'") == times["L00031"]
    assert await owner.fetchval("select count(*) from asset_audit where op = 'update'") == 2


async def test_a_rejected_row_in_a_late_batch_stores_nothing(settings: Settings, owner: asyncpg.Connection,
                                                             tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 40, bad_row=38)
    report = await load(settings, path)
    assert (report.rejected, report.committed, report.inserted) == (1, False, 0)
    assert [i.row for i in report.issues if i.severity == "rejected"] == [38]
    assert await counts(owner) == (0, 0, 0, 0)
    assert await leftovers(owner) == (0, 0, 0)


async def test_repeated_id_across_batches_is_rejected(settings: Settings, owner: asyncpg.Connection,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 20)
    path.write_text(path.read_text() + f"{CHIYODA},L00002,again,streetlight,35.6802,139.750002,10\n")
    report = await load(settings, path)
    [issue] = [i for i in report.issues if i.severity == "rejected"]
    assert (issue.row, issue.reason) == (21, "source_id 'L00002' repeats row 2")
    assert await counts(owner) == (0, 0, 0, 0)


async def test_dry_run_in_parallel_writes_nothing(settings: Settings, owner: asyncpg.Connection,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 25)
    report = await load(settings, path, dry_run=True)
    assert (report.inserted, report.committed) == (25, False)
    assert await counts(owner) == (0, 0, 0, 0)
    assert await leftovers(owner) == (0, 0, 0)


async def test_a_failing_worker_rolls_every_worker_back(settings: Settings, owner: asyncpg.Connection,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 40)
    # Someone else creates L00030 after the load has taken its snapshot of existing ids: the worker
    # whose batch holds it waits on the other transaction, then fails on the unique key.
    other = await asyncpg.connect(settings.database_url)
    try:
        blocker = other.transaction()
        await blocker.start()
        await other.execute("""insert into assets (municipality_code, source_id, category, name, geom)
                               values ($1, 'L00030', 'streetlight', 'theirs', ST_Point(139.75, 35.68, 4326))""",
                            CHIYODA)
        task = asyncio.create_task(load(settings, path))
        for _ in range(200):
            waiting = await owner.fetchval("""select count(*) from pg_stat_activity
                                               where datname = current_database() and wait_event_type = 'Lock'""")
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting, "the load never waited for the other transaction"
        await blocker.commit()
        with pytest.raises(LoadError, match="another change created an asset"):
            await task
    finally:
        await other.close()
    assert await owner.fetchval("select array_agg(source_id) from assets") == ["L00030"]
    assert await owner.fetchval("select count(*) from asset_changes") == 1
    assert await leftovers(owner) == (0, 0, 0)


class CutAfterFirstCommit(asyncpg.Connection):
    """A connection that fails at its second COMMIT PREPARED, as if the machine stopped there."""

    commits = 0

    async def execute(self, query: str, *args: Any, **kw: Any) -> str:
        if query.startswith("commit prepared"):
            CutAfterFirstCommit.commits += 1
            if CutAfterFirstCommit.commits == 2:
                raise ConnectionError("cut")
        return await super().execute(query, *args, **kw)


async def test_a_load_cut_short_after_its_decision_is_finished_by_recovery(
        settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 30)
    parallel = admin_connections(settings, 2)

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(settings.api_database_url, connection_class=CutAfterFirstCommit)

    parallel.connect = connect
    with pytest.raises(ConnectionError):
        await admin_session(settings, lambda db: load_assets(db, path, tenant=CHIYODA, parallel=parallel,
                                                             publish=True))
    # One worker committed, one is still prepared (holding the snapshot table), and the decision
    # says the load goes in.
    assert await leftovers(owner) == (1, 1, 1)
    assert 0 < await owner.fetchval("select count(*) from assets") < 30
    api = await asyncpg.connect(settings.api_database_url)
    try:
        [done] = await recover(api)
    finally:
        await api.close()
    assert "committed 1 prepared" in done
    assert await counts(owner) == (30, 30, 30, 30)
    assert await leftovers(owner) == (0, 0, 0)


async def prepare_interrupted(settings: Settings, load_id: str, source_id: str) -> None:
    """One worker of a load that stopped after PREPARE: an asset inserted in a prepared transaction."""
    conn = await asyncpg.connect(settings.api_database_url)
    try:
        await conn.execute("begin")
        await admin_connections(settings, 2).enter(conn)
        await conn.execute("""insert into assets (municipality_code, source_id, category, name, geom)
                              values ($1, $2, 'streetlight', 'prepared', ST_Point(139.75, 35.68, 4326))""",
                           CHIYODA, source_id)
        await conn.execute(f"prepare transaction 'kyodo-load:{load_id}:0'")
    finally:
        await conn.close()


async def test_recovery_commits_a_decided_load_and_rolls_back_an_undecided_one(
        settings: Settings, owner: asyncpg.Connection) -> None:
    decided, undecided = uuid.uuid4().hex, uuid.uuid4().hex
    await prepare_interrupted(settings, decided, "DECIDED")
    await prepare_interrupted(settings, undecided, "UNDECIDED")
    await owner.execute("insert into loader.decisions (load_id) values ($1::uuid)", decided)
    assert await owner.fetchval("select count(*) from assets") == 0

    api = await asyncpg.connect(settings.api_database_url)
    try:
        # A load that is still running holds its lock; recovery leaves it alone.
        holder = await asyncpg.connect(settings.api_database_url)
        await holder.execute("select pg_advisory_lock(hashtextextended('kyodo-load:' || $1, 0))", undecided)
        done = await recover(api)
        assert len(done) == 1 and decided in done[0] and "committed" in done[0]
        assert await leftovers(owner) == (1, 0, 0)
        await holder.close()
        done = await recover(api)
        assert len(done) == 1 and undecided in done[0] and "rolled back" in done[0]
    finally:
        await api.close()
    assert await owner.fetchval("select array_agg(source_id) from assets") == ["DECIDED"]
    assert await leftovers(owner) == (0, 0, 0)


async def test_one_worker_or_a_small_file_takes_the_single_connection_path(
        settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 6)  # one batch
    await load(settings, path)
    write_lights_csv(path, 20)
    await load(settings, path, workers=1)
    assert await owner.fetchval("select count(distinct xid) from asset_changes") == 2
    assert await counts(owner) == (20, 20, 20, 20)
