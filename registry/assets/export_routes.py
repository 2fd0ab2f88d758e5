"""Every match of a catalogue search as one download (GET /v1/assets/export): CSV (streamed), XLSX,
GeoPackage, or the 自治体標準オープンデータセット 公共施設一覧 layout a municipality publishes as open data.

The paged form (`GET /v1/assets?f=csv`, 1,000 rows a page with a `next` link) stays; this answers every
match in one request (up to the export cap), for a spreadsheet of a whole prefecture or a layer for QGIS.
The search parameters are the search's own dependency (search_routes.SEARCH_FILTER).
"""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, get
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import File, Stream

from registry.assets import export, gpkg
from registry.assets.search import SearchFilter
from registry.assets.search_routes import SEARCH_FILTER
from registry.exports.answer import (
    DESCRIPTION,
    PRECOMPRESSED,
    Encoding,
    Header,
    coding_for,
    file_sent,
    parse_options,
)
from registry.exports.table import ExportOptions


def _options(
    f: Annotated[Literal["csv", "xlsx", "gpkg"],
                 Parameter(description="csv (streamed), xlsx or gpkg (GeoPackage)")] = "csv",
    encoding: Encoding = "utf-8", header: Header = None,
) -> ExportOptions:
    if f == "gpkg":
        parse_options("csv", encoding, header)
        return ExportOptions(fmt="gpkg")
    return parse_options(f, encoding, header)


@get("/v1/assets/export", tags=["search"], media_type="text/csv", opt={PRECOMPRESSED: True}, dependencies={
         "flt": SEARCH_FILTER, "options": Provide(_options, sync_to_thread=False)},
     summary="Every match of a catalogue search as one CSV, XLSX, GeoPackage or 公共施設一覧 file",
     description="The filters of GET /v1/assets, no page: every asset the search matches, in its order, as CSV "
                 "(streamed; UTF-8 with a BOM or CP932 with `encoding=cp932`; formula-like text cells are "
                 "neutralised), XLSX (`f=xlsx`: Japanese headers the file loader reads back, enumerations as "
                 "Japanese labels), or, with `f=gpkg`, a GeoPackage (application/geopackage+sqlite3, layer "
                 "`assets`, EPSG:4326). `layout=opendata` writes the 自治体標準オープンデータセット 公共施設一覧 "
                 "columns (CSV or XLSX). " + DESCRIPTION + " "
                 "Restricted assets show only the centre of their ~1 km mesh and no address to those outside "
                 "the owner's prefecture, as in the search.")
async def export_assets(
    request: Request, flt: SearchFilter, options: ExportOptions,
    layout: Annotated[Literal["registry", "opendata"], Parameter(
        description="CSV and XLSX: registry (every attribute) or opendata (自治体標準オープンデータセット "
                    "公共施設一覧)",
    )] = "registry",
) -> Stream | File:
    coding = coding_for(request)  # the route compresses its own answers (opt PRECOMPRESSED)
    if options.fmt == "gpkg":  # every attribute, whatever the layout (documented: layout is for CSV and XLSX)
        path = await gpkg.write(request.app.state.pool, request.user, flt)
        if coding is None:
            return File(path, filename="assets.gpkg", media_type=gpkg.MEDIA_TYPE,
                        background=BackgroundTask(gpkg.discard, path))
        return await file_sent(path, "assets.gpkg", gpkg.MEDIA_TYPE, None, {}, coding)
    return await export.export(request, flt, options, layout, coding)


route_handlers = [export_assets]
