"""Exports written out: CSV (UTF-8 with a BOM, or CP932 with every character it cannot hold reported) and
XLSX (XlsxWriter in constant-memory mode: one row in memory, the sheet on disk).

Rows arrive as chunks of tuples in column order (a database cursor's `CHUNK` at a time) and stop at the
cap (settings.export_max_rows): a 200,000-row cap keeps the demo's whole nation (91,683 assets) in one
file and stays far below Excel's 1,048,576 rows. What happened (rows written, cap hit, characters
replaced) is an `Outcome`, sent as response headers and, when something was left out or replaced, as a
note row after the data, so a clerk who never sees headers still reads it.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import shutil
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from registry.exports.table import SUBSTITUTE, Column, ExportOptions, Lang, csv_text, headers_row, plain
from registry.spreadsheet import FORMULA_STARTS

BOM = b"\xef\xbb\xbf"
Rows = Sequence[Sequence[object]]
EXAMPLES = 10
"""How many replaced characters and rows a report names; the count is always the whole."""


@dataclass
class Outcome:
    cap: int
    rows: int = 0
    truncated: bool = False
    unencodable: Counter[str] = field(default_factory=Counter)
    """Characters CP932 cannot hold, with how often each was replaced."""
    lines: list[int] = field(default_factory=list)
    """Data rows (1 = the first after the header) where one was replaced, the first `EXAMPLES`."""
    replaced: int = 0

    def headers(self) -> dict[str, str]:
        out = {"X-Export-Rows": str(self.rows), "X-Export-Cap": str(self.cap),
               "X-Export-Truncated": "true" if self.truncated else "false"}
        if self.replaced:
            chars = " ".join(f"U+{ord(c):04X}" for c, _ in self.unencodable.most_common(EXAMPLES))
            rows = ",".join(str(n) for n in self.lines)
            out["X-Export-Unencodable"] = f"count={self.replaced}; characters={chars}; rows={rows}"
        return out

    def notes(self, lang: Lang) -> list[str]:
        out = []
        if self.truncated:
            out.append(f"注記: 上限 {self.cap:,} 行で打ち切りました。条件を絞って書き出してください。" if lang == "ja"
                       else f"Note: cut off at the cap of {self.cap:,} rows; narrow the filters and export again.")
        if self.replaced:
            chars = " ".join(f"U+{ord(c):04X}" for c, _ in self.unencodable.most_common(EXAMPLES))
            rows = ", ".join(str(n) for n in self.lines)
            out.append(f"注記: CP932 で表せない文字 {self.replaced} 個 ({chars}) を {SUBSTITUTE} に置き換えました"
                       f" (データ {rows} 行目)。UTF-8 で書き出せばそのまま残ります。" if lang == "ja" else
                       f"Note: {self.replaced} characters CP932 cannot hold ({chars}) were replaced by {SUBSTITUTE} "
                       f"(data rows {rows}); export as UTF-8 to keep them.")
        return out


def _csv_lines(rows: Rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _cells(columns: Sequence[Column], row: Sequence[object], lang: Lang) -> list[str]:
    return [csv_text(plain(c, v, lang)) for c, v in zip(columns, row, strict=True)]


def encode(text: str, encoding: str, outcome: Outcome, first_line: int) -> bytes:
    """Text in the encoding asked for. CP932 replaces what it cannot hold by 〓 and counts every one in
    `outcome`, naming the data rows (counted from `first_line`): never a silent '?'."""
    if encoding != "cp932":
        return text.encode("utf-8")
    try:
        return text.encode("cp932")
    except UnicodeEncodeError:
        pass
    out = []
    # Rare (a variant kanji such as 𠮷), so the slow path goes character by character, line by line.
    for n, line in enumerate(text.splitlines(keepends=True), start=first_line):
        kept = []
        for ch in line:
            try:
                ch.encode("cp932")
                kept.append(ch)
            except UnicodeEncodeError:
                kept.append(SUBSTITUTE)
                outcome.unencodable[ch] += 1
                outcome.replaced += 1
                if n not in outcome.lines and len(outcome.lines) < EXAMPLES:
                    outcome.lines.append(n)
        out.append("".join(kept))
    return "".join(out).encode("cp932")


async def capped(chunks: AsyncIterator[Rows], outcome: Outcome) -> AsyncIterator[Rows]:
    """The chunks up to `outcome.cap` rows; one row past it sets `truncated` (the source is then left)."""
    async for chunk in chunks:
        room = outcome.cap - outcome.rows
        if len(chunk) > room:
            outcome.truncated = True
            if room:
                outcome.rows += room
                yield chunk[:room]
            return
        outcome.rows += len(chunk)
        yield chunk


async def csv_pieces(chunks: AsyncIterator[Rows], columns: Sequence[Column], options: ExportOptions,
                     outcome: Outcome) -> AsyncIterator[bytes]:
    """A CSV a chunk at a time: BOM (UTF-8) and header first, the note rows last."""
    head = _csv_lines([headers_row(columns, options.lang)])
    yield (b"" if options.encoding == "cp932" else BOM) + encode(head, options.encoding, outcome, 0)
    line = 1
    async for chunk in capped(chunks, outcome):
        yield encode(_csv_lines([_cells(columns, r, options.lang) for r in chunk]), options.encoding, outcome, line)
        line += len(chunk)
    notes = outcome.notes(options.lang)
    if notes:
        yield encode(_csv_lines([[n] for n in notes]), options.encoding, Outcome(cap=0), 0)


async def csv_line_pieces(chunks: AsyncIterator[Rows], columns: Sequence[Column], options: ExportOptions,
                          outcome: Outcome) -> AsyncIterator[bytes]:
    """As csv_pieces, from chunks of lines the database wrote already (UTF-8 bytes ending CRLF, the same
    cells csv_pieces would write: registry/assets/export_queries.CSV_LINES)."""
    head = _csv_lines([headers_row(columns, options.lang)])
    yield (b"" if options.encoding == "cp932" else BOM) + encode(head, options.encoding, outcome, 0)
    line = 1
    async for chunk in capped(chunks, outcome):
        body = b"".join(chunk)  # type: ignore[arg-type]
        yield body if options.encoding == "utf-8" else encode(body.decode(), options.encoding, outcome, line)
        line += len(chunk)
    notes = outcome.notes(options.lang)
    if notes:
        yield encode(_csv_lines([[n] for n in notes]), options.encoding, Outcome(cap=0), 0)


def csv_bytes(rows: Rows, columns: Sequence[Column], options: ExportOptions, outcome: Outcome) -> bytes:
    """A whole CSV of rows already in memory (a page of a listing), as csv_pieces writes it."""
    outcome.rows = len(rows)
    head = (b"" if options.encoding == "cp932" else BOM) + encode(
        _csv_lines([headers_row(columns, options.lang)]), options.encoding, outcome, 0)
    body = encode(_csv_lines([_cells(columns, r, options.lang) for r in rows]), options.encoding, outcome, 1)
    notes = encode(_csv_lines([[n] for n in outcome.notes(options.lang)]), options.encoding, Outcome(cap=0), 0)
    return head + body + notes


class XlsxSheet:
    """One worksheet written row by row: Japanese (or English) header in bold, frozen, filtered; codes and
    text as text cells (a cell format of `@`, so Excel keeps 011002 even when retyped), numbers as numbers,
    dates as dates. Formula-like text is written as text with Excel's quote prefix, as registry.spreadsheet
    neutralises it in CSV: the value stays the asset's own name, and Excel never evaluates it."""

    def __init__(self, path: Path, columns: Sequence[Column], lang: Lang, sheet: str) -> None:
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": str(path.parent)})
        self.ws = self.book.add_worksheet(sheet)
        self.columns, self.lang, self.row = columns, lang, 0
        self.text = self.book.add_format({"num_format": "@"})
        self.quoted = self.book.add_format({"num_format": "@", "quote_prefix": True})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        bold = self.book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        for i, c in enumerate(columns):
            self.ws.set_column(i, i, c.width, self.text if c.kind in ("text", "code") else None)
        self.ws.freeze_panes(1, 0)
        self.ws.write_row(0, 0, headers_row(columns, lang), bold)

    def _cell(self, col: int, column: Column, value: Any) -> None:
        r = self.row
        if value is None:
            return
        if isinstance(value, bool):
            self.ws.write_boolean(r, col, value)
        elif isinstance(value, int | float | Decimal) and column.kind not in ("text", "code"):
            self.ws.write_number(r, col, float(value))
        elif isinstance(value, dt.datetime):
            # Excel has no time zones: the instant as ISO 8601 text with its offset, exact and sortable.
            self.ws.write_string(r, col, value.isoformat(), self.text)
        elif isinstance(value, dt.date):
            self.ws.write_datetime(r, col, dt.datetime(value.year, value.month, value.day), self.date)
        else:
            text = str(value)
            self.ws.write_string(r, col, text, self.quoted if text.startswith(FORMULA_STARTS) else self.text)

    def rows(self, chunk: Rows) -> None:
        for row in chunk:
            self.row += 1
            for i, (c, v) in enumerate(zip(self.columns, row, strict=True)):
                self._cell(i, c, plain(c, v, self.lang))

    def close(self, notes: list[str]) -> None:
        self.ws.autofilter(0, 0, self.row, len(self.columns) - 1)
        for i, note in enumerate(notes):
            self.row += 2 if i == 0 else 1  # a blank row between the data and the notes
            self.ws.write_string(self.row, 0, note)
        self.book.close()


def temporary(name: str) -> Path:
    """A path in a fresh temporary folder of its own, which `discard` deletes with everything in it."""
    return Path(tempfile.mkdtemp(prefix="kyodo-export-")) / name


def discard(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)


async def to_file(chunks: AsyncIterator[Rows], columns: Sequence[Column], options: ExportOptions,
                  outcome: Outcome, name: str, sheet: str, *, lines: bool = False) -> Path:
    """The whole export written to a temporary file (for XLSX, a zip complete only when closed; for CP932, so
    the replaced characters are known before the answer's headers): memory holds one chunk. `lines`: CSV
    chunks are lines the database wrote (csv_line_pieces), not cells."""
    path = temporary(f"{name}.{options.fmt}")
    try:
        if options.fmt == "xlsx":
            book = await asyncio.to_thread(XlsxSheet, path, columns, options.lang, sheet)
            async for chunk in capped(chunks, outcome):
                await asyncio.to_thread(book.rows, chunk)
            await asyncio.to_thread(book.close, outcome.notes(options.lang))
        else:
            with path.open("wb") as fh:
                pieces = (csv_line_pieces if lines else csv_pieces)(chunks, columns, options, outcome)
                async for piece in pieces:
                    fh.write(piece)
    except BaseException:
        discard(path)
        raise
    return path
