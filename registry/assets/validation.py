"""Checks on an asset before it is written: pure ones first, then what only PostGIS can tell."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from registry.assets import queries
from registry.assets.models import (
    POLYGON_CATEGORIES,
    AssetFeature,
    AssetFields,
    AssetPatch,
    MultiPolygon,
    Point,
    Polygon,
)
from registry.assets.rules import MAX_ASSET_VERTICES
from registry.assets.search import check_position, count_vertices
from registry.i18n import tr
from registry.problems import Conflict, invalid_field, shape_problem

# Without a loaded boundary, an asset this far from its own town hall is a typing mistake
# (no municipality outside the Ogasawara islands spans more).
MAX_FROM_TOWN_HALL_M = 80_000


def check_fields(fields: AssetFields, held_slots: int = 0) -> None:
    """Checks within one asset; `held_slots` is its current_tenants (0 for a new asset)."""
    g = fields.geometry
    if not isinstance(g, Point) and fields.category not in POLYGON_CATEGORIES:
        raise invalid_field("geometry", tr("a {category} is a Point; polygons are for {value}",
                                           category=fields.category, value=', '.join(sorted(POLYGON_CATEGORIES))))
    if isinstance(g, Point):
        check_position("geometry", g.coordinates[0], g.coordinates[1])
    else:
        vertices = count_vertices(g)
        if vertices > MAX_ASSET_VERTICES:
            raise invalid_field("geometry", tr("has {vertices} vertices; an asset outline needs at most "
                                               "{max_asset_vertices}: simplify it",
                                               vertices=f"{vertices:,}", max_asset_vertices=f"{MAX_ASSET_VERTICES:,}"))
        polygons = [g.coordinates] if isinstance(g, Polygon) else g.coordinates
        for polygon in polygons:
            for ring in polygon:
                if ring[0] != ring[-1]:
                    raise invalid_field("geometry", tr("a polygon ring must end at the point where it "
                                                       "starts"))
                for position in ring:
                    check_position("geometry", position[0], position[1])
    if fields.mountable_height_m is not None and fields.height_m is not None \
            and fields.mountable_height_m > fields.height_m:
        raise invalid_field("mountable_height_m", tr("cannot exceed height_m"))
    if held_slots > fields.max_tenants:
        raise invalid_field("max_tenants", tr("cannot be below the {held_slots} slots that approved or "
                                              "installed applications hold; terminate one of them first",
                                              held_slots=held_slots))


async def checked_geometry(db: asyncpg.Connection, geometry: Point | Polygon | MultiPolygon,
                           municipality_code: str) -> str:
    """The GeoJSON text to store, after PostGIS has confirmed it is valid and where it belongs."""
    text = msgspec.json.encode(geometry).decode()
    try:
        async with db.transaction():  # a savepoint: a parse error must not abort the request's transaction
            found = await queries.geometry_check(db, text, municipality_code)
    except asyncpg.PostgresError as exc:
        raise invalid_field("geometry", tr("PostGIS cannot read it: {exc}", exc=exc)) from exc
    if found is None:
        raise invalid_field("municipality_code", tr("no municipality {municipality_code}",
                                                    municipality_code=municipality_code))
    if not found.valid:
        raise invalid_field("geometry", tr("is not a valid geometry ({reason}); a polygon must not cross "
                                           "itself", reason=found.reason))
    if found.in_boundary is False:
        raise invalid_field("geometry", tr("lies outside the boundary of {municipality_name}",
                                           municipality_name=found.municipality_name))
    if found.in_boundary is None and found.from_town_hall_m > MAX_FROM_TOWN_HALL_M:
        km = found.from_town_hall_m / 1000
        raise invalid_field("geometry", tr("lies {km} km from the town hall of {municipality_name}; check "
                                           "the coordinates (GeoJSON is [longitude, latitude])",
                                           km=f"{km:,.0f}", municipality_name=found.municipality_name))
    return text


def field_values(data: AssetFields) -> dict[str, Any]:
    return {f: getattr(data, f) for f in AssetFields.__struct_fields__}


async def write_checks(db: asyncpg.Connection, data: AssetFields, owner: str, asset_id: str | None,
                       held_slots: int = 0) -> str:
    """Every check before a write; the GeoJSON text to store."""
    check_fields(data, held_slots)
    geometry = await checked_geometry(db, data.geometry, owner)
    taken = await queries.source_id_owner(db, owner, data.source_id)
    if taken and taken != asset_id:
        raise Conflict(tr("source_id {source_id} is already used by asset {taken} of {owner}; update that "
                          "asset instead",
                          source_id=f"{data.source_id!r}", taken=taken, owner=owner))
    return geometry


def merged(current: AssetFeature, change: AssetPatch) -> AssetFields:
    """The stored asset with the sent fields applied, validated as a whole again."""
    props = current.properties
    stored: dict[str, Any] = {f: getattr(props, f) for f in AssetFields.__struct_fields__ if f != "geometry"}
    stored["geometry"] = msgspec.json.decode(current.geometry)
    sent = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not msgspec.UNSET}
    if "geometry" in sent:
        sent["geometry"] = msgspec.to_builtins(sent["geometry"])
    try:
        return msgspec.convert({**stored, **sent}, AssetFields, from_attributes=False)
    except msgspec.ValidationError as exc:
        raise shape_problem(exc) from exc
