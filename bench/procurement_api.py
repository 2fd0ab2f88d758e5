"""Exports and national procurement over HTTP: this branch's server next to a peer, interleaved in one run.

Run by hand (see bench/PROCUREMENT.md), never as a test:

    .venv/bin/python bench/procurement_national.py           # round id + admin key
    .venv/bin/registry serve --port 8000 &                   # this code
    (peer: the same database served by another checkout on port 8001)
    .venv/bin/python bench/procurement_api.py --round <id> --key <admin key> --carrier-key <key> \
        --peer http://127.0.0.1:8001

Each scenario is a path on this server and, optionally, the path that gives the same answer on the peer
(the peer may lack `?detail=` or the streamed export). Requests alternate between the two servers, so
both meet the same load from the rest of the machine. A scenario with several paths (the paged CSV
export) times the whole sequence as one "request". Every answer must be 200.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence

import httpx

FAILURES: dict[str, int] = {}


async def _timed(client: httpx.AsyncClient, paths: Sequence[str], key: str) -> tuple[float, int]:
    start = time.perf_counter()
    size = 0
    for path in paths:
        r = await client.get(path, headers={"Authorization": f"Bearer {key}"})
        if r.status_code != 200:
            # Reported, not fatal: the peer's national answers can pass the 5 s statement timeout (503).
            FAILURES[str(client.base_url)] = FAILURES.get(str(client.base_url), 0) + 1
            print(f"  ! {client.base_url}{path}: {r.status_code} {r.text[:120]}", flush=True)
        size += len(r.content)
    return time.perf_counter() - start, size


async def _side(client: httpx.AsyncClient, paths: Sequence[str], key: str, requests: int,
                concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    size = 0
    left = list(range(requests))

    async def worker() -> None:
        nonlocal size
        while left:
            left.pop()
            elapsed, size = await _timed(client, paths, key)
            latencies.append(elapsed)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, size


def _row(name: str, who: str, latencies: list[float], size: int) -> str:
    median = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[18] * 1000 if len(latencies) >= 2 else median
    return f"| {name} | {who} | {len(latencies)} | {median:,.0f} | {p95:,.0f} | {size:,} |"


async def _paged_csv(client: httpx.AsyncClient, key: str, prefecture: str) -> tuple[float, int]:
    """Follow `Link: rel=next` from the first page to the last, as a spreadsheet user's script would."""
    start = time.perf_counter()
    size = 0
    path: str | None = f"/v1/assets?prefecture={prefecture}&f=csv&limit=1000"
    while path:
        r = await client.get(path, headers={"Authorization": f"Bearer {key}"})
        if r.status_code != 200:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
        size += len(r.content)
        link = r.headers.get("link")
        path = link.split(">")[0].lstrip("<").replace(str(client.base_url), "") if link else None
    return time.perf_counter() - start, size


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--peer", default=None, help="the same database served by other code")
    parser.add_argument("--round", required=True)
    parser.add_argument("--key", required=True, help="admin key (organiser of the national round)")
    parser.add_argument("--carrier-key", default=None, help="for the CSV export of Tokyo")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", default=None, help="comma-separated scenario names to run")
    args = parser.parse_args()
    rid = args.round
    # name: (path here, path on the peer, key)
    scenarios: dict[str, tuple[list[str], list[str] | None, str]] = {
        "aggregate": ([f"/v1/procurement/rounds/{rid}/aggregate"], [f"/v1/procurement/rounds/{rid}/aggregate"],
                      args.key),
        "savings (default answer)": ([f"/v1/procurement/rounds/{rid}/savings"],
                                     [f"/v1/procurement/rounds/{rid}/savings"], args.key),
        "savings with municipality detail": ([f"/v1/procurement/rounds/{rid}/savings?detail=municipality"],
                                             [f"/v1/procurement/rounds/{rid}/savings"], args.key),
        "what-if pc/1 k=10 q=50": ([f"/v1/procurement/rounds/{rid}/what-if?pool=bench-01-pc/1&k=10&q=50"],
                                   [f"/v1/procurement/rounds/{rid}/what-if?pool=bench-01-pc/1&k=10&q=50"],
                                   args.key),
        "OCDS package": ([f"/v1/ocds/rounds/{rid}"], [f"/v1/ocds/rounds/{rid}"], args.key),
    }
    if args.carrier_key:
        scenarios["Tokyo CSV streamed"] = (
            ["/v1/assets/export?prefecture=13"], None, args.carrier_key)
    wanted = set(args.only.split(",")) if args.only else None
    print("| scenario | server | requests | p50 ms | p95 ms | answer bytes |\n|---|---|---|---|---|---|")
    async with httpx.AsyncClient(base_url=args.base, timeout=120) as here, \
            httpx.AsyncClient(base_url=args.peer or args.base, timeout=120) as peer:
        if args.carrier_key and (wanted is None or "Tokyo CSV paged" in wanted):
            results: dict[str, list[tuple[float, int]]] = {"here": [], "peer": []}
            for _ in range(max(2, args.requests // 4)):
                results["here"].append(await _paged_csv(here, args.carrier_key, "13"))
                if args.peer:
                    results["peer"].append(await _paged_csv(peer, args.carrier_key, "13"))
            for who, got in results.items():
                if got:
                    print(_row("Tokyo CSV paged", who, [t for t, _ in got], got[-1][1]), flush=True)
        for name, (paths, peer_paths, key) in scenarios.items():
            if wanted is not None and name not in wanted:
                continue
            await _timed(here, paths, key)  # warm the prepared-statement caches
            if args.peer and peer_paths:
                await _timed(peer, peer_paths, key)
            lat_here: list[float] = []
            lat_peer: list[float] = []
            size_here = size_peer = 0
            # Interleave in rounds of `concurrency` so both servers share the machine's load.
            for _ in range(max(1, args.requests // args.concurrency)):
                got, size_here = await _side(here, paths, key, args.concurrency, args.concurrency)
                lat_here += got
                if args.peer and peer_paths:
                    got, size_peer = await _side(peer, peer_paths, key, args.concurrency, args.concurrency)
                    lat_peer += got
            print(_row(name, "here", lat_here, size_here), flush=True)
            if FAILURES:
                print(f"  (non-200 answers so far: {FAILURES})", flush=True)
            if lat_peer:
                print(_row(name, "peer", lat_peer, size_peer), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
