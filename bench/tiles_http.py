"""Asset tiles over HTTP for every reader, this checkout against another one, in one run (issue 13's target: every
tile from zoom 4 to 16 under 100 ms p50 at 8 concurrent on the full demo).

Run by hand, never as a test (bench/SUMMARIES.md, "Filtered tiles (sql/192)"):

    .venv/bin/registry demo
    git -C . archive <commit before> | tar -x -C /tmp/before     # the code to compare with (optional)
    .venv/bin/python bench/tiles_http.py --before /tmp/before

Both checkouts serve the same database (this checkout's cluster, migrated by this checkout: sql/ is
append-only, so the older code reads it as before) with `registry serve --workers 2` on their own ports. For
each tile and reader (carrier, municipality, Tokyo's prefecture key, admin): 64 requests, 8 at once, from one
httpx client, `Accept-Encoding: identity`, before and after interleaved tile by tile; then the same tile alone
(one request at a time, median of 9). Prints p50 and p95, the size, and whether both servers gave the same
bytes and ETag. Keys are created for the run (role, tenant) and revoked at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent.parent
READERS = [("carrier", "docomo"), ("municipality", "131016"), ("prefecture", "130001"), ("admin", "admin")]
FILTER = "category=rooftop,streetlight&availability=offered,on_request"
ZOOMS: list[tuple[int, str]] = [(4, ""), (7, ""), (9, ""), (9, FILTER), (11, ""), (12, ""), (14, "")]


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _registry(tree: Path, url: str, *args: str) -> subprocess.Popen[str]:
    code = "import sys; from registry.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(tree)}
    return subprocess.Popen([str(HERE / ".venv/bin/python"), "-c", code, *args], cwd=tree, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _key(url: str, role: str, tenant: str) -> tuple[str, str]:
    out, _ = _registry(HERE, url, "keys", "create", "--role", role, "--tenant", tenant,
                       "--name", "bench-tiles").communicate()
    key = re.search(r"kyd_\w+", out)
    ident = re.search(r"\bid ([0-9a-f-]{36})", out)
    if not key:
        raise SystemExit(f"no key for {role} {tenant}: {out}")
    return key.group(0), ident.group(1) if ident else ""


async def _wait(base: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(300):
            try:
                if (await c.get(base + "/healthz")).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{base} did not start")


async def _burst(c: httpx.AsyncClient, url: str, key: str, n: int = 64,
                 at_once: int = 8) -> tuple[list[float], bytes, str]:
    headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "identity"}
    times: list[float] = []
    last: list[httpx.Response] = []

    async def one() -> None:
        t = time.perf_counter()
        r = await c.get(url, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{url}: {r.status_code} {r.text[:200]}")
        last.append(r)

    for _ in range(n // at_once):
        await asyncio.gather(*(one() for _ in range(at_once)))
    return times, last[-1].content, last[-1].headers.get("etag", "")


async def _alone(c: httpx.AsyncClient, url: str, key: str, n: int = 9) -> float:
    times, _, _ = await _burst(c, url, key, n=n, at_once=1)
    return statistics.median(times)


def _p(times: list[float]) -> str:
    return f"{statistics.median(times):7.1f} {statistics.quantiles(times, n=20)[18]:7.1f}"


async def measure(bases: dict[str, str], keys: dict[str, str]) -> None:
    names = list(bases)
    head = "  ".join(f"{n + ' p50':>7} {'p95':>7} {'alone':>6}" for n in names)
    print(f"{'tile':44} {'reader':12} {head}  {'KB':>6} same")
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as c:
        for z, query in ZOOMS:
            x, y = _tile(139.76, 35.68, z)
            path = f"/v1/tiles/assets/{z}/{x}/{y}.pbf" + (f"?{query}" if query else "")
            for role, _ in READERS:
                cols, bodies = [], []
                for n in names:
                    times, body, etag = await _burst(c, bases[n] + path, keys[role])
                    alone = await _alone(c, bases[n] + path, keys[role])
                    cols.append(f"{_p(times)} {alone:6.1f}")
                    bodies.append((body, etag))
                same = all(b == bodies[0] for b in bodies)
                label = f"{z}/{x}/{y}" + (" filtered" if query else "")
                print(f"{label:44} {role:12} {'  '.join(cols)}  {len(bodies[0][0]) / 1000:6.1f} {same}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="another checkout's root, served beside this one")
    parser.add_argument("--workers", default="2")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from registry.cluster import Cluster

    url = os.environ.get("DATABASE_URL") or Cluster.default().url()
    trees = {"after": HERE} if not args.before else {"before": args.before.resolve(), "after": HERE}
    keys, ids = {}, []
    for role, tenant in READERS:
        keys[role], ident = _key(url, role, tenant)
        ids.append(ident)
    servers, bases = [], {}
    try:
        for i, (name, tree) in enumerate(trees.items()):
            port = str(18710 + i)
            servers.append(_registry(tree, url, "serve", "--workers", args.workers, "--port", port))
            bases[name] = f"http://127.0.0.1:{port}"
        for base in bases.values():
            asyncio.run(_wait(base))
        print(f"{', '.join(f'{n}: {t}' for n, t in trees.items())}; workers {args.workers}; "
              f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
              f"{time.strftime('%H:%M UTC', time.gmtime())}")
        asyncio.run(measure(bases, keys))
        print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
              f"{time.strftime('%H:%M UTC', time.gmtime())}")
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            s.wait(timeout=30)
        for ident in filter(None, ids):
            _registry(HERE, url, "keys", "revoke", ident).communicate()


if __name__ == "__main__":
    main()
