"""Issue 17 item 3 (sql/180): no trigger on `assets` reads a transition table (Citus refuses them on a
distributed table); single-row writes derive their rows through row triggers, and a load, which skips them
with SET LOCAL app.assets_logged, writes the same rows itself. Oracles: the same files written row by row
into a twin municipality through single-row statements (audit, change feed, events), and the summaries and
tile cells recomputed from the catalogue (app.summaries_rebuild, app.tile_cells_rebuild)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from loaders import validate
from loaders.assets import load_assets
from loaders.parallel import admin_connections
from registry.db.admin import admin_session
from registry.db.pool import set_principal
from registry.principal import Principal
from registry.settings import Settings

LOADED, TWIN = "131016", "131041"  # Chiyoda through the loader, Shinjuku row by row
_VISIBILITY = ("public", "carriers", "restricted")

# Every column a write sets; the rest (ids, version, times, the generated mesh centre) the table sets.
_COLUMNS = """category, name, address, geom, position_accuracy_m, height_m, mountable_height_m, spare_load_kg,
    power, fibre_distance_m, area_m2, availability, current_tenants, max_tenants, constraints, fee_rule,
    permit_type, contact, source, last_verified, visibility, status"""
_COPY_ONE = f"""insert into assets (municipality_code, source_id, {_COLUMNS})
                select $1::lgcode, source_id, {_COLUMNS} from assets
                 where municipality_code = $2 and source_id = $3"""
_UPDATE_ONE = f"""update assets b set ({_COLUMNS}) = (select {_COLUMNS} from assets a
                                                     where a.municipality_code = $2 and a.source_id = b.source_id),
                         version = b.version + 1, updated_at = now()
                   where b.municipality_code = $1 and b.source_id = $3"""

# What a municipality's derived rows say, keyed by source id (asset ids and times differ between the twins).
_AUDIT = """select a.source_id, u.op, u.version, u.actor_role, u.actor_tenant, u.actor_key,
                   u.before - 'municipality_code' - 'asset_id' - 'created_at' - 'updated_at' as before
              from asset_audit u join assets a using (municipality_code, asset_id)
             where u.municipality_code = $1"""
_FEED = """select a.source_id, c.op, c.version from asset_changes c join assets a using (municipality_code, asset_id)
            where c.municipality_code = $1"""
_EVENTS = """select e.type, (e.data->>'count')::int as n, a.source_id
               from event_outbox e cross join lateral jsonb_array_elements_text(e.data->'asset_ids') i(id)
               join assets a on a.asset_id = i.id::uuid
              where e.type like 'asset.%' and e.data->>'municipality_code' = $1"""
# The summaries and tile cells as their readers add them up (rows are deltas, summed per key).
_SUMMARIES = [
    """select municipality_code::text, category, availability, sum(n)::bigint from asset_count_log
        group by 1, 2, 3 having sum(n) <> 0""",
    """select municipality_code::text, area_prefecture::text, area_id, availability, place::text, sum(n)::bigint
         from area_coverage_log group by 1, 2, 3, 4, 5 having sum(n) <> 0""",
    """select z, x, y, cell, prefecture, municipality_code, place, u.category, u.availability, sum(u.n)::bigint
         from asset_tile_cells t cross join lateral unnest(t.categories, t.availabilities, t.counts)
                                                 u(category, availability, n)
        group by 1, 2, 3, 4, 5, 6, 7, 8, 9 having sum(u.n) <> 0"""]


def _write(path: Path, version: int) -> None:
    """24 rows in three visibilities, some drafts; version 2 moves, edits, withdraws one and adds six."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["source_id", "name", "category", "latitude", "longitude", "height_m", "availability",
                      "visibility", "status"])
        for i in range(1, 25 + (6 if version == 2 else 0)):
            moved = version == 2 and i % 6 == 0
            status = "draft" if i % 8 == 0 else "published"
            if version == 2 and i == 3:
                status = "withdrawn"
            lat = 35.690 + i / 2000 + (0.001 if moved else 0)
            out.writerow([f"R{i:03d}", f"pole {i}", "utility_pole", f"{lat:.5f}",
                          f"{139.750 + i / 1500:.5f}", 12 + (version == 2 and i % 4 == 0),
                          "occupied" if version == 2 and i % 5 == 0 else "offered", _VISIBILITY[i % 3], status])


async def _copy_row_by_row(settings: Settings) -> None:
    """Bring the twin to the loaded municipality's state, one single-row statement per asset, as the same
    principal (the command line's admin) the load ran as."""
    async def work(db: asyncpg.Connection) -> None:
        rows = await db.fetch("""select a.source_id, b.version as twin_version, a.version
                                   from assets a left join assets b on b.municipality_code = $2
                                                                    and b.source_id = a.source_id
                                  where a.municipality_code = $1 order by a.source_id""", LOADED, TWIN)
        for r in rows:
            if r["twin_version"] is None:
                assert await db.execute(_COPY_ONE, TWIN, LOADED, r["source_id"]) == "INSERT 0 1"
            elif r["twin_version"] < r["version"]:
                assert await db.execute(_UPDATE_ONE, TWIN, LOADED, r["source_id"]) == "UPDATE 1"
    await admin_session(settings, work)


async def _derived(owner: asyncpg.Connection, code: str) -> dict[str, Any]:
    events = await owner.fetch(_EVENTS, code)
    return {
        "audit": sorted((r["source_id"], r["op"], r["version"], r["actor_role"], r["actor_tenant"], r["actor_key"],
                         json.loads(r["before"]) if r["before"] else None) for r in await owner.fetch(_AUDIT, code)),
        "feed": sorted(tuple(r) for r in await owner.fetch(_FEED, code)),
        # Which assets each kind of event announced (a load groups them per batch, a row write one each).
        "events": Counter((r["type"], r["source_id"]) for r in events),
    }


async def _summaries(owner: asyncpg.Connection) -> list[list[tuple]]:
    return [sorted(tuple(r) for r in await owner.fetch(q)) for q in _SUMMARIES]


@pytest.mark.parametrize("workers", [1, 3])
async def test_a_load_derives_what_single_row_writes_derive(settings: Settings, owner: asyncpg.Connection,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            workers: int) -> None:
    if workers > 1:
        if await owner.fetchval("select current_setting('max_prepared_transactions')::int") < workers:
            pytest.skip("this server does not allow prepared transactions; the embedded cluster does")
        monkeypatch.setattr(validate, "BATCH_ROWS", 7)  # several batches over the workers' prepared transactions
    # Priority areas around the points, so that coverage counts are written too.
    await owner.execute("""insert into priority_areas (prefecture_code, kind, name, geom)
                           values ('130001', 'major_station', 'a',
                                   ST_Multi(ST_MakeEnvelope(139.750, 35.690, 139.760, 35.700, 4326))),
                                  ('130001', 'commercial_district', 'b',
                                   ST_Multi(ST_MakeEnvelope(139.755, 35.695, 139.775, 35.705, 4326)))""")
    path = tmp_path / "poles.csv"
    parallel = admin_connections(settings, workers) if workers > 1 else None
    for version in (1, 2):
        _write(path, version)
        report = await admin_session(settings, lambda db: load_assets(db, path, tenant=LOADED, parallel=parallel))
        assert report.committed and report.rejected == 0
        await _copy_row_by_row(settings)
    # Oracle by hand from _write: rows 25-30 added; 3 withdrawn, 4 8 12 16 20 24 higher, 5 10 15 20 occupied,
    # 6 12 18 24 moved: 12 rows changed.
    assert (report.inserted, report.updated) == (6, 12)
    loaded, twin = await _derived(owner, LOADED), await _derived(owner, TWIN)
    assert loaded["audit"] == twin["audit"] and len(loaded["audit"]) == 30 + 12
    assert loaded["feed"] == twin["feed"] and loaded["feed"]
    assert loaded["events"] == twin["events"]
    assert {t for t, _ in loaded["events"]} == {"asset.published", "asset.changed", "asset.withdrawn"}
    # One event per municipality and kind per statement for the load; one per row for the row writes.
    events = "select count(*) from event_outbox where type like 'asset.%' and data->>'municipality_code' = $1"
    assert await owner.fetchval(events, LOADED) < sum(loaded["events"].values()) == await owner.fetchval(events, TWIN)
    # Summaries and tile cells: what the load and the row writes left equals a count from scratch.
    kept = await _summaries(owner)
    assert all(kept)
    tx = owner.transaction()
    await tx.start()
    await owner.execute("select app.summaries_rebuild(), app.tile_cells_rebuild()")
    assert await _summaries(owner) == kept
    await tx.rollback()


async def test_every_loaded_version_has_its_audit_row(settings: Settings, owner: asyncpg.Connection,
                                                      tmp_path: Path) -> None:
    """The skip setting turns the triggers off for a whole transaction: a statement that set it and did not log
    its rows would leave assets without audit rows. The check below finds that, and finds nothing after a load."""
    path = tmp_path / "poles.csv"
    for version in (1, 2):
        _write(path, version)
        await admin_session(settings, lambda db: load_assets(db, path, tenant=LOADED))
    unaudited = """select count(*) from assets a where not exists (
                     select from asset_audit u where u.municipality_code = a.municipality_code
                        and u.asset_id = a.asset_id and u.version = a.version)"""
    assert await owner.fetchval(unaudited) == 0
    assert await owner.fetchval("select count(*) from asset_audit") == await owner.fetchval(
        "select sum(version) from assets")
    tx = owner.transaction()
    await tx.start()
    await owner.execute("set local app.assets_logged = on")
    insert = """insert into assets (municipality_code, source_id, category, name, geom)
                values ($1, $2, 'streetlight', 'x', ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326))"""
    await owner.execute(insert, LOADED, "quiet")
    assert await owner.fetchval(unaudited) == 1, "the check can fail"
    await owner.execute("set local app.assets_logged = off")
    await owner.execute(insert, LOADED, "heard")
    assert await owner.fetchval(unaudited) == 1, "with the setting off the row trigger audits again"
    await tx.rollback()


async def test_the_statement_log_is_refused_without_the_setting_and_across_tenants(api_conn: asyncpg.Connection
                                                                                   ) -> None:
    chiyoda = Principal("k", "municipality", LOADED, "130001", "k")
    async with api_conn.transaction():
        await set_principal(api_conn, chiyoda)
        with pytest.raises(asyncpg.ObjectNotInPrerequisiteStateError):  # the row triggers fired already
            await api_conn.execute("select app.assets_logged(array[jsonb_populate_record(null::assets, "
                                   "jsonb_build_object('municipality_code', $1::text))], null, null)", LOADED)
    async with api_conn.transaction():
        await set_principal(api_conn, chiyoda)
        await api_conn.execute("set local app.assets_logged = on")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await api_conn.execute("select app.assets_logged(array[jsonb_populate_record(null::assets, "
                                   "jsonb_build_object('municipality_code', $1::text))], null, null)", TWIN)


async def test_no_trigger_on_assets_reads_a_transition_table(owner: asyncpg.Connection) -> None:
    triggers = await owner.fetch("""
        select t.tgname, t.tgoldtable, t.tgnewtable, (t.tgtype & 1) = 1 as per_row, pg_get_triggerdef(t.oid) as def
          from pg_trigger t where t.tgrelid = 'public.assets'::regclass and not t.tgisinternal order by 1""")
    assert [t["tgname"] for t in triggers if t["tgoldtable"] or t["tgnewtable"]] == []
    # Every row trigger that writes derived rows can be skipped by a statement that logs its own; the statement
    # triggers left are TRUNCATE's, which read no rows.
    derived = [t for t in triggers if t["per_row"] and not t["tgname"].startswith("assets_current_tenants")]
    assert {t["tgname"] for t in derived} >= {"assets_log_insert", "assets_log_update", "assets_summaries_insert",
                                              "assets_tile_cells_update"}
    assert all("app.assets_logged" in t["def"] for t in derived), [t["def"] for t in derived]
    assert all("TRUNCATE" in t["def"] for t in triggers if not t["per_row"])
