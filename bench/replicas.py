"""Read replicas (issue 17), by hand, never as a test: the cost of a replica-served read, and replay lag under writes.

    .venv/bin/registry db up --replicas 1 && .venv/bin/registry migrate
    KYODO_RATE_KEY_REQUESTS=1000000 .venv/bin/python bench/replicas.py [--rounds 10] [--per-round 40] \
        [--writers 4] [--seconds 10]

1. The same search (a municipality's 2,000 assets, limit 100) through an app without replicas and one with the
   embedded standby, interleaved round by round so that both see the same machine load; mean and median ms.
2. Writers POST assets for --seconds through the app with the standby; a sampler reads the standby's replay
   position every 20 ms. For each write, the delay from its answer (Kyodo-WAL-Position) to the standby having
   replayed it: p50, p95, max. Prints the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.auth import queries as key_queries
from registry.cluster import Cluster
from registry.db.admin import admin_session
from registry.db.replicas import WAL_HEADER, parse_lsn
from registry.settings import Settings, api_url_for

CHIYODA = "131016"
SEED = f"""insert into assets (municipality_code, source_id, category, name, geom)
select '{CHIYODA}', 'bench-' || i, 'streetlight', 'bench ' || i,
       ST_SetSRID(ST_MakePoint(139.74 + (i % 50) / 2000.0, 35.68 + (i / 50) / 2000.0), 4326)
  from generate_series(1, 2000) i
on conflict do nothing"""


async def _timed(client: AsyncTestClient, headers: dict[str, str], n: int) -> list[float]:
    took = []
    for _ in range(n):
        start = time.perf_counter()
        answer = await client.get("/v1/assets", params={"municipality": CHIYODA, "limit": "100"}, headers=headers)
        took.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text
    return took


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=40)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    cluster = Cluster.default()
    replica_urls = cluster.replica_urls()
    assert replica_urls, "start a standby first: registry db up --replicas 1"
    plain = Settings.from_env()
    with_replica = msgspec.structs.replace(plain, replica_api_urls=tuple(api_url_for(u) for u in replica_urls))
    await admin_session(plain, lambda db: db.execute(SEED))
    reader = await admin_session(plain, lambda db: key_queries.create_key(db, "municipality", CHIYODA, "bench-r"))
    writer = await admin_session(plain, lambda db: key_queries.create_key(db, "municipality", CHIYODA, "bench-w"))
    read_key = {"Authorization": f"Bearer {reader.key}"}
    write_key = {"Authorization": f"Bearer {writer.key}"}
    print(f"load average before: {os.getloadavg()}")
    await asyncio.sleep(1)  # the standby replays the keys

    times: dict[str, list[float]] = {"primary only": [], "via standby": []}
    async with AsyncTestClient(app=create_app(plain)) as a, AsyncTestClient(app=create_app(with_replica)) as b:
        await _timed(a, read_key, 10)
        await _timed(b, read_key, 10)
        for _ in range(args.rounds):
            times["primary only"] += await _timed(a, read_key, args.per_round)
            times["via standby"] += await _timed(b, read_key, args.per_round)
        for name, took in times.items():
            print(f"search, {name}: n={len(took)} mean {statistics.mean(took):.2f} ms, "
                  f"median {statistics.median(took):.2f} ms")

        # The sampler runs on a thread of its own: on the app's event loop it would wait behind the writers
        # (it did: 47 samples in 17 s under a load average of 12), and every delay would read late.
        replayed: list[tuple[float, int]] = []
        lags: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            async def loop() -> None:
                standby = await asyncpg.connect(replica_urls[0])
                primary = await asyncpg.connect(plain.database_url)
                while not stop.is_set():
                    replayed.append((time.monotonic(), parse_lsn(await standby.fetchval(
                        "select pg_last_wal_replay_lsn()::text"))))
                    lag = await primary.fetchval("select extract(epoch from max(replay_lag)) from pg_stat_replication")
                    lags.append(float(lag or 0) * 1000)
                    await asyncio.sleep(0.02)
                await standby.close()
                await primary.close()
            asyncio.run(loop())

        writes: list[tuple[float, int]] = []

        async def write(w: int) -> None:
            i = 0
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                i += 1
                answer = await b.post("/v1/assets", headers=write_key, json={
                    "source_id": f"w{w}-{i}-{time.time_ns()}", "category": "streetlight", "name": "bench write",
                    "geometry": {"type": "Point", "coordinates": [139.75, 35.69]}})
                assert answer.status_code == 201, answer.text
                writes.append((time.monotonic(), parse_lsn(answer.headers[WAL_HEADER])))

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        await asyncio.gather(*(write(w) for w in range(args.writers)))
        took = time.monotonic() - started
        await asyncio.sleep(1)
        stop.set()
        sampler.join()
    lags.sort()
    delays = []
    for at, lsn in writes:
        seen = next((t for t, r in replayed if r >= lsn and t >= at - 0.02), None)
        if seen is not None:
            delays.append(max(0.0, (seen - at) * 1000))
    delays.sort()
    print(f"writes: {len(writes)} in {took:.1f} s by {args.writers} writers ({len(writes) / took:.0f}/s); "
          f"{len(replayed)} samples")
    print(f"standby caught up after the write's answer (20 ms sampling): p50 {delays[len(delays) // 2]:.1f} ms, "
          f"p95 {delays[int(len(delays) * 0.95)]:.1f} ms, max {delays[-1]:.1f} ms")
    print(f"pg_stat_replication.replay_lag: p50 {lags[len(lags) // 2]:.1f} ms, p95 {lags[int(len(lags) * 0.95)]:.1f} "
          f"ms, max {lags[-1]:.1f} ms")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
