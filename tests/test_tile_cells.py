"""The low-zoom asset tiles (zoom < 12) from the summary asset_tile_cells (sql/145) against an oracle that
clusters the catalogue from scratch, per role, after inserts, moves, withdrawals and a bulk load: the
oracle finds each asset's cell with PostGIS's own projection and tile envelope (the summary uses the
slippy-map formulas on longitude and latitude), counts with mode() over the rows each reader may see
through asset_catalogue (restricted assets at their mesh centre for the others), and is encoded by the same
ST_AsMVT call, so equal bytes mean equal cells, counts, modes and order."""

from __future__ import annotations

import asyncio
import csv
import math
import random
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from loaders import validate
from loaders.assets import load_assets
from loaders.parallel import admin_connections
from registry.assets import tile_queries
from registry.assets.rules import AVAILABILITIES, CATEGORIES
from registry.assets.search import SearchFilter, build_filter
from registry.db.admin import admin_session
from registry.settings import Settings
from tests.conftest import as_principal
from tests.test_summaries import CENTRES, ROLES, _insert, _mutate

ORACLE = """
with b as (select ST_TileEnvelope($1, $2, $3) as merc),
p as (
  select ST_Transform(ST_PointOnSurface(c.geom), 3857) as m, c.category, c.availability
    from asset_catalogue c
   where ($4::text[] is null or c.category = any($4))
     and ($5::text[] is null or c.availability = any($5))
     and ($6::text is null or left(c.municipality_code, 2) = $6)),
q as (
  select floor((ST_X(p.m) - ST_XMin(b.merc)) / (ST_XMax(b.merc) - ST_XMin(b.merc)) * 64)::int as cx,
         floor((ST_YMax(b.merc) - ST_Y(p.m)) / (ST_YMax(b.merc) - ST_YMin(b.merc)) * 64)::int as cy,
         p.category, p.availability
    from p, b)
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_Point(cx * 64 + 32, cy * 64 + 32) as geom, count(*)::int as point_count,
         mode() within group (order by category collate "C") as category,
         mode() within group (order by availability collate "C") as availability
    from q where cx between 0 and 63 and cy between 0 and 63
   group by cy, cx order by cy, cx) t
"""
# Cell counts of one tile, from the catalogue, to read a tile's total without decoding it.
ORACLE_TOTAL = """
select count(*) from asset_catalogue c
 where ST_Intersects(ST_Transform(ST_PointOnSurface(c.geom), 3857), ST_TileEnvelope($1, $2, $3))"""
FILTERS = [build_filter(), build_filter(category="rooftop,streetlight"),
           build_filter(availability="offered,occupied", prefecture="13"),
           build_filter(category="rooftop,streetlight,bus_stop", availability="offered,on_request"),
           build_filter(prefecture="27")]
# The low-zoom tile as tile_queries computed it before sql/192 (a lateral aggregate over each summary row's
# three parallel arrays): the filtered tile from the packed slots must give the same bytes.
OLD_TILE_CELLS = """
with r as (
  select (((l.x << 6) | (l.cell & 63)) >> (l.z - $1)) & 63 as cx,
         (((l.y << 6) | (l.cell >> 6)) >> (l.z - $1)) & 63 as cy,
         f.n, f.top_category, f.top_availability, f.categories, f.availabilities, f.counts
    from asset_tile_cells l
   cross join lateral (
     select l.n, l.top_category, l.top_availability, l.categories, l.availabilities, l.counts
      where $4::text[] is null and $5::text[] is null
     union all  -- a category or availability filter: the row's matching slots only, and its most common
                -- values when they are plain (one category, one availability: most rows, so most cells skip
                -- the slot counting below; 26.5 -> 22.5 ms for a filtered zoom-9 tile alone, same bytes)
     select sum(u.n)::int, case when min(u.category) = max(u.category) then min(u.category) end,
            case when min(u.availability) = max(u.availability) then min(u.availability) end,
            array_agg(u.category), array_agg(u.availability), array_agg(u.n)
       from unnest(l.categories, l.availabilities, l.counts) u(category, availability, n)
      where ($4::text[] is not null or $5::text[] is not null)
        and ($4::text[] is null or u.category = any($4)) and ($5::text[] is null or u.availability = any($5))
     having count(*) > 0) f
   where l.z = greatest($1, 4)
     and l.x between $2 << (greatest($1, 4) - $1) and (($2 + 1) << (greatest($1, 4) - $1)) - 1
     and l.y between $3 << (greatest($1, 4) - $1) and (($3 + 1) << (greatest($1, 4) - $1)) - 1
     and ($6::text is null or l.prefecture = $6)),
c as (
  select cy, cx, count(*) as k, sum(n) as n, min(top_category) as top_category,
         min(top_availability) as top_availability, app.tile_concat(categories) as categories,
         app.tile_concat(availabilities) as availabilities, app.tile_concat(counts) as counts
    from r group by cy, cx having sum(n) > 0)
-- A cell of one row (most cells a carrier reads, unfiltered: 65 % at zoom 9 over Tokyo) takes the row's
-- own most common values; others count their slots.
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_Point(c.cx * 64 + 32, c.cy * 64 + 32) as geom, c.n::int as point_count,
         case when c.k = 1 and c.top_category is not null then c.top_category
              else (select u.category from unnest(c.categories, c.counts) u(category, n)
                     group by 1 order by sum(u.n) desc, u.category collate "C" limit 1) end as category,
         case when c.k = 1 and c.top_availability is not null then c.top_availability
              else (select u.availability from unnest(c.availabilities, c.counts) u(availability, n)
                     group by 1 order by sum(u.n) desc, u.availability collate "C" limit 1) end as availability
    from c order by c.cy, c.cx) t  -- same data, same bytes, same ETag
"""


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _cells(z: int, x: int, y: int, f: SearchFilter) -> tuple:
    sql, args = tile_queries.cells_query(z, x, y, f)
    return (sql, *args)


TILES = [(z, *_tile(*CENTRES[code], z)) for z in (2, 4, 6, 9, 11) for code in ("131016", "271004")]


async def _assert_tiles_match(api_conn: asyncpg.Connection) -> int:
    """Every role x tile x filter: the summary's tile is the oracle's, byte for byte. Returns how many were
    non-empty, so a test cannot pass on empty tiles alone."""
    filled = 0
    for who in ROLES:
        for z, x, y in TILES:
            for f in FILTERS:
                args = (z, x, y, f.categories, f.availabilities, f.prefecture)
                [[expected]] = await as_principal(api_conn, who, ORACLE, *args)
                [[got]] = await as_principal(api_conn, who, *_cells(z, x, y, f))
                [[before]] = await as_principal(api_conn, who, OLD_TILE_CELLS, *args)
                assert (got or b"") == (expected or b"") == (before or b""), (who.role, z, x, y, f)
                filled += bool(got)
    return filled


async def test_low_zoom_tiles_equal_a_clustering_of_the_catalogue(owner: asyncpg.Connection,
                                                                   api_conn: asyncpg.Connection) -> None:
    rng = random.Random(5)
    for step in range(8):
        if step % 3 == 0:
            await _insert(owner, rng, rng.randint(10, 40), f"t{step}")  # single rows, sometimes one statement
        else:
            await _mutate(owner, rng)  # moves, availability, visibility, withdraw, category, delete
        assert await _assert_tiles_match(api_conn) > 0
    withdrawn = await owner.fetchval("update assets set status = 'withdrawn' where asset_id in "
                                     "(select asset_id from assets where status = 'published' limit 5) returning 1")
    assert withdrawn
    assert await _assert_tiles_match(api_conn) > 0
    # The summary counted again from scratch holds the same counts as the one kept by the triggers.
    totals = """select z, x, y, cell, prefecture, municipality_code, place, u.category, u.availability, sum(u.n)
                  from asset_tile_cells, unnest(categories, availabilities, counts) u(category, availability, n)
                 group by 1, 2, 3, 4, 5, 6, 7, 8, 9 having sum(u.n) <> 0 order by 1, 2, 3, 4, 5, 6, 7, 8, 9"""
    kept = await owner.fetch(totals)
    await owner.execute("select app.summaries_rebuild()")
    assert await owner.fetch(totals) == kept and kept
    # Every row's packed slots (sql/192) are its three arrays, slot for slot, after the triggers and the rebuild.
    unpacked = """select count(*) from asset_tile_cells l
                   where l.slots is distinct from array(
                     select (u.n::bigint << 7) | ((array_position(app.tile_categories(), u.c) - 1) << 3)
                            | (array_position(app.tile_availabilities(), u.a) - 1)
                       from unnest(l.categories, l.availabilities, l.counts) with ordinality u(c, a, n, i)
                      order by u.i)"""
    assert await owner.fetchval(unpacked) == 0


async def test_slot_indexes_are_the_assets_values_in_c_order(owner: asyncpg.Connection) -> None:
    """The packed slots' indexes (sql/192) cover every category and availability an asset may have, in C order
    (the tie-break: a lower index is the first by name), within their 4 and 3 bits."""
    categories, availabilities = await owner.fetchrow("select app.tile_categories(), app.tile_availabilities()")
    assert categories == sorted(CATEGORIES) and len(categories) <= 16
    assert availabilities == sorted(AVAILABILITIES) and len(availabilities) <= 8


async def test_restricted_assets_stay_masked(owner: asyncpg.Connection, api_conn: asyncpg.Connection) -> None:
    """A restricted asset of Chiyoda is counted at its exact cell only for Chiyoda, Tokyo and the admin; a
    carrier counts it at its mesh centre's cell. Each reader counts it once."""
    lon, lat = 139.7402, 35.6805  # ~500 m west of its mesh centre (139.74375, 35.6791...), another zoom-11 cell
    await owner.execute(
        """insert into assets (municipality_code, source_id, category, name, geom, availability, visibility)
           values ('131016', 'secret', 'rooftop', 'x', ST_SetSRID(ST_MakePoint($1, $2), 4326), 'offered',
                   'restricted')""", lon, lat)
    coarse = await owner.fetchrow("select ST_X(coarse_geom), ST_Y(coarse_geom) from assets where source_id = 'secret'")
    z = 11
    exact, centre = _tile(lon, lat, z + 6), _tile(coarse[0], coarse[1], z + 6)
    assert exact != centre
    for who in ROLES:
        cells = await as_principal(api_conn, who, """
            select (x << 6) | (cell & 63), (y << 6) | (cell >> 6), sum(n) from asset_tile_cells where z = $1
             group by 1, 2 having sum(n) <> 0""", z)
        sees_exact = who.role != "carrier"
        assert [tuple(c) for c in cells] == [(*(exact if sees_exact else centre), 1)], who.role
        [[total]] = await as_principal(api_conn, who, ORACLE_TOTAL, z, exact[0] >> 6, exact[1] >> 6)
        assert total == 1
    # Beside it an ordinary bus stop and a second restricted rooftop: the owner's cell holds two rows (the
    # bus stop, and the rooftops' correction), whose own most common categories differ from the cell's.
    await owner.execute(
        """insert into assets (municipality_code, source_id, category, name, geom, availability, visibility)
           select '131016', 'beside-' || v, c, 'x', ST_SetSRID(ST_MakePoint($1, $2), 4326), 'offered', v
             from (values ('bus_stop', 'carriers'), ('rooftop', 'restricted')) t(c, v)""", lon, lat)
    for who in ROLES:
        args = (z, exact[0] >> 6, exact[1] >> 6, None, None, None)
        [[expected]] = await as_principal(api_conn, who, ORACLE, *args)
        assert (await as_principal(api_conn, who, *_cells(*args[:3], build_filter())))[0][0] == expected, who.role
        # Filtered to the rooftops: the correction row's slot (-1 at the mesh centre, +1 here) decides the cell.
        f = build_filter(category="rooftop", availability="offered")
        [[expected]] = await as_principal(api_conn, who, ORACLE, *args[:3], f.categories, f.availabilities, None)
        assert (await as_principal(api_conn, who, *_cells(*args[:3], f)))[0][0] == expected and expected, who.role
    # The corrections that hold the exact place are not even readable by a carrier.
    corrections = "select count(*) from asset_tile_cells where place = 'x'"
    assert await owner.fetchval(corrections) > 0
    assert (await as_principal(api_conn, ROLES[0], corrections))[0][0] == 0
    assert await _assert_tiles_match(api_conn) > 0


async def test_tiles_are_the_same_bytes_each_time(client: AsyncTestClient, make_key, owner: asyncpg.Connection
                                                  ) -> None:
    await _insert(owner, random.Random(9), 60, "d")
    carrier = await make_key("carrier", "docomo")
    for z in (4, 8, 11):
        x, y = _tile(*CENTRES["131016"], z)
        first = await client.get(f"/v1/tiles/assets/{z}/{x}/{y}.pbf", headers=carrier)
        second = await client.get(f"/v1/tiles/assets/{z}/{x}/{y}.pbf", headers=carrier)
        assert first.status_code == second.status_code == 200 and first.content
        assert first.content == second.content and first.headers["etag"] == second.headers["etag"]


@pytest.mark.parametrize("z", [0, 3])
async def test_zooms_below_the_summary_add_up_its_coarsest_rows(owner: asyncpg.Connection,
                                                                api_conn: asyncpg.Connection, z: int) -> None:
    await _insert(owner, random.Random(z), 40, "low")
    x, y = _tile(*CENTRES["131016"], z)
    for who in ROLES:
        args = (z, x, y, None, None, None)
        [[expected]] = await as_principal(api_conn, who, ORACLE, *args)
        [[got]] = await as_principal(api_conn, who, *_cells(z, x, y, build_filter()))
        assert got == expected and got, who.role
        f = build_filter(category="streetlight,rooftop", availability="offered")
        [[expected]] = await as_principal(api_conn, who, ORACLE, z, x, y, f.categories, f.availabilities, None)
        [[got]] = await as_principal(api_conn, who, *_cells(z, x, y, f))
        assert got == expected and got, who.role


def _write_points_csv(path: Path, rng: random.Random, n: int) -> None:
    """Chiyoda's points over ~6 x 4 km (many zoom-11 cells), every category and availability, a fifth of them
    restricted, a tenth of them drafts (counted nowhere)."""
    lon, lat = CENTRES["131016"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["source_id", "name", "category", "availability", "visibility", "status", "latitude",
                      "longitude"])
        for i in range(n):
            out.writerow([f"P{i:04d}", f"point {i}", rng.choice(CATEGORIES), rng.choice(AVAILABILITIES),
                          "restricted" if rng.random() < 0.2 else "carriers",
                          "draft" if rng.random() < 0.1 else "published",
                          f"{lat + rng.uniform(-0.02, 0.02):.6f}", f"{lon + rng.uniform(-0.03, 0.03):.6f}"])


@pytest.mark.parametrize("workers", [1, 3])
async def test_a_published_load_adds_its_cells_once(settings: Settings, owner: asyncpg.Connection,
                                                    api_conn: asyncpg.Connection, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """A load counts its new rows' cells batch by batch into a table of its own and adds them to the summary once,
    in each writer's transaction (sql/212). Batches of 7 rows, into a catalogue that already has assets, then the
    same file with rows moved, recategorised and made restricted (the update path): the tiles are the oracle's."""
    if workers > 1 and await owner.fetchval("select current_setting('max_prepared_transactions')::int") < 4:
        pytest.skip("this server does not allow prepared transactions; the embedded cluster does")
    monkeypatch.setattr(validate, "BATCH_ROWS", 7)
    rng = random.Random(workers)
    await _insert(owner, rng, 30, "before")
    path = tmp_path / "points.csv"
    _write_points_csv(path, rng, 80)

    async def load() -> None:
        report = await asyncio.wait_for(admin_session(settings, lambda db: load_assets(
            db, path, tenant="131016", publish=True,
            parallel=admin_connections(settings, workers) if workers > 1 else None)), 60)
        assert report.committed and not report.rejected

    await load()
    published = "select count(*) from assets where source_id like 'P%' and status = 'published'"
    assert await owner.fetchval(published) > 50
    assert await _assert_tiles_match(api_conn) > 0
    _write_points_csv(path, random.Random(workers + 100), 80)  # same ids, new places and values
    await load()
    assert await _assert_tiles_match(api_conn) > 0
    assert await owner.fetchval("select count(*) from pg_tables where schemaname = 'loader' "
                                "and tablename not in ('decisions', 'deferred_indexes')") == 0
