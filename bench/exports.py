"""One request per export of a prefecture's assets against a running server: time, bytes, rows, and the rows
read back (csv / openpyxl) compared with the search's own count. Usage:

    .venv/bin/python bench/exports.py --key <prefecture or carrier key> --prefecture 13 [--base http://127.0.0.1:8000]

With `--concurrent 8`, instead: the streamed CSV `--requests` times, `--concurrent` at once, each by a `curl`
process (a Python client reading eight 5 MB streams at once used more CPU than the server on this 2-core
machine, and its p50 was the client's), without and then with `Accept-Encoding: br`; p50, p95 and the load
average.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import statistics
import time

import httpx
import openpyxl

FORMATS = [("CSV UTF-8 (streamed)", {"f": "csv"}), ("CSV CP932", {"f": "csv", "encoding": "cp932"}),
           ("XLSX", {"f": "xlsx"}), ("公共施設一覧 XLSX", {"f": "xlsx", "layout": "opendata"})]


def read_back(r: httpx.Response) -> tuple[int, int, int]:
    """(data rows, code cells, code cells that are 6-character text) as a clerk's tools read the file."""
    if r.headers["content-type"].startswith("application/vnd.openxml"):
        ws = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
        values = list(ws.iter_rows(values_only=True))
    else:
        charset = "cp932" if "shift_jis" in r.headers["content-type"] else "utf-8-sig"
        values = list(csv.reader(io.StringIO(r.content.decode(charset), newline="")))
    header, data = values[0], [v for v in values[1:] if v and v[0] not in (None, "")]
    data = [v for v in data if len([c for c in v if c not in (None, "")]) > 1]  # not a note row
    name = "全国地方公共団体コード" if "全国地方公共団体コード" in header else "municipality_code"
    at = header.index(name)
    codes = [row[at] for row in data]
    return len(data), len(codes), sum(1 for c in codes if isinstance(c, str) and len(c) == 6)


async def _curl(url: str, key: str, coding: str | None) -> tuple[float, int]:
    extra = ["-H", f"Accept-Encoding: {coding}"] if coding else []
    proc = await asyncio.create_subprocess_exec(
        "curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_download}",
        "-H", f"Authorization: Bearer {key}", *extra, url, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    code, seconds, size = out.decode().split()
    assert code == "200", out
    return float(seconds), int(size)


async def concurrent(base: str, key: str, prefecture: str, requests: int, at_once: int) -> None:
    url = f"{base}/v1/assets/export?prefecture={prefecture}"
    print("| Accept-Encoding | requests | at once | p50 s | p95 s | bytes | load average |")
    print("|---|---|---|---|---|---|---|")
    for coding in (None, "br"):
        gate = asyncio.Semaphore(at_once)

        async def one(coding: str | None = coding, gate: asyncio.Semaphore = gate) -> tuple[float, int]:
            async with gate:
                return await _curl(url, key, coding)

        got = await asyncio.gather(*(one() for _ in range(requests)))
        times = sorted(t for t, _ in got)
        p95 = statistics.quantiles(times, n=20)[18]
        load = " ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"| {coding or 'none'} | {requests} | {at_once} | {statistics.median(times):.2f} | {p95:.2f} | "
              f"{got[0][1]:,} | {load} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    parser.add_argument("--prefecture", default="13")
    parser.add_argument("--concurrent", type=int, default=0, help="streamed CSVs at once (curl), instead")
    parser.add_argument("--requests", type=int, default=16)
    args = parser.parse_args()
    if args.concurrent:
        asyncio.run(concurrent(args.base, args.key, args.prefecture, args.requests, args.concurrent))
        return
    headers = {"Authorization": f"Bearer {args.key}"}
    with httpx.Client(base_url=args.base, headers=headers, timeout=600) as client:
        search = client.get("/v1/assets", params={"prefecture": args.prefecture, "count": "true", "limit": 1})
        matched = search.json()["numberMatched"]
        print(f"prefecture {args.prefecture}: the search counts {matched:,}")
        print("| export | seconds | bytes | X-Export-Rows | rows read back | codes as 6-digit text |")
        print("|---|---|---|---|---|---|")
        for name, params in FORMATS:
            start = time.perf_counter()
            r = client.get("/v1/assets/export", params={"prefecture": args.prefecture, **params})
            elapsed = time.perf_counter() - start
            assert r.status_code == 200, r.text[:500]
            rows, codes, text_codes = read_back(r)
            print(f"| {name} | {elapsed:.1f} | {len(r.content):,} | {r.headers['x-export-rows']} | {rows:,} | "
                  f"{text_codes:,} of {codes:,} |")


if __name__ == "__main__":
    main()
