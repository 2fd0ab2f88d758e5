"""Reading an export back as a clerk's tools would: csv for CSV (UTF-8 with BOM or CP932), openpyxl for XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(content: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(content))


def rows(r: Any) -> list[list[Any]]:
    """Every row of the answer, header and notes included; '' and None both as None."""
    if r.headers["content-type"].startswith(XLSX):
        ws = workbook(r.content).active
        return [[None if v == "" else v for v in row] for row in ws.iter_rows(values_only=True)]
    charset = "cp932" if "shift_jis" in r.headers["content-type"] else "utf-8-sig"
    if charset == "utf-8-sig":
        assert r.content.startswith(b"\xef\xbb\xbf"), "UTF-8 CSV for Excel starts with a BOM"
    text = r.content.decode(charset)
    return [[c if c != "" else None for c in row] for row in csv.reader(io.StringIO(text, newline=""))]


def split(all_rows: list[list[Any]]) -> tuple[list[Any], list[list[Any]], list[str]]:
    """(header, data rows, notes): data rows have the header's width; the notes follow them."""
    header, data, notes = all_rows[0], [], []
    for row in all_rows[1:]:
        filled = [c for c in row if c is not None]
        if not filled:
            continue
        if notes or (len(filled) == 1 and str(filled[0]).startswith(("注記", "Note:"))):
            notes.append(str(filled[0]))
        else:
            data.append(row)
    return header, data, notes
