"""What a CQL2 filter may name in each /ogc collection: the property, the SQL it reads and its type.

One mapping per collection serves both `/ogc/collections/{id}/queryables` (the JSON Schema a client
reads) and the translator (registry/ogc/cql2.py), so the two cannot drift apart. The SQL names the
aliases of registry/ogc/queries.py's SOURCES (c: the asset catalogue as the caller sees it, with
restricted assets already at their mesh centre; a: priority areas; m: municipalities).
"""

from __future__ import annotations

import typing

from registry.areas.models import AreaKind
from registry.assets.rules import AVAILABILITIES, CATEGORIES, PERMIT_TYPES, POWER, VISIBILITIES
from registry.ogc.cql2 import Column

_AREA_KINDS: tuple[str, ...] = typing.get_args(AreaKind)

ASSETS: dict[str, Column] = {
    "municipality_code": Column("c.municipality_code::text", "string", "Local government code (6 digits)"),
    "source_id": Column("c.source_id", "string", "The owner's own id"),
    "category": Column("c.category", "string", "Category", enum=CATEGORIES),
    "name": Column("c.name", "string", "Name"),
    "address": Column("c.address", "string", "Address", "null for a restricted asset you see masked"),
    "height_m": Column("c.height_m", "number", "Height (m)"),
    "mountable_height_m": Column("c.mountable_height_m", "number", "Mountable height (m)"),
    "spare_load_kg": Column("c.spare_load_kg", "number", "Spare load (kg)"),
    "power": Column("c.power", "string", "Power on site", enum=POWER),
    "fibre_distance_m": Column("c.fibre_distance_m", "number", "Distance to fibre (m)"),
    "area_m2": Column("c.area_m2", "number", "Area (m²)"),
    "availability": Column("c.availability", "string", "Availability", enum=AVAILABILITIES),
    "current_tenants": Column("c.current_tenants", "integer", "Tenants now"),
    "max_tenants": Column("c.max_tenants", "integer", "Tenants at most"),
    "permit_type": Column("c.permit_type", "string", "Permit type", enum=PERMIT_TYPES),
    "visibility": Column("c.visibility", "string", "Visibility", enum=VISIBILITIES),
    "last_verified": Column("c.last_verified", "date", "Last verified"),
    "updated_at": Column("c.updated_at", "timestamp", "Last changed"),
    "geometry": Column("c.geom", "geometry", "Location",
                       "restricted assets outside your reach are at the centre of their ~1 km mesh"),
}

_AREAS: dict[str, Column] = {
    "prefecture_code": Column("a.prefecture_code::text", "string", "Prefecture code (6 digits)"),
    "kind": Column("a.kind", "string", "Kind of priority area", enum=_AREA_KINDS),
    "name": Column("a.name", "string", "Name"),
    "source_id": Column("a.source_id", "string", "The prefecture's own id"),
    "updated_at": Column("a.updated_at", "timestamp", "Last changed"),
    "geometry": Column("a.geom", "geometry", "Outline"),
}

MUNICIPALITIES: dict[str, Column] = {
    "code": Column("m.code::text", "string", "Local government code (6 digits)"),
    "name": Column("m.name", "string", "Name (Japanese)"),
    "kana": Column("m.kana", "string", "Name (kana)"),
    "kind": Column("m.kind", "string", "municipality or ward", enum=("municipality", "ward")),
    "prefecture_code": Column("m.prefecture_code::text", "string", "Prefecture code (6 digits)"),
    "prefecture_name": Column("p.name", "string", "Prefecture (Japanese)"),
    "geometry": Column("m.town_hall", "geometry", "Town hall"),
}

QUERYABLES: dict[str, dict[str, Column]] = {
    "assets": ASSETS, "priority-areas": _AREAS, "coverage-gaps": _AREAS, "municipalities": MUNICIPALITIES,
}
