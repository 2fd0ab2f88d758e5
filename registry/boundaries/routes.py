"""Municipal boundaries (reference data, `registry load boundaries`) as Mapbox Vector Tiles for the web map.

Public reference data (国土数値情報 N03), so any signed-in role reads every municipality's outline; the
prefecture view shades its municipalities' polygons by asset count with them.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get
from litestar.params import Parameter

from registry.assets.tiles import MAX_ZOOM, MVT, tile_address
from registry.boundaries import queries
from registry.etags import content_tag
from registry.params import parse_prefecture_number

_TILE_INDEX = {"minimum": 0, "maximum": 2**MAX_ZOOM - 1}
_ROW = {"pattern": r"^[0-9]{1,7}(\.(pbf|mvt))?$"}


@get("/v1/tiles/boundaries/{z:int}/{x:int}/{y:str}", tags=["reference"], media_type=MVT,
     summary="Municipal boundaries as Mapbox Vector Tiles (layer `boundaries`: code, name, prefecture)",
     description="Empty (200, no bytes) where no boundary is loaded (`registry load boundaries`).")
async def boundary_tile(
    request: Request, db: asyncpg.Connection,
    z: Annotated[int, Parameter(description="zoom", schema_extra={"minimum": 0, "maximum": MAX_ZOOM})],
    x: Annotated[int, Parameter(description="column, 0 to 2^z - 1", schema_extra=_TILE_INDEX)],
    y: Annotated[str, Parameter(description="row, 0 to 2^z - 1, optionally with .pbf or .mvt", schema_extra=_ROW)],
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001): only its "
                                                            "municipalities")] = None,
) -> Response[bytes]:
    column, row = tile_address(z, x, y)
    tile = await queries.tile(db, z, column, row, parse_prefecture_number(prefecture))
    tag = content_tag(tile)
    # Boundaries change only when an operator reloads them: an hour in the browser's cache.
    headers = {"ETag": tag, "Cache-Control": "private, max-age=3600"}
    if request.headers.get("if-none-match") == tag:
        return Response(b"", status_code=304, headers=headers, media_type=MVT)
    return Response(tile, media_type=MVT, headers=headers)


route_handlers = [boundary_tile]
