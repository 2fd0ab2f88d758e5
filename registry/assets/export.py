"""CSV for people who open the answer in Excel: UTF-8 with a BOM, or CP932 on request.

Every text cell passes through registry.spreadsheet.neutralise: a municipality may name an asset
`=HYPERLINK(...)`, and a carrier's Excel would run it. Numbers are written as numbers, untouched.

Two forms: a page of search hits (`to_csv`), and the whole set as a stream (`primed`), made from the
database rows a chunk at a time without building a feature per asset (Tokyo's 15,170 assets took
4.4 s in pages of 1,000; one streamed request is the figure in bench/PROCUREMENT.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from registry.assets import export_queries
from registry.assets.queries import Hit
from registry.assets.search import SearchFilter
from registry.principal import Principal
from registry.spreadsheet import neutralise

COLUMNS = ["asset_id", "municipality_code", "source_id", "category", "name", "address", "longitude", "latitude",
           "coarse_location", "position_accuracy_m", "height_m", "mountable_height_m", "spare_load_kg", "power",
           "fibre_distance_m", "area_m2", "availability", "current_tenants", "max_tenants", "constraints",
           "fee_rule", "permit_type", "contact", "source", "last_verified", "visibility", "version", "updated_at",
           "distance_m"]
BOM = b"\xef\xbb\xbf"


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list):
        return neutralise(";".join(str(v) for v in value))
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, float):
        return f"{value:.7f}".rstrip("0").rstrip(".")
    return value


def _encode(text: str, encoding: str) -> bytes:
    # Characters CP932 lacks (some kanji variants) become '?', rather than failing the export.
    return text.encode("cp932", errors="replace") if encoding == "cp932" else text.encode("utf-8")


def _rows_text(rows: Iterable[Sequence[object]], header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def to_csv(hits: Iterable[Hit], encoding: str) -> bytes:
    rows = []
    for hit in hits:
        p = hit.feature.properties
        rows.append((
            p.asset_id, p.municipality_code, p.source_id, p.category, p.name, p.address, hit.lon, hit.lat,
            "true" if p.coarse_location else "false", p.position_accuracy_m, p.height_m, p.mountable_height_m,
            p.spare_load_kg, p.power, p.fibre_distance_m, p.area_m2, p.availability, p.current_tenants,
            p.max_tenants, p.constraints, p.fee_rule, p.permit_type, p.contact, p.source, p.last_verified,
            p.visibility, p.version, p.updated_at.isoformat(), p.distance_m))
    text = _rows_text(rows, header=True)
    return _encode(text, encoding) if encoding == "cp932" else BOM + _encode(text, encoding)


def record_cells(r: Mapping[str, Any]) -> tuple[object, ...]:
    """A catalogue row (queries.CATALOGUE_COLUMNS) as the cells of `COLUMNS`, as `to_csv` writes a hit."""
    return (
        r["asset_id"], r["municipality_code"], r["source_id"], r["category"], r["name"], r["address"], r["lon"],
        r["lat"], "true" if r["coarse"] else "false", r["position_accuracy_m"], r["height_m"],
        r["mountable_height_m"], r["spare_load_kg"], r["power"], r["fibre_distance_m"], r["area_m2"],
        r["availability"], r["current_tenants"], r["max_tenants"], list(r["constraints"]), r["fee_rule"],
        r["permit_type"], r["contact"], r["source"], r["last_verified"], r["visibility"], r["version"],
        r["updated_at"].isoformat(), r["distance_m"])


async def _pieces(pool: asyncpg.Pool, principal: Principal | None, flt: SearchFilter,
                  encoding: str) -> AsyncIterator[bytes]:
    async with export_queries.reading_as(pool, principal) as conn:
        # The header goes with the first chunk, so the statement has run before the answer starts.
        header = True
        async for rows in export_queries.every_match(conn, flt):
            text = _encode(_rows_text([record_cells(r) for r in rows], header=header), encoding)
            yield (BOM + text if encoding != "cp932" else text) if header else text
            header = False
        if header:
            yield (b"" if encoding == "cp932" else BOM) + _encode(_rows_text([], header=True), encoding)


async def primed(pool: asyncpg.Pool, principal: Principal | None, flt: SearchFilter,
                 encoding: str) -> AsyncIterator[bytes]:
    """The export's pieces with the first made already: the connection, transaction and principal are
    in place before the answer starts, so a database that is down answers 503 problem+json, not a cut-off
    200. A started generator dropped unfinished is closed by the event loop's finaliser, which ends its
    transaction and returns its connection."""
    pieces = _pieces(pool, principal, flt, encoding)
    first = await anext(pieces)

    async def rest() -> AsyncIterator[bytes]:
        yield first
        async for piece in pieces:
            yield piece

    return rest()
