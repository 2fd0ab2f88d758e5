"""CSV for people who open the answer in Excel: UTF-8 with a BOM, or CP932 on request."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import asyncpg

COLUMNS = ["asset_id", "municipality_code", "source_id", "category", "name", "address", "longitude", "latitude",
           "coarse_location", "position_accuracy_m", "height_m", "mountable_height_m", "spare_load_kg", "power",
           "fibre_distance_m", "area_m2", "availability", "current_tenants", "max_tenants", "constraints",
           "fee_rule", "permit_type", "contact", "source", "last_verified", "visibility", "version", "updated_at",
           "distance_m"]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.7f}".rstrip("0").rstrip(".")
    return value


def to_csv(rows: Iterable[asyncpg.Record], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([_cell(v) for v in (
            r["asset_id"], r["municipality_code"], r["source_id"], r["category"], r["name"], r["address"],
            r["lon"], r["lat"], "true" if r["coarse"] else "false", r["position_accuracy_m"], r["height_m"],
            r["mountable_height_m"], r["spare_load_kg"], r["power"], r["fibre_distance_m"], r["area_m2"],
            r["availability"], r["current_tenants"], r["max_tenants"], r["constraints"], r["fee_rule"],
            r["permit_type"], r["contact"], r["source"], r["last_verified"], r["visibility"], r["version"],
            r["updated_at"].isoformat(), r["distance_m"])])
    text = buffer.getvalue()
    if encoding == "cp932":
        # Characters CP932 lacks (some kanji variants) become '?', rather than failing the export.
        return text.encode("cp932", errors="replace")
    return b"\xef\xbb\xbf" + text.encode("utf-8")
