"""Webhook delivery throughput and lag at a burst of 1,000 events per second.

    .venv/bin/python bench/events.py [--rate 1000] [--seconds 5] [--subjects 100]

A fresh database (kyodo_events_bench on the embedded cluster) with one webhook subscription to a receiver on
loopback (a separate process, http.server with threads); `registry worker` runs as it does in production, in its
own process. The driver commits `rate` events a second for `seconds` seconds, each in its own transaction (as
many API requests would), spread over `subjects` subjects. The receiver notes when each message arrives; lag is
arrival minus the event's commit (its `timestamp`, the transaction's time; one clock, one machine).

Peer, in the same run: the same number of signed POSTs sent straight to the receiver by one httpx client with the
worker's concurrency and no queue at all, which is the ceiling the receiver and the machine allow.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time

import asyncpg
import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from registry.cluster import Cluster
from registry.db.migrate import migrate
from registry.settings import api_url_for, with_database
from registry.tenants.reference import load_reference
from registry.webhooks.signing import new_secret, signed_headers

DB = "kyodo_events_bench"
RECEIVER = r"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
seen = []
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        seen.append((self.headers["webhook-id"], time.time(), json.loads(body).get("timestamp")))
        self.send_response(204); self.send_header("content-length", "0"); self.end_headers()
    def do_GET(self):
        out = json.dumps(seen).encode(); seen.clear()
        self.send_response(200); self.send_header("content-length", str(len(out))); self.end_headers()
        self.wfile.write(out)
    def log_message(self, *a): pass
s = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H); s.daemon_threads = True; s.serve_forever()
"""


def percentiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return (f"p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms")


async def fresh_database(admin: str) -> str:
    conn = await asyncpg.connect(with_database(admin, "postgres"))
    await conn.execute(f"drop database if exists {DB} with (force)")
    await conn.execute(f"create database {DB}")
    await conn.close()
    url = with_database(admin, DB)
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await load_reference(conn)
    await conn.close()
    return url


async def drain(http: httpx.AsyncClient, base: str, total: int, seconds: float) -> list:
    got: list = []
    deadline = time.monotonic() + seconds
    while len({g[0] for g in got}) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        got += (await http.get(base)).json()
    return got


async def burst(url: str, rate: int, seconds: int, subjects: int) -> None:
    """`rate` single-event transactions a second, paced every 10 ms, on 8 connections."""
    pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
    per_tick = rate // 100
    t0 = time.monotonic()
    sent = 0
    for tick in range(seconds * 100):
        wait = t0 + tick / 100 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await asyncio.gather(*(pool.execute(
            """insert into event_outbox (type, subject, audience, data)
               values ('application.submitted', $1, array['all'], jsonb_build_object('n', $2::int))""",
            f"application/bench-{(sent + i) % subjects}", sent + i) for i in range(per_tick)))
        sent += per_tick
    print(f"burst: {sent:,} events committed in {time.monotonic() - t0:.2f} s")
    await pool.close()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--subjects", type=int, default=100)
    args = ap.parse_args()
    total = args.rate * args.seconds
    admin = os.environ.get("DATABASE_URL") or Cluster.default().url()
    url = await fresh_database(admin)
    port = 18765
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])  # noqa: ASYNC220 (started once)
    base = f"http://127.0.0.1:{port}/hook"
    env = {**os.environ, "DATABASE_URL": url, "API_DATABASE_URL": api_url_for(url),
           "KYODO_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8"}
    worker = subprocess.Popen([sys.executable, "-m", "registry.cli", "worker", "--sweep", "2"], env=env,  # noqa: ASYNC220
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        owner = await asyncpg.connect(url)
        await owner.execute("""insert into webhook_subscriptions (tenant_code, role, url, secret)
                               values ('admin', 'admin', $1, $2)""", base, new_secret())
        await owner.close()
        await asyncio.sleep(3)  # the worker is up
        async with httpx.AsyncClient(timeout=30) as http:
            t0 = time.time()
            await burst(url, args.rate, args.seconds, args.subjects)
            got = await drain(http, base, total, 300)
            ids = {g[0] for g in got}
            lags = [g[1] - dt.datetime.fromisoformat(g[2]).timestamp() for g in got]
            span = max(g[1] for g in got) - t0
            print(f"worker:  {len(ids):,} of {total:,} delivered, {len(got) - len(ids)} repeats; last one "
                  f"{span:.2f} s after the burst began: {len(ids) / span:,.0f} deliveries/s; lag {percentiles(lags)}")

            # Peer: the same number of signed POSTs straight to the receiver, 64 at a time, no queue.
            secret = new_secret()
            bodies = [json.dumps({"type": "application.submitted", "data": {"n": i}}) for i in range(total)]
            sem = asyncio.Semaphore(64)

            async def post(i: int) -> None:
                async with sem:
                    now = dt.datetime.now(dt.UTC)
                    await http.post(base, content=bodies[i], headers={
                        **signed_headers(f"peer_{i}", now, bodies[i], [secret])})

            t0 = time.time()
            await asyncio.gather(*(post(i) for i in range(total)))
            span = time.time() - t0
            await http.get(base)  # empties the receiver's list
            print(f"peer:    {total:,} direct signed POSTs in {span:.2f} s: {total / span:,.0f} requests/s")
    finally:
        worker.terminate()
        receiver.terminate()
        worker.wait()
        receiver.wait()


if __name__ == "__main__":
    asyncio.run(main())
