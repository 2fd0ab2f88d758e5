"""Mapbox Vector Tiles of the catalogue for the asset map, encoded by PostGIS (ST_AsMVT, see tile_queries.TILE).

Restricted assets appear at their coarse place, as everywhere else in the catalogue. The row may carry
the `.pbf` or `.mvt` ending map clients and GDAL's MVT driver expect (`/v1/tiles/assets/7/113/50.pbf`).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get
from litestar.params import Parameter

from registry.assets import tile_queries
from registry.assets.search import build_filter
from registry.etags import content_tag
from registry.i18n import tr
from registry.problems import invalid_field

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
MAX_FEATURES = 50_000
_TILE_INDEX = {"minimum": 0, "maximum": 2**MAX_ZOOM - 1}
_ROW = {"pattern": r"^[0-9]{1,7}(\.(pbf|mvt))?$"}
_ENDINGS = (".pbf", ".mvt")


def tile_address(z: int, x: str | int, y: str | int) -> tuple[int, int]:
    """Column and row of a tile in the WebMercatorQuad pyramid, each optionally ending in .pbf or .mvt."""
    if not 0 <= z <= MAX_ZOOM:
        raise invalid_field("z", tr("zoom must be 0 to {max_zoom}", max_zoom=MAX_ZOOM))
    column, row = _index(x, "x"), _index(y, "y")
    if not (0 <= column < 2**z and 0 <= row < 2**z):
        raise invalid_field("x", tr("at zoom {z}, x and y run from 0 to {value}", z=z, value=2 ** z - 1))
    return column, row


def _index(value: str | int, field: str) -> int:
    text = str(value)
    for ending in _ENDINGS:
        text = text.removesuffix(ending)
    if not text.lstrip("-").isdigit():
        raise invalid_field(field, tr("{value} is not a tile index: a whole number, optionally with .pbf "
                                      "or .mvt", value=f"{value!r}"))
    return int(text)


@get("/v1/tiles/assets/{z:int}/{x:int}/{y:str}", tags=["search"], media_type=MVT,
     summary="The asset map as Mapbox Vector Tiles (layer `assets`)")
async def asset_tile(
    request: Request, db: asyncpg.Connection,
    z: Annotated[int, Parameter(description="zoom", schema_extra={"minimum": 0, "maximum": MAX_ZOOM})],
    x: Annotated[int, Parameter(description="column, 0 to 2^z - 1", schema_extra=_TILE_INDEX)],
    y: Annotated[str, Parameter(description="row, 0 to 2^z - 1, optionally with .pbf or .mvt", schema_extra=_ROW)],
    category: Annotated[str | None, Parameter(description="comma-separated categories")] = None,
    availability: Annotated[str | None, Parameter(description="comma-separated availabilities")] = None,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
) -> Response[bytes]:
    column, row = tile_address(z, x, y)
    flt = build_filter(category=category, availability=availability, prefecture=prefecture)
    tile = await tile_queries.tile(db, z, column, row, flt, MAX_FEATURES)
    tag = content_tag(tile)
    headers = {"ETag": tag, "Cache-Control": "private, max-age=60"}
    if request.headers.get("if-none-match") == tag:
        return Response(b"", status_code=304, headers=headers, media_type=MVT)
    return Response(tile, media_type=MVT, headers=headers)


route_handlers = [asset_tile]
