"""One request per export of a prefecture's assets against a running server: time, bytes, rows, and the rows
read back (csv / openpyxl) compared with the search's own count. Usage:

    .venv/bin/python bench/exports.py --key <prefecture or carrier key> --prefecture 13 [--base http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import csv
import io
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    parser.add_argument("--prefecture", default="13")
    args = parser.parse_args()
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
