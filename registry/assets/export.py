"""CSV for people who open the answer in Excel: UTF-8 with a BOM, or CP932 on request.

Every text cell passes through registry.spreadsheet.neutralise: a municipality may name an asset
`=HYPERLINK(...)`, and a carrier's Excel would run it. Numbers are written as numbers, untouched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from registry.assets.queries import Hit
from registry.spreadsheet import neutralise

COLUMNS = ["asset_id", "municipality_code", "source_id", "category", "name", "address", "longitude", "latitude",
           "coarse_location", "position_accuracy_m", "height_m", "mountable_height_m", "spare_load_kg", "power",
           "fibre_distance_m", "area_m2", "availability", "current_tenants", "max_tenants", "constraints",
           "fee_rule", "permit_type", "contact", "source", "last_verified", "visibility", "version", "updated_at",
           "distance_m"]


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


def to_csv(hits: Iterable[Hit], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for hit in hits:
        p = hit.feature.properties
        writer.writerow([_cell(v) for v in (
            p.asset_id, p.municipality_code, p.source_id, p.category, p.name, p.address, hit.lon, hit.lat,
            "true" if p.coarse_location else "false", p.position_accuracy_m, p.height_m, p.mountable_height_m,
            p.spare_load_kg, p.power, p.fibre_distance_m, p.area_m2, p.availability, p.current_tenants,
            p.max_tenants, p.constraints, p.fee_rule, p.permit_type, p.contact, p.source, p.last_verified,
            p.visibility, p.version, p.updated_at.isoformat(), p.distance_m)])
    text = buffer.getvalue()
    if encoding == "cp932":
        # Characters CP932 lacks (some kanji variants) become '?', rather than failing the export.
        return text.encode("cp932", errors="replace")
    return b"\xef\xbb\xbf" + text.encode("utf-8")
