"""Asset exports for people who open them in Excel: CSV (UTF-8 with a BOM, or CP932 with every character it
cannot hold reported), XLSX, and the 自治体標準オープンデータセット 公共施設一覧 layout a municipality publishes.

Every text cell passes through registry.spreadsheet (a municipality may name an asset `=HYPERLINK(...)`, and
a carrier's Excel would run it). Numbers stay numbers; codes and ids stay text (XLSX text cells), so 011002
and source id 0001 keep their zeros.

Two forms: a page of search hits (`to_csv`, GET /v1/assets?f=csv), and every match (`export`), made from
the database rows a chunk at a time. UTF-8 CSV is streamed as it is made, after a count in the same
snapshot gives the headers their row count; XLSX and CP932 are written to a temporary file first (XLSX is
a zip complete only when closed; CP932's replaced characters must be known before the headers leave).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Literal

import asyncpg
from litestar import Request
from litestar.response import File, Stream

from registry.assets import export_queries
from registry.assets.export_columns import OPENDATA, TABLE
from registry.assets.labels import LABELS
from registry.assets.queries import Hit
from registry.assets.search import SearchFilter
from registry.exports.answer import file_answer, max_rows, stream_answer
from registry.exports.table import ExportOptions, Lang
from registry.exports.writers import Outcome, Rows, csv_bytes, csv_line_pieces, csv_pieces
from registry.principal import Principal

Layout = Literal["registry", "opendata"]

def record_cells(r: Mapping[str, Any]) -> tuple[object, ...]:
    """A catalogue row (queries.CATALOGUE_COLUMNS) as the cells of `TABLE`."""
    return (
        str(r["asset_id"]), r["municipality_code"], r["source_id"], r["category"], r["name"], r["address"], r["lon"],
        r["lat"], bool(r["coarse"]), r["position_accuracy_m"], r["height_m"], r["mountable_height_m"],
        r["spare_load_kg"], r["power"], r["fibre_distance_m"], r["area_m2"], r["availability"], r["current_tenants"],
        r["max_tenants"], list(r["constraints"]), r["fee_rule"], r["permit_type"], r["contact"], r["source"],
        r["last_verified"], r["visibility"], r["version"], r["updated_at"], r["distance_m"])


def _described(r: Mapping[str, Any]) -> str:
    """The 説明 of an open-data row: what a carrier looks for, in words (種別: 屋上; 高さ: 12 m; ...)."""
    parts = [f"種別: {LABELS['category'][r['category']]}", f"提供状況: {LABELS['availability'][r['availability']]}"]
    for key, word, unit in (("height_m", "高さ", "m"), ("mountable_height_m", "設置可能高さ", "m"),
                            ("spare_load_kg", "余裕荷重", "kg"), ("fibre_distance_m", "光ファイバー距離", "m")):
        if r[key] is not None:
            parts.append(f"{word}: {r[key]:g} {unit}")
    parts.append(f"電源: {LABELS['power'][r['power']]}")
    return "; ".join(parts)


def opendata_cells(r: Mapping[str, Any], names: Mapping[str, str]) -> tuple[object, ...]:
    """A catalogue row as a 公共施設一覧 row; the owner's name from `names` (municipality code -> name)."""
    owner = names.get(r["municipality_code"], "")
    return (r["municipality_code"], r["source_id"], owner, r["name"], None, None, None, None, r["address"], None,
            None, None, None, None, r["lat"], r["lon"], r["contact"], None, None, owner, None, None, None, None,
            _described(r), None, None, ";".join(r["constraints"]) or None)


def to_csv(hits: Iterable[Hit], encoding: str) -> tuple[bytes, dict[str, str]]:
    """A page of search hits as CSV with its headers (X-Export-Unencodable when CP932 replaced a character)."""
    rows = []
    for hit in hits:
        p = hit.feature.properties
        rows.append((
            p.asset_id, p.municipality_code, p.source_id, p.category, p.name, p.address, hit.lon, hit.lat,
            p.coarse_location, p.position_accuracy_m, p.height_m, p.mountable_height_m, p.spare_load_kg, p.power,
            p.fibre_distance_m, p.area_m2, p.availability, p.current_tenants, p.max_tenants, p.constraints,
            p.fee_rule, p.permit_type, p.contact, p.source, p.last_verified, p.visibility, p.version, p.updated_at,
            p.distance_m))
    options = ExportOptions(encoding="cp932" if encoding == "cp932" else "utf-8")
    outcome = Outcome(cap=len(rows))
    body = csv_bytes(rows, TABLE, options, outcome)
    return body, {k: v for k, v in outcome.headers().items() if k == "X-Export-Unencodable"}


async def _chunks(pool: asyncpg.Pool, principal: Principal | None, flt: SearchFilter, layout: Layout,
                  counted: Outcome | None = None, lines: tuple[Lang, int] | None = None) -> AsyncIterator[Rows]:
    """Chunks of cells; with `lines` (a registry-layout CSV: header language, cap), chunks of the CSV lines the
    database wrote."""
    async with export_queries.reading_as(pool, principal) as conn:
        if counted is not None:  # the same snapshot as the rows, so the count is theirs
            matched = await export_queries.count(conn, flt)
            counted.rows, counted.truncated = min(matched, counted.cap), matched > counted.cap
        if lines is not None:
            # One row past the cap, so writers.capped sees the export cut short; the rest is never read.
            rows = export_queries.csv_lines(conn, flt, lines[0], lines[1] + 1)
            first_lines = await anext(rows, None)
            yield []
            while first_lines is not None:
                yield first_lines
                first_lines = await anext(rows, None)
            return
        names = await export_queries.municipality_names(conn) if layout == "opendata" else {}
        matches = export_queries.every_match(conn, flt)
        # The statement runs (and the first rows arrive) before the empty primer is handed out, so a failure
        # there answers a problem, not a cut-off 200.
        first = await anext(matches, None)
        yield []
        while first is not None:
            yield [opendata_cells(r, names) if layout == "opendata" else record_cells(r) for r in first]
            first = await anext(matches, None)


async def export(request: Request, flt: SearchFilter, options: ExportOptions, layout: Layout,
                 coding: str | None = None) -> Stream | File:
    """Every match of a search, in the format asked for, compressed with `coding` (answer.coding_for). The
    connection, transaction and principal are in place before the answer starts (the first, empty, chunk), so a
    database that is down answers 503 problem+json, not a cut-off 200."""
    columns, name = (OPENDATA, "public_facilities") if layout == "opendata" else (TABLE, "assets")
    if layout == "opendata":
        options = ExportOptions(fmt=options.fmt, encoding=options.encoding, lang="ja")
    cap = max_rows(request)
    streamed = options.fmt == "csv" and options.encoding == "utf-8"
    counted = Outcome(cap=cap) if streamed else None
    # A registry-layout CSV is written by the database, a line per asset (export_queries.CSV_LINES).
    lines = layout == "registry" and options.fmt == "csv"
    chunks = _chunks(request.app.state.pool, request.user, flt, layout, counted,
                     (options.lang, cap) if lines else None)
    await anext(chunks)
    if not streamed:
        return await file_answer(request, chunks, columns, options, name, "公共施設一覧" if layout == "opendata"
                                 else "資産", lines=lines, coding=coding)
    assert counted is not None
    running = Outcome(cap=cap)
    pieces = (csv_line_pieces if lines else csv_pieces)(chunks, columns, options, running)
    return stream_answer(pieces, counted, options, name, coding)
