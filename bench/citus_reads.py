"""Issue 17 item 3, the catalogue reads Citus cannot plan: the forms adopted against the statements they
replace (coverage at 0 m and coverage-gaps), and the forms Citus could plan against the statements kept (the
change feed and coverage at other distances: bench/citus_candidates.py), on the demo data, in one run,
interleaved (bench/CITUS_READS.md has the figures).

Run by hand, never as a test:

    .venv/bin/registry demo && .venv/bin/python bench/citus_reads.py

One connection as the API role (row security on) with a carrier principal, as a request makes them: for each
read the old and the new statement alternate ROUNDS times (median and p95 in ms, answers compared each time),
then EXPLAIN ANALYZE of each once (execution time, and the plan's node types). The load average is printed
before and after.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/citus_old_reads.py: the old statements

from bench import citus_candidates as candidate
from registry.areas import queries as area_queries
from registry.cluster import Cluster
from registry.db.pool import set_principal
from registry.principal import Principal
from registry.settings import api_url_for
from tests import citus_old_reads as old

ROUNDS = int(os.environ.get("ROUNDS", "30"))
SLOW_ROUNDS = 3  # the candidates that take seconds
CARRIER = Principal("bench", "carrier", "docomo", None, "bench")
OFFERED = ["offered", "partly_available"]
_OGC_PAGE = [None, None, None, None, 4326, None, None, 4326, False, 7, None, None, 100]
_OGC_COUNT = [None, None, None, None, 4326, None, None]


def _reads(middle: tuple[str, int]) -> list[tuple[str, str, str, list[Any]]]:
    gaps_page = old.GAP_STATEMENTS["page forward"]
    return [
        ("changes, first page of 500 (join)", old.CHANGES, candidate.CHANGES_JOIN, ["0", 0, None, None, 500]),
        *[(f"changes, {what} (arrays)", old.CHANGES, candidate.CHANGES_ARRAYS, args) for what, args in (
            ("first page of 500", ["0", 0, None, None, 500]), ("a page of 500 mid-feed", [*middle, None, None, 500]),
            ("Chiyoda's first 500", ["0", 0, "131016", None, 500]), ("Tokyo's first 500", ["0", 0, None, "13", 500]),
            ("Hyogo's first 500", ["0", 0, None, "28", 500]))],
        *[(f"coverage at 200 m, Tokyo ({what})", old.COVERAGE, sql, ["13", None, OFFERED, 200.0])
          for what, sql in (("areas first", candidate.COVERAGE_AREAS_FIRST),
                            ("assets first", candidate.COVERAGE_ASSETS_FIRST),
                            ("near once", candidate.COVERAGE_NEAR_ONCE))],
        ("coverage at 0 m, Tokyo", old.COVERAGE_SUMMARY, area_queries._COVERAGE_SUMMARY,
         ["13", None, OFFERED]),
        ("coverage at 0 m, national", old.COVERAGE_SUMMARY, area_queries._COVERAGE_SUMMARY,
         [None, None, OFFERED]),
        ("coverage-gaps, items page", old.old_gaps(gaps_page), gaps_page, _OGC_PAGE),
        ("coverage-gaps, count", old.old_gaps(old.GAP_STATEMENTS["count"]), old.GAP_STATEMENTS["count"],
         _OGC_COUNT),
    ]


def _distinct_codes(rows: list) -> int:
    return len({row[4] for row in rows}) if rows and len(rows[0]) > 10 else 0


async def _timed(conn: asyncpg.Connection, sql: str, args: list[Any]) -> tuple[float, list]:
    async with conn.transaction():
        await set_principal(conn, CARRIER)
        start = time.perf_counter()
        rows = await conn.fetch(sql, *args)
        return (time.perf_counter() - start) * 1000, [tuple(r.values()) for r in rows]


async def _explain(conn: asyncpg.Connection, sql: str, args: list[Any]) -> tuple[float, list[str]]:
    async with conn.transaction():
        await set_principal(conn, CARRIER)
        plan = json.loads(await conn.fetchval(f"explain (analyze, format json) {sql}", *args))[0]
    nodes: list[str] = []

    def walk(node: dict) -> None:
        name = node["Node Type"] + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
        if name not in nodes:
            nodes.append(name)
        for child in node.get("Plans", []):
            walk(child)
    walk(plan["Plan"])
    return plan["Execution Time"], nodes


async def main() -> None:
    url = os.environ.get("DATABASE_URL") or Cluster.default().url()
    conn = await asyncpg.connect(api_url_for(url))
    await conn.execute("set jit = off")
    owner = await asyncpg.connect(url)  # the whole feed, past row security, to pick the middle cursor
    total = await owner.fetchval("select count(*) from asset_changes")
    middle = await owner.fetchrow("select xid::text, change_id from asset_changes order by xid, change_id "
                                 "offset $1 limit 1", total // 2)
    await owner.close()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {total:,} changes; "
          f"{ROUNDS} rounds each, old and new alternating")
    print(f"{'read':44} {'old p50':>8} {'old p95':>8} {'new p50':>8} {'new p95':>8}  rows (municipalities)")
    for name, before, after, args in _reads((middle[0], middle[1])):
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(SLOW_ROUNDS if "200 m" in name else ROUNDS):
            for label, sql in (("old", before), ("new", after)):
                ms, rows = await _timed(conn, sql, args)
                times[label].append(ms)
                if label == "old":
                    expected = rows
                elif rows != expected:
                    raise SystemExit(f"{name}: the answers differ")
        cells = [f"{f(times[k]):8.2f}" for k in ("old", "new")
                 for f in (statistics.median, lambda t: statistics.quantiles(t, n=20)[18])]
        print(f"{name:44} {' '.join(cells)}  {len(expected)} ({_distinct_codes(expected)})")
    print()
    for name, before, after, args in _reads((middle[0], middle[1])):
        for label, sql in (("old", before), ("new", after)):
            ms, nodes = await _explain(conn, sql, args)
            print(f"EXPLAIN ANALYZE {name} ({label}): {ms:.2f} ms; {', '.join(nodes)}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
