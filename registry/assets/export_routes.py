"""The whole catalogue search as one CSV download, streamed, or one GeoPackage (GET /v1/assets/export).

The paged form (`GET /v1/assets?f=csv`, 1,000 rows a page with a `next` link) stays; this answers
every match in one request, for a spreadsheet of a whole prefecture, or a layer for QGIS (`f=gpkg`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, get
from litestar.background_tasks import BackgroundTask
from litestar.params import Parameter
from litestar.response import File, Stream

from registry.assets import export, gpkg
from registry.assets.rules import MAX_RADIUS_M, NUMBERS
from registry.assets.search import ADDRESS, build_filter
from registry.negotiation import csv_charset
from registry.spreadsheet import csv_stream


def _bounds(column: str) -> dict[str, float]:
    """A numeric filter's documented bounds: those of the column it compares with (as the search's)."""
    return {"minimum": NUMBERS[column].low, "maximum": NUMBERS[column].high}


@get("/v1/assets/export", tags=["search"], summary="Every match of a catalogue search as one CSV or GeoPackage",
     media_type="text/csv",
     description="The filters of GET /v1/assets, no page: every asset the search matches, in its order, as CSV "
                 "(streamed; UTF-8 with a BOM or CP932 with `encoding=cp932`; formula-like text cells are "
                 "neutralised) or, with `f=gpkg`, as a GeoPackage (application/geopackage+sqlite3, layer "
                 "`assets`, EPSG:4326). "
                 "Restricted assets show only the centre of their ~1 km mesh and no address to those outside "
                 "the owner's prefecture, as in the search.")
async def export_assets(
    request: Request,
    bbox: Annotated[str | None, Parameter(description="minLon,minLat,maxLon,maxLat")] = None,
    near: Annotated[str | None, Parameter(description="lon,lat; sorts by distance")] = None,
    radius: Annotated[float | None, Parameter(description="metres from `near`, 1-50,000",
                                              schema_extra={"minimum": 1, "maximum": MAX_RADIUS_M})] = None,
    within: Annotated[str | None, Parameter(description="GeoJSON Polygon")] = None,
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
    encoding: Annotated[str, Parameter(description="utf-8 (with a BOM) or cp932")] = "utf-8",
    f: Annotated[Literal["csv", "gpkg"], Parameter(description="csv (streamed) or gpkg (GeoPackage)")] = "csv",
) -> Stream | File:
    charset = csv_charset(encoding)
    flt = build_filter(bbox=bbox, near=near, radius=radius, within=within, category=category,
                       availability=availability, min_height=min_height, power=power,
                       max_fibre_distance=max_fibre_distance, municipality=municipality, prefecture=prefecture,
                       updated_since=updated_since, min_mountable_height=min_mountable_height,
                       min_spare_load=min_spare_load, min_free_slots=min_free_slots, address=address)
    if f == "gpkg":
        path = await gpkg.write(request.app.state.pool, request.user, flt)
        return File(path, filename="assets.gpkg", media_type=gpkg.MEDIA_TYPE,
                    background=BackgroundTask(gpkg.discard, path))
    pieces = await export.primed(request.app.state.pool, request.user, flt, encoding)
    return csv_stream(pieces, charset, "assets.csv")


route_handlers = [export_assets]
