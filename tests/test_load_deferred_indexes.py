"""A large load into an empty catalogue builds the indexes of assets after its commit (sql/155), and
every path out of it (committed, rejected, cut short) leaves the same indexes as before, each holding
every row. Against the real database, with batches of a few rows so that a small file takes the
parallel path a million rows take."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import ClassVar

import asyncpg
import pytest

from loaders import validate
from loaders.parallel import recover
from registry.db.admin import enter_as_admin
from registry.settings import Settings
from tests.test_load_assets import CHIYODA, counts, write_lights_csv
from tests.test_load_parallel import load

_INDEXES = "select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = 'assets'"
_OIDS = """select c.relname, c.oid from pg_index i join pg_class c on c.oid = i.indexrelid
            where i.indrelid = 'assets'::regclass"""
# The index `CLUSTER assets` rewrites the table by (sql/151); a rebuilt index must carry the mark again.
_CLUSTERED = """select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid
                 where i.indrelid = 'assets'::regclass and i.indisclustered"""
# What a constraint needs (the primary key, the unique source ids) stays; the rest may be deferred.
_UNIQUE = """select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid
              where i.indrelid = 'assets'::regclass and i.indisunique"""


@pytest.fixture(autouse=True)
async def small_batches(monkeypatch: pytest.MonkeyPatch, owner: asyncpg.Connection) -> None:
    if await owner.fetchval("select current_setting('max_prepared_transactions')::int") < 4:
        pytest.skip("this server does not allow prepared transactions (max_prepared_transactions)")
    monkeypatch.setattr(validate, "BATCH_ROWS", 7)


async def index_scan_ids(owner: asyncpg.Connection) -> list[str]:
    """The source ids inside a box as the GiST index finds them (sequential scans forbidden)."""
    async with owner.transaction():
        await owner.execute("set local enable_seqscan = off")
        plan = "\n".join(r[0] for r in await owner.fetch(
            "explain select source_id from assets where geom && ST_MakeEnvelope(139, 35, 140, 36, 4326)"))
        assert "assets_geom" in plan, plan
        return sorted(r[0] for r in await owner.fetch(
            "select source_id from assets where geom && ST_MakeEnvelope(139, 35, 140, 36, 4326)"))


async def test_a_first_load_rebuilds_the_indexes_it_deferred(owner: asyncpg.Connection, settings: Settings,
                                                             tmp_path: Path) -> None:
    before = dict(await owner.fetch(_INDEXES))
    oids = dict(await owner.fetch(_OIDS))
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 30)
    report = await load(settings, path)
    assert (report.inserted, report.committed) == (30, True)
    assert dict(await owner.fetch(_INDEXES)) == before
    after = dict(await owner.fetch(_OIDS))
    # New indexes (new oids) for the three that no constraint needs; the primary key and the unique
    # source ids stayed, so the load could never write a duplicate.
    rebuilt = {name for name in oids if after[name] != oids[name]}
    kept = {r[0] for r in await owner.fetch(_UNIQUE)}
    assert rebuilt == set(oids) - kept and "assets_geom" in rebuilt and "assets_pkey" in kept
    assert [r[0] for r in await owner.fetch(_CLUSTERED)] == ["assets_geom"]
    await owner.execute("cluster assets")  # what an operator runs after a large load
    assert await index_scan_ids(owner) == sorted(f"L{i:05d}" for i in range(1, 31))
    assert await owner.fetchval("select count(*) from loader.deferred_indexes") == 0
    assert await counts(owner) == (30, 30, 30, 30)

    # The catalogue is no longer empty: the next load keeps the indexes as they are.
    write_lights_csv(path, 40)
    await load(settings, path)
    assert dict(await owner.fetch(_OIDS)) == after
    assert len(await index_scan_ids(owner)) == 40


async def test_a_load_with_a_rejected_row_leaves_the_indexes(owner: asyncpg.Connection, settings: Settings,
                                                             tmp_path: Path) -> None:
    before = dict(await owner.fetch(_INDEXES))
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 40, bad_row=38)
    report = await load(settings, path)
    assert (report.rejected, report.committed) == (1, False)
    assert dict(await owner.fetch(_INDEXES)) == before
    assert await owner.fetchval("select count(*) from loader.deferred_indexes") == 0


async def test_recovery_builds_the_indexes_of_a_load_cut_short(owner: asyncpg.Connection, settings: Settings) -> None:
    before = dict(await owner.fetch(_INDEXES))
    load_id = uuid.uuid4().hex
    api = await asyncpg.connect(settings.api_database_url)
    try:
        kept = {r[0] for r in await owner.fetch(_UNIQUE)}
        async with api.transaction():
            await enter_as_admin(api)
            deferred = await api.fetchval("select app.loader_defer_indexes($1::uuid)", load_id)
        assert deferred == len(before) - len(kept) > 0
        # The load stopped here: its indexes are away and only the record says what they were.
        assert set(dict(await owner.fetch(_INDEXES))) == kept
        await owner.execute("""insert into assets (municipality_code, source_id, category, name, geom)
                               values ($1, 'X1', 'streetlight', 'x', ST_Point(139.75, 35.68, 4326))""", CHIYODA)
        [done] = await recover(api)
        assert load_id in done and f"built again {deferred} index(es)" in done
    finally:
        await api.close()
    assert dict(await owner.fetch(_INDEXES)) == before
    assert [r[0] for r in await owner.fetch(_CLUSTERED)] == ["assets_geom"]
    assert await index_scan_ids(owner) == ["X1"]


async def test_only_an_admin_defers_and_only_on_an_empty_catalogue(owner: asyncpg.Connection,
                                                                   settings: Settings) -> None:
    before = dict(await owner.fetch(_INDEXES))
    api = await asyncpg.connect(settings.api_database_url)
    try:
        async with api.transaction():
            await api.execute("select set_config('app.role', 'municipality', true), "
                              "set_config('app.tenant_code', $1, true)", CHIYODA)
            assert await api.fetchval("select app.loader_defer_indexes(gen_random_uuid())") == 0
        await owner.execute("""insert into assets (municipality_code, source_id, category, name, geom)
                               values ($1, 'X1', 'streetlight', 'x', ST_Point(139.75, 35.68, 4326))""", CHIYODA)
        async with api.transaction():
            await enter_as_admin(api)
            assert await api.fetchval("select app.loader_defer_indexes(gen_random_uuid())") == 0
    finally:
        await api.close()
    assert dict(await owner.fetch(_INDEXES)) == before


class _Recording(asyncpg.Connection):  # a real connection that notes which index it was asked to build
    built: ClassVar[list[tuple[int, str]]] = []

    async def fetchval(self, query: str, *args: object, **kwargs: object) -> object:
        if "loader_restore_index(" in query and len(args) == 2:
            type(self).built.append((self.get_server_pid(), str(args[1])))
        return await super().fetchval(query, *args, **kwargs)


async def test_the_deferred_indexes_are_built_side_by_side(owner: asyncpg.Connection, settings: Settings) -> None:
    """sql/200: each deferred index is built on its own connection, the GiST on geom first, and the result is
    the same as building them one after another: same definitions, the clustering mark, no record left."""
    from loaders.parallel import _restore_side_by_side

    before = dict(await owner.fetch(_INDEXES))
    kept = {r[0] for r in await owner.fetch(_UNIQUE)}
    load_id = uuid.uuid4().hex
    _Recording.built = []
    conns = [await asyncpg.connect(settings.api_database_url, connection_class=_Recording) for _ in range(3)]
    try:
        async with conns[0].transaction():
            await enter_as_admin(conns[0])
            assert await conns[0].fetchval("select app.loader_defer_indexes($1::uuid)", load_id) == 3
        names = [r[0] for r in await conns[0].fetch("select app.loader_deferred_indexes($1::uuid)", load_id)]
        assert names[0] == "assets_geom" and set(names) == set(before) - kept
        await owner.execute("""insert into assets (municipality_code, source_id, category, name, geom)
                               values ($1, 'X1', 'streetlight', 'x', ST_Point(139.75, 35.68, 4326))""", CHIYODA)
        await _restore_side_by_side(load_id, conns)
        built = list(_Recording.built)
        assert await conns[0].fetchval("select app.loader_restore_index($1::uuid, 'assets_geom')", load_id) is False
    finally:
        for conn in conns:
            await conn.close()
    assert dict(await owner.fetch(_INDEXES)) == before
    assert [r[0] for r in await owner.fetch(_CLUSTERED)] == ["assets_geom"]
    assert await owner.fetchval("select count(*) from loader.deferred_indexes") == 0
    assert await index_scan_ids(owner) == ["X1"]
    # Three indexes, three connections: one each (the builds ran at the same time, not in a queue).
    assert sorted(name for _, name in built) == sorted(names)
    assert len({pid for pid, _ in built}) == 3
