"""Priority areas: prefectures maintain them, everyone reads them, coverage shows the gaps."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, delete, get, post
from litestar.params import Parameter

from registry.areas import queries
from registry.areas.models import COUNTED_AS_OFFERED, AreaCollection, AreaCreate, AreaFeature, AreaKind, CoverageReport
from registry.assets.models import AVAILABILITIES, Link
from registry.assets.search import parse_within
from registry.auth.guards import requires
from registry.i18n import tr
from registry.pagination import page_of, page_request
from registry.params import parse_prefecture, parse_prefecture_number, parse_uuid
from registry.problems import NotFound, invalid_field
from registry.tenancy import acting_for

GEOJSON = "application/geo+json"
MAX_COVERAGE_DISTANCE_M = 5_000


def _kind(value: str | None) -> str | None:
    allowed: tuple[str, ...] = AreaKind.__args__  # type: ignore[attr-defined]
    if value is not None and value not in allowed:
        raise invalid_field("kind", tr("unknown kind {value}; choose from {allowed}",
                                       value=f"{value!r}", allowed=', '.join(allowed)))
    return value


@post("/v1/priority-areas", tags=["priority areas"], summary="Add a 5G priority area",
      guards=[requires("prefecture", "admin")], media_type=GEOJSON, request_max_body_size=2_000_000)
async def create_area(request: Request, db: asyncpg.Connection, data: AreaCreate) -> AreaFeature:
    prefecture = acting_for(request.user, data.prefecture_code, "prefecture_code", parse=parse_prefecture,
                            what="prefecture")
    geometry = parse_within(data.geometry, "geometry")
    reason = await queries.geometry_problem(db, geometry)
    if reason is not None:
        raise invalid_field("geometry", tr("is not a valid polygon ({reason})", reason=reason))
    return await queries.insert_area(db, prefecture, data.kind, data.name, data.source_id, geometry)


@get("/v1/priority-areas", tags=["priority areas"], summary="Priority areas", media_type=GEOJSON)
async def list_areas(
    request: Request, db: asyncpg.Connection,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
    kind: str | None = None, after: str | None = None,
    limit: Annotated[int, Parameter(description="page size, at most KYODO_PAGE_LIMIT (1,000 unless set)")] = 500,
) -> Response[AreaCollection]:
    pref = parse_prefecture_number(prefecture)
    wanted = page_request(request, after, limit, types=(str,))
    last = parse_uuid(wanted.after[0], "after") if wanted.after else None
    rows = await queries.list_areas(db, pref, _kind(kind), last, wanted.fetch)
    page = page_of(request, rows, wanted, key=lambda f: [f.id])
    body = AreaCollection(features=page.items, next=page.next, links=[Link(page.next, "next")] if page.next else [])
    return Response(body, media_type=GEOJSON)


@delete("/v1/priority-areas/{area_id:str}", tags=["priority areas"], summary="Remove a priority area",
        guards=[requires("prefecture", "admin")])
async def delete_area(db: asyncpg.Connection, area_id: str) -> None:
    if not await queries.delete_area(db, parse_uuid(area_id, "area_id")):
        raise NotFound(tr("No priority area {area_id} among those your key maintains.", area_id=area_id))


@get("/v1/priority-areas/coverage", tags=["priority areas"],
     summary="Offered assets per priority area, and the areas with none")
async def area_coverage(
    db: asyncpg.Connection,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
    kind: str | None = None,
    distance: Annotated[float, Parameter(description="metres around each area that also count, 0-5,000",
                                         schema_extra={"minimum": 0, "maximum": MAX_COVERAGE_DISTANCE_M})] = 0,
    availability: Annotated[str, Parameter(description="comma-separated availabilities that count")
                            ] = ",".join(COUNTED_AS_OFFERED),
) -> CoverageReport:
    if not 0 <= distance <= MAX_COVERAGE_DISTANCE_M:
        raise invalid_field("distance", tr("must be 0 to {max_coverage_distance_m} metres",
                                           max_coverage_distance_m=f"{MAX_COVERAGE_DISTANCE_M:,}"))
    counted = [a for a in availability.split(",") if a]
    if not counted or not set(counted) <= set(AVAILABILITIES):
        raise invalid_field("availability", tr("choose from {availabilities}",
                                               availabilities=', '.join(AVAILABILITIES)))
    pref = parse_prefecture_number(prefecture)
    areas = await queries.coverage(db, pref, _kind(kind), counted, distance)
    return CoverageReport(distance, counted, areas, [a for a in areas if a.assets == 0])


route_handlers = [create_area, list_areas, delete_area, area_coverage]
