"""Catalogue search (everyone): GeoJSON or CSV, by box, radius or polygon, a page at a time."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from registry.assets import queries
from registry.assets.export import to_csv
from registry.assets.models import AssetCollection, AssetSearchBody, Link
from registry.assets.rules import MAX_RADIUS_M, NUMBERS
from registry.assets.search import ADDRESS, SearchFilter, build_filter
from registry.db.pool import AUTOCOMMIT, autocommit_connection
from registry.exports.answer import csv_response
from registry.negotiation import csv_charset, negotiate
from registry.pagination import PageRequest, next_after, page_of, page_request
from registry.params import parse_uuid

GEOJSON = "application/geo+json"


def _bounds(column: str) -> dict[str, float]:
    """A numeric filter's documented bounds: those of the column it compares with."""
    return {"minimum": NUMBERS[column].low, "maximum": NUMBERS[column].high}
Format = Literal["geojson", "csv"]


def _page(request: Request, flt: SearchFilter, after: str | None, limit: int) -> PageRequest:
    """The page wanted; a near search continues after (distance, id), the others after (code, id)."""
    first = float if flt.mode == "near" else str
    wanted = page_request(request, after, limit, 2, types=(first, str))
    if wanted.after is not None:
        parse_uuid(wanted.after[1], "after")
    return wanted


class _PassedThrough(msgspec.Struct, kw_only=True, tag="FeatureCollection", tag_field="type", omit_defaults=True):
    """AssetCollection with the features as PostgreSQL wrote them (queries.search_page): the same JSON."""

    features: msgspec.Raw  # the whole array
    links: list[Link] = []
    numberReturned: int = 0
    numberMatched: int | None = None
    next: str | None = None


async def _run_search(request: Request, db: asyncpg.Connection, flt: SearchFilter, after: str | None, limit: int,
                      count: bool, f: Format | None, encoding: str) -> Response[AssetCollection]:
    fmt = negotiate(request, f, ("geojson", "csv"))
    charset = csv_charset(encoding)  # checked whatever the format, so a mistyped encoding is never ignored
    wanted = _page(request, flt, after, limit)
    if fmt == "csv":
        hits = await queries.search(db, flt, wanted.after, wanted.fetch)
        by_distance = flt.mode == "near"
        rows = page_of(request, hits, wanted, key=lambda h: [h.feature.properties.distance_m if by_distance
                                                             else h.feature.properties.municipality_code,
                                                             h.feature.id])
        links = {"Link": f'<{rows.next}>; rel="next"'} if rows.next else {}
        body, reported = to_csv(rows.items, encoding)
        return csv_response(body, charset, "assets.csv", {**links, **reported})
    found = await queries.search_page(db, flt, wanted.after, wanted.fetch)
    following = next_after(request, found.fetched, wanted, lambda: found.last_key)
    links = {"Link": f'<{following}>; rel="next"'} if following else {}
    matched = await queries.count(db, flt) if count else None
    body = _PassedThrough(features=msgspec.Raw(b"[" + found.features + b"]"),
                          numberReturned=min(found.fetched, wanted.limit), numberMatched=matched, next=following,
                          links=[Link(following, "next")] if following else [])
    return Response(body, media_type=GEOJSON, headers=links)  # type: ignore[arg-type]


def search_filter(
    bbox: Annotated[str | None, Parameter(description="minLon,minLat,maxLon,maxLat")] = None,
    near: Annotated[str | None, Parameter(description="lon,lat; sorts by distance")] = None,
    radius: Annotated[float | None, Parameter(description="metres from `near`, 1-50,000",
                                              schema_extra={"minimum": 1, "maximum": MAX_RADIUS_M})] = None,
    within: Annotated[str | None, Parameter(description="GeoJSON Polygon; POST /v1/assets/search for big ones")
                      ] = None,
    category: Annotated[str | None, Parameter(description="comma-separated categories")] = None,
    availability: Annotated[str | None, Parameter(description="comma-separated availabilities")] = None,
    min_height: Annotated[float | None, Parameter(description="metres", schema_extra=_bounds("height_m"))] = None,
    power: Annotated[str | None, Parameter(description="yes, no or unknown")] = None,
    max_fibre_distance: Annotated[float | None, Parameter(description="metres",
                                                          schema_extra=_bounds("fibre_distance_m"))] = None,
    municipality: Annotated[str | None, Parameter(description="6-digit code")] = None,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
    updated_since: Annotated[str | None, Parameter(description="RFC 3339 date-time with its time zone",
                                                   schema_extra={"format": "date-time"})] = None,
    min_mountable_height: Annotated[float | None, Parameter(description="metres",
                                                            schema_extra=_bounds("mountable_height_m"))] = None,
    min_spare_load: Annotated[float | None, Parameter(description="kg", schema_extra=_bounds("spare_load_kg"))] = None,
    min_free_slots: Annotated[int | None, Parameter(description="max_tenants - current_tenants",
                                                    schema_extra=_bounds("max_tenants"))] = None,
    address: Annotated[str | None, Parameter(description=ADDRESS)] = None,
) -> SearchFilter:
    """The catalogue search's query parameters, parsed once into a validated filter: GET /v1/assets and
    GET /v1/assets/export take them through this one dependency (`SEARCH_FILTER`)."""
    return build_filter(bbox=bbox, near=near, radius=radius, within=within, category=category,
                        availability=availability, min_height=min_height, power=power,
                        max_fibre_distance=max_fibre_distance, municipality=municipality, prefecture=prefecture,
                        updated_since=updated_since, min_mountable_height=min_mountable_height,
                        min_spare_load=min_spare_load, min_free_slots=min_free_slots, address=address)


SEARCH_FILTER = Provide(search_filter, sync_to_thread=False)
"""For `dependencies={"flt": SEARCH_FILTER}`: the route then takes `flt: SearchFilter`."""


# AUTOCOMMIT: the search only reads, one statement per query, so it runs without BEGIN and COMMIT (issue
# 13: two round trips per request instead of four); with count=true the page and numberMatched are two
# statements, each consistent on its own.
@get("/v1/assets", tags=["search"], summary="Search the asset catalogue", media_type=GEOJSON,
     dependencies={"flt": SEARCH_FILTER}, opt={AUTOCOMMIT: True},
     description="GeoJSON FeatureCollection (or CSV with Accept: text/csv or f=csv). Restricted assets show only "
                 "the centre of their ~1 km mesh and no address to those outside the owner's prefecture.")
async def search_assets(
    request: Request, flt: SearchFilter,
    after: Annotated[str | None, Parameter(description="cursor from `next`")] = None,
    limit: Annotated[int, Parameter(description="1-1000")] = 100,
    count: Annotated[bool, Parameter(description="include numberMatched")] = False,
    f: Annotated[Format | None, Parameter(description="geojson or csv (else the Accept header decides)")] = None,
    encoding: Annotated[str, Parameter(description="CSV encoding: utf-8 (BOM) or cp932")] = "utf-8",
) -> Response[AssetCollection]:
    # Not `db`, which Litestar would resolve beside `flt` in a task group (pool.autocommit_connection).
    return await _run_search(request, autocommit_connection(request), flt, after, limit, count, f, encoding)


@post("/v1/assets/search", tags=["search"], summary="Search inside a large polygon", status_code=200,
      media_type=GEOJSON, request_max_body_size=2_000_000)
async def search_assets_within(
    request: Request, db: asyncpg.Connection, data: AssetSearchBody,
    count: bool = False, f: Format | None = None, encoding: str = "utf-8",
) -> Response[AssetCollection]:
    flt = build_filter(within=data.within, category=data.category, availability=data.availability,
                       min_height=data.min_height, power=data.power, max_fibre_distance=data.max_fibre_distance,
                       municipality=data.municipality, prefecture=data.prefecture, updated_since=data.updated_since,
                       min_mountable_height=data.min_mountable_height, min_spare_load=data.min_spare_load,
                       min_free_slots=data.min_free_slots, address=data.address)
    return await _run_search(request, db, flt, data.after, data.limit, count, f, encoding)


route_handlers = [search_assets, search_assets_within]
