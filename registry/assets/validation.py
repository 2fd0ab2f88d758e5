"""Checks on an asset before it is written: pure ones first, then what only PostGIS can tell."""

from __future__ import annotations

import asyncpg
import msgspec

from registry.assets import queries
from registry.assets.models import POLYGON_CATEGORIES, AssetFields, MultiPolygon, Point, Polygon
from registry.assets.rules import MAX_ASSET_VERTICES
from registry.assets.search import check_position, count_vertices
from registry.problems import invalid_field

# Without a loaded boundary, an asset this far from its own town hall is a typing mistake
# (no municipality outside the Ogasawara islands spans more).
MAX_FROM_TOWN_HALL_M = 80_000


def check_fields(fields: AssetFields) -> None:
    g = fields.geometry
    if not isinstance(g, Point) and fields.category not in POLYGON_CATEGORIES:
        raise invalid_field("geometry", f"a {fields.category} is a Point; polygons are for "
                                        f"{', '.join(sorted(POLYGON_CATEGORIES))}")
    if isinstance(g, Point):
        check_position("geometry", g.coordinates[0], g.coordinates[1])
    else:
        vertices = count_vertices(g)
        if vertices > MAX_ASSET_VERTICES:
            raise invalid_field("geometry", f"has {vertices:,} vertices; an asset outline needs at most "
                                            f"{MAX_ASSET_VERTICES:,}: simplify it")
        polygons = [g.coordinates] if isinstance(g, Polygon) else g.coordinates
        for polygon in polygons:
            for ring in polygon:
                if ring[0] != ring[-1]:
                    raise invalid_field("geometry", "a polygon ring must end at the point where it starts")
                for position in ring:
                    check_position("geometry", position[0], position[1])
    if fields.mountable_height_m is not None and fields.height_m is not None \
            and fields.mountable_height_m > fields.height_m:
        raise invalid_field("mountable_height_m", "cannot exceed height_m")
    if fields.current_tenants > fields.max_tenants:
        raise invalid_field("current_tenants", f"{fields.current_tenants} exceeds max_tenants {fields.max_tenants}")


async def checked_geometry(db: asyncpg.Connection, geometry: Point | Polygon | MultiPolygon,
                           municipality_code: str) -> str:
    """The GeoJSON text to store, after PostGIS has confirmed it is valid and where it belongs."""
    text = msgspec.json.encode(geometry).decode()
    try:
        async with db.transaction():  # a savepoint: a parse error must not abort the request's transaction
            row = await db.fetchrow(queries.GEOMETRY_CHECK, text, municipality_code)
    except asyncpg.PostgresError as exc:
        raise invalid_field("geometry", f"PostGIS cannot read it: {exc}") from exc
    if row is None:
        raise invalid_field("municipality_code", f"no municipality {municipality_code}")
    if not row["valid"]:
        raise invalid_field("geometry", f"is not a valid geometry ({row['reason']}); a polygon must not cross "
                                        "itself")
    if row["in_boundary"] is False:
        raise invalid_field("geometry", f"lies outside the boundary of {row['municipality_name']}")
    if row["in_boundary"] is None and row["from_town_hall_m"] > MAX_FROM_TOWN_HALL_M:
        km = row["from_town_hall_m"] / 1000
        raise invalid_field("geometry", f"lies {km:,.0f} km from the town hall of {row['municipality_name']}; "
                                        "check the coordinates (GeoJSON is [longitude, latitude])")
    return text
