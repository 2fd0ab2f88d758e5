"""Latency and throughput of the catalogue's read paths over HTTP, against a running server.

Run by hand against the demo data (see bench/SEARCH.md):

    .venv/bin/registry serve --port 8000 --workers 2 &
    .venv/bin/python bench/search_api.py --key <carrier key> --requests 400 --concurrency 8

Every request is checked for status 200; the loop is bounded by --requests and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

SCENARIOS = {
    "near 1 km, Tokyo station, 100 nearest": "/v1/assets?near=139.7671,35.6812&radius=1000&limit=100",
    "near 5 km + filters": "/v1/assets?near=139.7671,35.6812&radius=5000&min_height=10&power=yes&limit=100",
    "bbox central Tokyo, 100": "/v1/assets?bbox=139.70,35.65,139.80,35.72&limit=100",
    "prefecture 28 + category, 100": "/v1/assets?prefecture=28&category=streetlight,utility_pole&limit=100",
    "bbox, 1000 features": "/v1/assets?bbox=139.5,35.5,139.9,35.8&limit=1000",
    "CSV, 1000 rows": "/v1/assets?prefecture=13&limit=1000&f=csv",
    "stats by prefecture": "/v1/stats/assets?group_by=prefecture",
    "change feed, 500": "/v1/assets/changes?limit=500",
    "coverage, Tokyo, 200 m": "/v1/priority-areas/coverage?prefecture=13&distance=200",
}


async def run(base: str, key: str, path: str, requests: int, concurrency: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    size = 0
    queue = list(range(requests))
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        async def worker() -> None:
            nonlocal size
            while queue:
                queue.pop()
                start = time.perf_counter()
                r = await client.get(path)
                latencies.append(time.perf_counter() - start)
                if r.status_code != 200:
                    raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
                size = len(r.content)

        await client.get(path)  # warm the prepared-statement cache
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - began, size


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print("| scenario | requests | req/s | p50 ms | p95 ms | answer bytes |\n|---|---|---|---|---|---|")
    for name, path in SCENARIOS.items():
        latencies, elapsed, size = await run(args.base, args.key, path, args.requests, args.concurrency)
        q = statistics.quantiles(latencies, n=20)
        median = statistics.median(latencies) * 1000
        print(f"| {name} | {len(latencies)} | {len(latencies) / elapsed:.0f} | {median:.1f} | {q[18] * 1000:.1f} "
              f"| {size:,} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
