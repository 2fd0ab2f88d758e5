"""/ogc/collections/assets/items?bbox= next to /v1/assets?bbox=: the same boxes, the same server, one run.

Run by hand against the demo data (see bench/OGC.md):

    .venv/bin/registry serve --port 8000 --workers 2 &
    .venv/bin/python bench/ogc_items.py --key <carrier key> --boxes 300 --rounds 2

The boxes are 1 km squares on a fixed grid over the Tokyo wards (seed 20261130). The two paths run in
turns (v1, ogc, v1, ogc, ...) so that whatever else the machine does falls on both. Every answer is
checked: status 200, and for a box with fewer features than the limit, the same ids on both paths.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

import httpx

# Metres per degree at 35.7° N: 111,000 north-south and 90,100 east-west, so 1 km boxes.
DLAT, DLON = 1000 / 111_000, 1000 / 90_100


def boxes(n: int, seed: int = 20261130) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lon, lat = rng.uniform(139.60, 139.85), rng.uniform(35.60, 35.78)
        out.append(f"{lon:.6f},{lat:.6f},{lon + DLON:.6f},{lat + DLAT:.6f}")
    return out


PATHS = {
    "/v1/assets?bbox=": "/v1/assets?limit={limit}&bbox={box}",
    "/ogc/collections/assets/items?bbox=": "/ogc/collections/assets/items?limit={limit}&bbox={box}",
    "/v1/assets?bbox=&category=rooftop&min_height=20":
        "/v1/assets?limit={limit}&bbox={box}&category=rooftop&min_height=20",
    "/ogc/...items?bbox=&filter=category='rooftop' AND height_m>=20":
        "/ogc/collections/assets/items?limit={limit}&bbox={box}&filter=category%3D%27rooftop%27%20AND%20height_m%3E%3D20",
}


async def run(client: httpx.AsyncClient, template: str, bxs: list[str], limit: int,
              concurrency: int) -> tuple[list[float], float, dict[str, set[str]], int]:
    latencies: list[float] = []
    ids: dict[str, set[str]] = {}
    size = 0
    queue = list(bxs)

    async def worker() -> None:
        nonlocal size
        while queue:
            box = queue.pop()
            start = time.perf_counter()
            r = await client.get(template.format(limit=limit, box=box))
            latencies.append(time.perf_counter() - start)
            if r.status_code != 200:
                raise SystemExit(f"{template}: {r.status_code} {r.text[:300]}")
            ids[box] = {f["id"] for f in r.json()["features"]}
            size += len(r.content)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - began, ids, size


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    parser.add_argument("--boxes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    bxs = boxes(args.boxes)
    results: dict[str, list[tuple[list[float], float, int]]] = {name: [] for name in PATHS}
    answers: dict[str, dict[str, set[str]]] = {}
    headers = {"Authorization": f"Bearer {args.key}", "Accept-Encoding": "identity"}
    async with httpx.AsyncClient(base_url=args.base, headers=headers, timeout=60) as client:
        for template in PATHS.values():  # warm each worker's prepared statements
            for box in bxs[:8]:
                await client.get(template.format(limit=args.limit, box=box))
        for _ in range(args.rounds):
            for name, template in PATHS.items():
                latencies, elapsed, ids, size = await run(client, template, bxs, args.limit, args.concurrency)
                results[name].append((latencies, elapsed, size))
                answers[name] = ids
    names = list(PATHS)
    for v1, ogc in ((names[0], names[1]), (names[2], names[3])):
        small = [b for b in bxs if len(answers[v1][b]) < args.limit]
        differ = [b for b in small if answers[v1][b] != answers[ogc][b]]
        features = sum(len(answers[v1][b]) for b in bxs)
        print(f"{v1} vs {ogc}: {features:,} features in {len(bxs)} boxes; {len(small)} boxes under the limit, "
              f"{len(differ)} with different ids")
        if differ:
            raise SystemExit(f"different answers for {differ[:3]}")
    print(f"\n{args.boxes} boxes x {args.rounds} rounds, {args.concurrency} at a time, limit={args.limit}\n")
    print("| path | round | req/s | p50 ms | p95 ms | bytes per answer |\n|---|---|---|---|---|---|")
    for name in names:
        for i, (latencies, elapsed, size) in enumerate(results[name], 1):
            q = statistics.quantiles(latencies, n=20)
            print(f"| `{name}` | {i} | {len(latencies) / elapsed:.0f} | {statistics.median(latencies) * 1000:.1f} "
                  f"| {q[18] * 1000:.1f} | {size // len(latencies):,} |", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
