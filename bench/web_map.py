"""The web map's first load on the demo data: first paint, map ready, and the bytes it transfers.

Run by hand, never as a test, against a server on the national demo (`bash run.sh demo`, or
`.venv/bin/registry demo` then `.venv/bin/registry serve`):

    .venv/bin/python bench/web_map.py http://127.0.0.1:8000 [--screens docs/screens]

For each role (carrier docomo, municipality 131016 Chiyoda, prefecture 130001 Tokyo) it makes a key with
`registry keys create`, signs in on a fresh browser profile (nothing cached), opens /map and records:
- first contentful paint of /map (the Paint Timing API's `first-contentful-paint`);
- map ready: from the start of /map's navigation until the map has drawn every tile in view with the
  role's data on it (the page's `data-ready` set, then MapLibre's `idle`), the first meaningful paint;
- bytes transferred for /map and everything it loaded, compressed as sent (Playwright's
  `request.sizes()`: encoded body plus headers), and the same uncompressed;
and with --screens, saves a 1366x768 screenshot per role there. Three runs per role; the median is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.web_browser import browser_page, sign_in, wait_idle, wait_until

ROLES = [("carrier", "docomo"), ("municipality", "131016"), ("prefecture", "130001")]


def make_key(role: str, tenant: str) -> str:
    out = subprocess.run([str(Path(sys.executable).with_name("registry")), "keys", "create", "--role", role,
                          "--tenant", tenant, "--name", "bench web map"], capture_output=True, text=True, check=True)
    return re.search(r"kyd_\S+", out.stdout).group(0)


async def one_load(base: str, key: str, screen: Path | None) -> dict[str, float]:
    async with browser_page(base) as w:
        sizes: list[tuple[str, int, int]] = []

        async def finished(request) -> None:
            s = await request.sizes()
            response = await request.response()
            body = len(await response.body()) if response and response.status == 200 else 0
            sizes.append((request.url, s["responseBodySize"] + s["responseHeadersSize"], body))

        w.page.on("requestfinished", lambda r: asyncio.ensure_future(finished(r)))
        await sign_in(w, key)  # signs in, then /map; the measures below are /map's own
        await wait_idle(w)
        ready_ms = await w.page.evaluate("performance.now()")
        fcp = await w.page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1")
        await asyncio.sleep(1)
        if screen:
            # The carrier's first list (a count of every asset in view) may come after the map is drawn:
            # the picture waits for it; the times above do not.
            await wait_until(w, "!document.getElementById('matched') || !!document.getElementById('matched')"
                                ".textContent")
            await w.page.screenshot(path=str(screen))
        errors = list(w.errors)
        foreign = w.foreign_requests()
    # The landing page and the sign-in came before /map: count from /map's own request on.
    start = next(i for i, (url, _, _) in enumerate(sizes) if url.endswith("/map"))
    mapped = sizes[start:]
    return {"fcp_ms": fcp, "ready_ms": ready_ms, "sent_kb": sum(s for _, s, _ in mapped) / 1024,
            "raw_kb": sum(b for _, _, b in mapped) / 1024, "requests": len(mapped), "errors": len(errors),
            "foreign": len(foreign)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--screens", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| role | first contentful paint | map ready (first meaningful paint) | transferred, compressed | "
          "uncompressed | requests |")
    print("|---|---:|---:|---:|---:|---:|")
    for role, tenant in ROLES:
        key = make_key(role, tenant)
        runs = []
        for i in range(args.runs):
            screen = args.screens / f"{role}.png" if args.screens and i == args.runs - 1 else None
            runs.append(await one_load(args.base, key, screen))
            assert runs[-1]["errors"] == 0 and runs[-1]["foreign"] == 0, runs[-1]
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"| {role} {tenant} | {m['fcp_ms']:.0f} ms | {m['ready_ms']:.0f} ms | {m['sent_kb']:.0f} KB | "
              f"{m['raw_kb']:.0f} KB | {m['requests']:.0f} |")


if __name__ == "__main__":
    t0 = time.monotonic()
    asyncio.run(main())
    print(f"\n({time.monotonic() - t0:.0f} s)")
