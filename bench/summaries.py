"""Summaries (sql/090, sql/145) against the catalogue scans they replace, on the demo data, in one run.

Run by hand, never as a test (see bench/SUMMARIES.md):

    .venv/bin/registry demo && .venv/bin/python bench/summaries.py
    SLOT_WRITES=1 .venv/bin/python bench/summaries.py     # only the tile-cell writers with and without sql/192
    BEFORE=/tmp/before .venv/bin/python bench/summaries.py  # only the low-zoom tiles alone, that checkout's and this

1. Reads: p50 and p95 of statistics by prefecture and Tokyo's coverage, the old catalogue scan and the
   summary query side by side, 8 connections at once as a carrier (the API role, row security on), checking
   that both give the same answer; the tiles at zooms 4-11 over central Tokyo, the old clustering of the
   catalogue and the tile summary side by side (the tile's asset total from both, and KB), and 12-16 as they
   are (the catalogue's single assets, unchanged).
2. Writes: a single-row insert and a single-row update (availability and a move), each its own transaction
   as the API makes it, with the tile-cell triggers (sql/145) disabled and enabled, interleaved (the sql/090
   triggers stay on: their cost is in bench/SUMMARIES.md); the triggers' own time per call; and one
   100,000-row statement with the tile-cell insert trigger off and on.
"""

from __future__ import annotations

import asyncio
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from registry.areas import queries as area_queries
from registry.assets import queries as asset_queries
from registry.assets import tile_queries
from registry.cluster import Cluster
from registry.settings import api_url_for

_SET = ("select set_config('app.role', $1, true), set_config('app.tenant_code', $2, true), "
        "set_config('app.prefecture_code', $3, true)")
_OLD_STATS = """select left(c.municipality_code, 2) as key, p.name as label, count(*) as n
                  from asset_catalogue c join prefectures p on p.number = left(c.municipality_code, 2)
                 group by 1, 2 order by 1"""
_TRIGGERS = ("assets_tile_cells_insert", "assets_tile_cells_update")
# The low-zoom tile before sql/145 (registry/assets/tile_queries.py until then): the catalogue clustered per
# request, cells snapped to every 64th tile unit.
_OLD_TILE_CELLS = """
with bounds as (select ST_TileEnvelope($1, $2, $3) as merc),
points as (
  select ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(c.geom), 3857), bounds.merc, 4096, 0, true) as geom,
         c.category, c.availability
    from asset_catalogue c, bounds
   where c.geom && ST_Transform(bounds.merc, 4326)
     and ($4::text[] is null or c.category = any($4))
     and ($5::text[] is null or c.availability = any($5))
     and ($6::text is null or left(c.municipality_code, 2) = $6))
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_SnapToGrid(geom, 64) as geom, count(*)::int as point_count,
         mode() within group (order by category) as category,
         mode() within group (order by availability) as availability
    from points where geom is not null
   group by ST_SnapToGrid(geom, 64)
   order by ST_Y(ST_SnapToGrid(geom, 64)), ST_X(ST_SnapToGrid(geom, 64))) t
"""
# A tile's asset total, read from the summary (the cells the tile adds up) and from the catalogue.
_SUMMARY_TOTAL = """select coalesce(sum(l.n), 0) from asset_tile_cells l
                     where l.z = greatest($1, 4)
                       and l.x >> (greatest($1, 4) - $1) = $2 and l.y >> (greatest($1, 4) - $1) = $3"""
_CATALOGUE_TOTAL = """select count(*) from asset_catalogue c
                       where ST_Intersects(ST_Transform(ST_PointOnSurface(c.geom), 3857),
                                           ST_TileEnvelope($1, $2, $3))"""


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


async def _timed(pool: asyncpg.Pool, role: tuple[str, str | None, str | None], sql: str, *args: object,
                 runs: int = 48) -> tuple[list[float], object]:
    answer: list[object] = []

    async def one() -> float:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(_SET, *role)
            t = time.perf_counter()
            answer.append(await conn.fetch(sql, *args))
            return (time.perf_counter() - t) * 1000

    times: list[float] = []
    for _ in range(runs // 8):
        times += await asyncio.gather(*(one() for _ in range(8)))
    return times, answer[0]


def _p(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"{statistics.median(times):8.1f} {q[18]:8.1f}"


async def reads(pool: asyncpg.Pool) -> None:
    carrier = ("carrier", "docomo", "")
    cases: list[tuple[str, str, str, tuple]] = [
        ("statistics by prefecture", _OLD_STATS, asset_queries.STATS["prefecture"], ()),
        ("coverage, Tokyo", area_queries._COVERAGE, area_queries._COVERAGE_SUMMARY,
         (("13", None, ["offered", "partly_available"], 0.0), ("13", None, ["offered", "partly_available"]))),
    ]
    print(f"{'read (8 at once, ms)':34} {'old p50':>8} {'old p95':>8} {'new p50':>8} {'new p95':>8}  same   KB")
    for name, old, new, args in cases:
        old_args, new_args = args if args else ((), ())
        t_old, a_old = await _timed(pool, carrier, old, *old_args)
        t_new, a_new = await _timed(pool, carrier, new, *new_args)
        same = [tuple(r) for r in a_old] == [tuple(r) for r in a_new]  # type: ignore[attr-defined]
        print(f"{name:34} {_p(t_old)} {_p(t_new)}  {same}")
    print(f"\n{'tile (8 at once, ms)':34} {'old p50':>8} {'old p95':>8} {'new p50':>8} {'new p95':>8}  "
          f"{'assets old/new':>15} {'KB old':>7} {'KB new':>7}")
    for z in range(4, 17):
        x, y = _tile(139.76, 35.68, z)
        args = (z, x, y, None, None, None)
        if z < tile_queries.DETAIL_ZOOM:
            t_old, a_old = await _timed(pool, carrier, _OLD_TILE_CELLS, *args, runs=16)
            t_new, a_new = await _timed(pool, carrier, tile_queries.TILE_CELLS, z, x, y, None, runs=16)
            _, [[n_old]] = await _timed(pool, carrier, _CATALOGUE_TOTAL, z, x, y, runs=8)  # type: ignore[misc]
            _, [[n_new]] = await _timed(pool, carrier, _SUMMARY_TOTAL, z, x, y, runs=8)  # type: ignore[misc]
            size_old = len(a_old[0][0] or b"") / 1000  # type: ignore[index]
            size = len(a_new[0][0] or b"") / 1000  # type: ignore[index]
            print(f"{f'tile {z}/{x}/{y}':34} {_p(t_old)} {_p(t_new)}  {f'{n_old}/{n_new}':>15} {size_old:7.1f} "
                  f"{size:7.1f}")
        else:
            t_new, a_new = await _timed(pool, carrier, tile_queries.TILE, *args, 50_000, runs=16)
            size = len(a_new[0][0] or b"") / 1000  # type: ignore[index]
            print(f"{f'tile {z}/{x}/{y} (unchanged)':34} {'':17} {_p(t_new)}  {'':15} {'':7} {size:7.1f}")
    # With a category and an availability filter, where every row's slots are opened and summed.
    for z in (6, 9):
        x, y = _tile(139.76, 35.68, z)
        args = (z, x, y, ["rooftop", "streetlight"], ["offered", "on_request"], None)
        t_old, a_old = await _timed(pool, carrier, _OLD_TILE_CELLS, *args, runs=16)
        t_new, a_new = await _timed(pool, carrier, tile_queries.TILE_CELLS_FILTERED, *args, runs=16)
        size_old, size = len(a_old[0][0] or b"") / 1000, len(a_new[0][0] or b"") / 1000  # type: ignore[index]
        print(f"{f'tile {z}/{x}/{y} 2 categories, 2 avail.':34} {_p(t_old)} {_p(t_new)}  {'':15} {size_old:7.1f} "
              f"{size:7.1f}")


async def _each(conn: asyncpg.Connection, n: int, step: Callable[[int], Awaitable[None]]) -> float:
    times = []
    for i in range(n):
        t = time.perf_counter()
        async with conn.transaction():
            await conn.execute(_SET, "municipality", "131016", "130001")
            await step(i)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def writes(owner: asyncpg.Connection, api: asyncpg.Connection, rounds: int = 3, n: int = 200) -> None:
    print(f"\n{'write, one row per transaction (median ms)':44} {'triggers off':>12} {'on':>8} {'added':>8}")
    results: dict[str, dict[bool, list[float]]] = {"insert": {False: [], True: []}, "update": {False: [], True: []}}
    for r in range(rounds):
        for on in (False, True):
            for trigger in _TRIGGERS:
                await owner.execute(f"alter table assets {'enable' if on else 'disable'} trigger {trigger}")
            tag = f"bench-{r}-{int(on)}-"

            async def insert(i: int, tag: str = tag) -> None:
                await api.execute(
                    "insert into assets (municipality_code, source_id, category, name, geom, availability) "
                    "values ('131016', $1, 'streetlight', 'bench', ST_SetSRID(ST_MakePoint($2, $3), 4326), 'offered')",
                    tag + str(i), 139.74 + (i % 50) * 0.0007, 35.68 + (i // 50) * 0.0009)

            async def update(i: int, tag: str = tag) -> None:
                await api.execute(
                    "update assets set availability = 'occupied', geom = ST_Translate(geom, 0.003, 0), "
                    "version = version + 1 where municipality_code = '131016' and source_id = $1", tag + str(i))

            results["insert"][on].append(await _each(api, n, insert))
            results["update"][on].append(await _each(api, n, update))
    for what, by in results.items():
        off, on_ = statistics.median(by[False]), statistics.median(by[True])
        print(f"{'single-row ' + what:44} {off:12.2f} {on_:8.2f} {on_ - off:8.2f}")
    # Rows written with the triggers off were never counted: they leave with the delete trigger off too.
    await owner.execute("alter table assets disable trigger assets_tile_cells_delete")
    await owner.execute("delete from assets where source_id like 'bench-%-0-%'")
    await owner.execute("alter table assets enable trigger assets_tile_cells_delete")
    await owner.execute("delete from assets where source_id like 'bench-%'")


_FUNCTIONS = """select funcname, calls, total_time from pg_stat_user_functions
                 where schemaname = 'app' and funcname like any(array['summaries_%ed', 'assets_audit_%',
                                                                      'assets_emit_%', 'tile_cells_%ed'])"""


async def trigger_times(owner: asyncpg.Connection, url: str, n: int = 300) -> None:
    """The triggers' own time per single-row statement, from the server's function statistics (less noisy than
    the wall clock on a shared machine): the summaries beside the audit and event triggers that were there."""
    db = await owner.fetchval("select current_database()")
    await owner.execute(f'alter database "{db}" set track_functions = \'all\'')
    api = await asyncpg.connect(api_url_for(url))
    before = {r["funcname"]: (r["calls"], r["total_time"]) for r in await owner.fetch(_FUNCTIONS)}
    try:
        async def insert(i: int) -> None:
            await api.execute(
                "insert into assets (municipality_code, source_id, category, name, geom, availability) "
                "values ('131016', $1, 'streetlight', 'bench', ST_SetSRID(ST_MakePoint($2, $3), 4326), 'offered')",
                f"bench-f-{i}", 139.74 + (i % 50) * 0.0007, 35.68 + (i // 50) * 0.0009)

        async def update(i: int) -> None:
            await api.execute("update assets set availability = 'occupied', geom = ST_Translate(geom, 0.003, 0), "
                              "version = version + 1 where municipality_code = '131016' and source_id = $1",
                              f"bench-f-{i}")

        await _each(api, n, insert)
        await _each(api, n, update)
    finally:
        await api.close()
        await owner.execute(f'alter database "{db}" reset track_functions')
    await asyncio.sleep(2)  # backends flush their statistics on exit
    print(f"\n{'trigger function, single-row statements':44} {'calls':>8} {'ms/call':>8}")
    for r in sorted(await owner.fetch(_FUNCTIONS), key=lambda r: r["funcname"]):
        calls, total = before.get(r["funcname"], (0, 0.0))
        if r["calls"] > calls:
            per_call = (r["total_time"] - total) / (r["calls"] - calls)
            print(f"{r['funcname']:44} {r['calls'] - calls:8} {per_call:8.3f}")
    await owner.execute("delete from assets where source_id like 'bench-%'")


async def bulk(owner: asyncpg.Connection, n: int = 100_000, rounds: int = 2) -> None:
    """One statement inserting n points around Tokyo (as the loader's merge does), rolled back each time."""
    print(f"\n{f'one statement of {n:,} rows (s, rolled back)':44} {'triggers off':>12} {'on':>8} {'added':>8}")
    sql = """insert into assets (municipality_code, source_id, category, name, geom, availability, visibility)
             select '131016', 'bulk-' || i, (array['rooftop', 'streetlight', 'utility_pole', 'bus_stop'])[1 + i % 4],
                    'bulk', ST_SetSRID(ST_MakePoint(139.55 + (i % 400) * 0.001, 35.55 + (i / 400) * 0.0012), 4326),
                    (array['offered', 'on_request', 'partly_available', 'occupied'])[1 + i % 7 % 4],
                    case when i % 10 = 0 then 'restricted' else 'carriers' end
               from generate_series(1, $1::int) i"""
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for on in (False, True):
            tr = owner.transaction()
            await tr.start()
            if not on:
                await owner.execute("alter table assets disable trigger assets_tile_cells_insert")
            t = time.perf_counter()
            await owner.execute(sql, n)
            times[on].append(time.perf_counter() - t)
            await tr.rollback()
    off, on_ = min(times[False]), min(times[True])
    print(f"{'insert':44} {off:12.2f} {on_:8.2f} {on_ - off:8.2f}")


# sql/192's edit of the tile-cell writer (app.tile_cells_counted since sql/212), undone inside a rolled-back
# transaction to time the writers without the packed slots in the same run.
_SLOT_EDITS = (
    ("array_agg(n::int) as counts,\n           "
     "array_agg((n::bigint << 7) | app.tile_pair(category, availability)) as slots,", "array_agg(n::int) as counts,"),
    ("counts, n, top_category, top_availability, slots)", "counts, n, top_category, top_availability)"),
    ("limit 1),\n         k.slots\n    from keyed k", "limit 1)\n    from keyed k"),
)
_WRITERS = """select pg_get_functiondef(p.oid) from pg_proc p where p.pronamespace = 'app'::regnamespace
                and p.proname = 'tile_cells_counted'"""


async def slot_writes(owner: asyncpg.Connection, rounds: int = 3, n: int = 300) -> None:
    """The tile-cell writers with and without sql/192's packed slots, interleaved, each in a rolled-back
    transaction: n single-row inserts (the row trigger, as the API writes) and the rebuild of the whole summary
    (app.tile_cells_rebuild, the migration's backfill)."""
    print(f"\n{'tile-cell writers (s, rolled back; best of ' + str(rounds) + ')':44} {'no slots':>12} {'slots':>8} "
          f"{'CPU no slots':>13} {'slots':>8}")
    times: dict[str, dict[bool, list[float]]] = {"inserts": {False: [], True: []}, "rebuild": {False: [], True: []}}
    cpu: dict[str, dict[bool, list[float]]] = {"inserts": {False: [], True: []}, "rebuild": {False: [], True: []}}
    pid = owner.get_server_pid()
    for _ in range(rounds):
        for slots in (False, True):
            for what in times:
                tr = owner.transaction()
                await tr.start()
                if not slots:
                    await owner.execute("alter table asset_tile_cells drop constraint asset_tile_cells_slots_known, "
                                        "alter column slots drop not null")
                    for [definition] in await owner.fetch(_WRITERS):
                        for new, old in _SLOT_EDITS:
                            assert definition.count(new) == 1, f"the writer no longer reads {new!r}"
                            definition = definition.replace(new, old)
                        await owner.execute(definition)
                t, c = time.perf_counter(), _cpu(pid)
                if what == "rebuild":
                    await owner.execute("select app.tile_cells_rebuild()")
                else:
                    for i in range(n):
                        await owner.execute(
                            "insert into assets (municipality_code, source_id, category, name, geom, availability) "
                            "values ('131016', $1, 'streetlight', 'bench', "
                            "ST_SetSRID(ST_MakePoint($2, $3), 4326), 'offered')",
                            f"bench-s-{i}", 139.74 + (i % 50) * 0.0007, 35.68 + (i // 50) * 0.0009)
                times[what][slots].append(time.perf_counter() - t)
                cpu[what][slots].append(_cpu(pid) - c)
                await tr.rollback()
    for what, by in times.items():
        label = f"{n} single-row inserts" if what == "inserts" else "app.tile_cells_rebuild()"
        print(f"{label:44} {min(by[False]):12.2f} {min(by[True]):8.2f} {min(cpu[what][False]):13.2f} "
              f"{min(cpu[what][True]):8.2f}")


def _cpu(pid: int) -> float:
    """A backend's user + system CPU seconds so far (/proc/<pid>/stat, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _old_tile_cells(checkout: Path) -> str:
    before = (checkout / "registry/assets/tile_queries.py").read_text()
    return before.split('TILE_CELLS = """', 1)[1].split('"""', 1)[0]


async def tile_cpu(api: asyncpg.Connection, old_sql: str, rounds: int = 30) -> None:
    """The low-zoom tile statements before and after sql/192, per reader: backend CPU per tile (steadier than
    the wall clock on a shared machine) and the median wall clock, interleaved, checking equal bytes. old_sql is
    the statement before (read from the BEFORE checkout's registry/assets/tile_queries.py)."""
    readers = {"carrier": ("carrier", "docomo", None), "municipality": ("municipality", "131016", "130001"),
               "prefecture": ("prefecture", "130001", "130001"), "admin": ("admin", "admin", None)}
    pid = api.get_server_pid()
    filters = [(None, None), (["rooftop", "streetlight"], ["offered", "on_request"])]
    print(f"\n{'tile alone, ' + str(rounds) + ' runs each':36} {'reader':12} {'CPU ms old':>10} {'new':>6} "
          f"{'wall old':>9} {'new':>6} same")
    for z in (4, 7, 9, 11):
        x, y = _tile(139.76, 35.68, z)
        for categories, availabilities in filters:
            for who, principal in readers.items():
                cpu: dict[bool, float] = {False: 0.0, True: 0.0}
                wall: dict[bool, list[float]] = {False: [], True: []}
                out: dict[bool, bytes] = {}
                for _ in range(rounds):
                    for new in (False, True):
                        if new and categories is None:
                            sql, args = tile_queries.TILE_CELLS, (z, x, y, None)
                        elif new:
                            sql, args = tile_queries.TILE_CELLS_FILTERED, (z, x, y, categories, availabilities, None)
                        else:
                            sql, args = old_sql, (z, x, y, categories, availabilities, None)
                        async with api.transaction():
                            await api.execute("select app.set_local_principal($1, $2, $3, 'bench')", *principal)
                            c, t = _cpu(pid), time.perf_counter()
                            out[new] = await api.fetchval(sql, *args)
                            wall[new].append((time.perf_counter() - t) * 1000)
                            cpu[new] += _cpu(pid) - c
                label = f"{z}/{x}/{y}" + (" 2 categories, 2 avail." if categories else "")
                print(f"{label:36} {who:12} {cpu[False] / rounds * 1000:10.1f} {cpu[True] / rounds * 1000:6.1f} "
                      f"{statistics.median(wall[False]):9.1f} {statistics.median(wall[True]):6.1f} "
                      f"{out[False] == out[True]}", flush=True)


async def main() -> None:
    url = os.environ.get("DATABASE_URL") or Cluster.default().url()
    owner = await asyncpg.connect(url)
    await owner.execute("set jit = off")
    api = await asyncpg.connect(api_url_for(url))
    pool = await asyncpg.create_pool(api_url_for(url), min_size=8, max_size=8)
    try:
        print(f"assets: {await owner.fetchval('select count(*) from assets'):,}; "
              f"{await owner.fetchval('select count(*) from asset_count_log'):,} counts, "
              f"{await owner.fetchval('select count(*) from area_coverage_log'):,} coverage, "
              f"{await owner.fetchval('select count(*) from asset_tile_cells'):,} tile cells; "
              f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
        if os.environ.get("BEFORE"):
            await tile_cpu(api, _old_tile_cells(Path(os.environ["BEFORE"])))
            print(f"\nload average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
            return
        if os.environ.get("SLOT_WRITES"):
            await slot_writes(owner)
            return
        await reads(pool)
        await writes(owner, api)
        await trigger_times(owner, url)
        await bulk(owner)
        print(f"\nload average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        for trigger in _TRIGGERS:
            await owner.execute(f"alter table assets enable trigger {trigger}")
        await pool.close()
        await api.close()
        await owner.close()


if __name__ == "__main__":
    asyncio.run(main())
