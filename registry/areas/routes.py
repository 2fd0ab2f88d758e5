"""Priority areas: prefectures maintain them, everyone reads them, coverage shows the gaps."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, delete, get, post
from litestar.params import Parameter

from registry.areas import queries
from registry.areas.models import AreaCollection, AreaCreate, AreaFeature, AreaKind, CoverageReport
from registry.assets.models import AVAILABILITIES, Link
from registry.assets.search import parse_within
from registry.auth.guards import requires
from registry.pagination import check_limit, decode_cursor, encode_cursor, next_link
from registry.params import parse_prefecture, parse_prefecture_number, parse_uuid
from registry.principal import Principal
from registry.problems import Forbidden, NotFound, invalid_field

GEOJSON = "application/geo+json"
MAX_COVERAGE_DISTANCE_M = 5_000


def _kind(value: str | None) -> str | None:
    allowed: tuple[str, ...] = AreaKind.__args__  # type: ignore[attr-defined]
    if value is not None and value not in allowed:
        raise invalid_field("kind", f"unknown kind {value!r}; choose from {', '.join(allowed)}")
    return value


def _owner_prefecture(principal: Principal, requested: str | None) -> str:
    if principal.role == "admin":
        if requested is None:
            raise invalid_field("prefecture_code", "admins name the prefecture the area belongs to")
        return parse_prefecture(requested, "prefecture_code") or ""
    if requested is not None and parse_prefecture(requested, "prefecture_code") != principal.tenant_code:
        raise Forbidden(f"Your key maintains the priority areas of {principal.tenant_code} only.")
    return principal.tenant_code


@post("/v1/priority-areas", tags=["priority areas"], summary="Add a 5G priority area",
      guards=[requires("prefecture", "admin")], media_type=GEOJSON, request_max_body_size=2_000_000)
async def create_area(request: Request, db: asyncpg.Connection, data: AreaCreate) -> AreaFeature:
    prefecture = _owner_prefecture(request.user, data.prefecture_code)
    geometry = parse_within(data.geometry, "geometry")
    async with db.transaction():
        valid, reason = await db.fetchrow(queries.VALIDITY, geometry)
    if not valid:
        raise invalid_field("geometry", f"is not a valid polygon ({reason})")
    row = await db.fetchrow(queries.INSERT, prefecture, data.kind, data.name, data.source_id, geometry)
    return queries.feature(row)


@get("/v1/priority-areas", tags=["priority areas"], summary="Priority areas", media_type=GEOJSON)
async def list_areas(
    request: Request, db: asyncpg.Connection,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
    kind: str | None = None, after: str | None = None, limit: Annotated[int, Parameter(description="1-1000")] = 500,
) -> Response[AreaCollection]:
    pref = parse_prefecture_number(prefecture)
    check_limit(limit, 1000)
    cursor = decode_cursor(after, 1)
    rows = await db.fetch(queries.LIST, pref, _kind(kind), cursor[0] if cursor else None,
                          limit + 1)
    features = [queries.feature(r) for r in rows[:limit]]
    nxt = next_link(request, encode_cursor([features[-1].id]) if len(rows) > limit else None)
    body = AreaCollection(features=features, next=nxt, links=[Link(nxt, "next")] if nxt else [])
    return Response(body, media_type=GEOJSON)


@delete("/v1/priority-areas/{area_id:str}", tags=["priority areas"], summary="Remove a priority area",
        guards=[requires("prefecture", "admin")])
async def delete_area(db: asyncpg.Connection, area_id: str) -> None:
    parse_uuid(area_id, "area_id")
    if await db.fetchval(queries.DELETE, area_id) is None:
        raise NotFound(f"No priority area {area_id} among those your key maintains.")


@get("/v1/priority-areas/coverage", tags=["priority areas"],
     summary="Offered assets per priority area, and the areas with none")
async def area_coverage(
    db: asyncpg.Connection,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
    kind: str | None = None,
    distance: Annotated[float, Parameter(description="metres around each area that also count, 0-5,000")] = 0,
    availability: Annotated[str, Parameter(description="comma-separated availabilities that count")
                            ] = "offered,partly_available",
) -> CoverageReport:
    if not 0 <= distance <= MAX_COVERAGE_DISTANCE_M:
        raise invalid_field("distance", f"must be 0 to {MAX_COVERAGE_DISTANCE_M:,} metres")
    counted = [a for a in availability.split(",") if a]
    if not counted or not set(counted) <= set(AVAILABILITIES):
        raise invalid_field("availability", f"choose from {', '.join(AVAILABILITIES)}")
    pref = parse_prefecture_number(prefecture)
    areas = await queries.coverage(db, pref, _kind(kind), counted, distance)
    return CoverageReport(distance, counted, areas, [a for a in areas if a.assets == 0])


route_handlers = [create_area, list_areas, delete_area, area_coverage]
