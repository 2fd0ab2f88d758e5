"""The carrier map's new searches and exports, timed against the ones they sit next to (issue 12).

    .venv/bin/python bench/search_filters.py http://127.0.0.1:8077 [--runs 5]

Against a server on the national demo (`registry demo`). Each pair is requested alternately (A B A B ...)
so both see the same load on a shared machine; the median wall time and the answer's size are printed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOKYO_BOX = "139.74,35.68,139.77,35.70"
PAIRS = [
    ("bbox, no minimum", {"bbox": TOKYO_BOX, "limit": 100, "count": "true"},
     "bbox + 3 minimums", {"bbox": TOKYO_BOX, "limit": 100, "count": "true", "min_mountable_height": 10,
                           "min_spare_load": 100, "min_free_slots": 1}),
    ("municipality=131016", {"municipality": "131016", "limit": 100, "count": "true"},
     "address=千代田区 (all Japan)", {"address": "千代田区", "limit": 100, "count": "true"}),
    ("export CSV, Tokyo", {"prefecture": "13", "_path": "/v1/assets/export"},
     "export GeoPackage, Tokyo", {"prefecture": "13", "f": "gpkg", "_path": "/v1/assets/export"}),
]


def make_key() -> str:
    out = subprocess.run([str(Path(sys.executable).with_name("registry")), "keys", "create", "--role", "carrier",
                          "--tenant", "docomo", "--name", "bench search filters"],
                         capture_output=True, text=True, check=True)
    return re.search(r"kyd_\S+", out.stdout).group(0)


def timed(client: httpx.Client, params: dict) -> tuple[float, int]:
    params = dict(params)
    path = params.pop("_path", "/v1/assets")
    start = time.perf_counter()
    r = client.get(path, params=params)
    elapsed = time.perf_counter() - start
    r.raise_for_status()
    return elapsed, len(r.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {make_key()}", "Accept-Encoding": "identity"}
    with httpx.Client(base_url=args.base, headers=headers, timeout=300) as client:
        print("| request | median ms | bytes |\n|---|---:|---:|")
        for name_a, a, name_b, b in PAIRS:
            timed(client, a), timed(client, b)  # warm both
            times: dict[str, list[float]] = {name_a: [], name_b: []}
            sizes = {}
            for _ in range(args.runs):
                for name, params in ((name_a, a), (name_b, b)):
                    t, size = timed(client, params)
                    times[name].append(t)
                    sizes[name] = size
            for name in (name_a, name_b):
                print(f"| {name} | {statistics.median(times[name]) * 1000:,.0f} | {sizes[name]:,} |")


if __name__ == "__main__":
    main()
