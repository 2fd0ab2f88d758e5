"""Mapbox Vector Tiles of the catalogue for the asset map, encoded by PostGIS (ST_AsMVT).

The tile envelope is transformed to the table's EPSG:4326 for the index; only the few rows in the
tile are projected to Web Mercator for encoding. Restricted assets appear at their coarse place,
as everywhere else in the catalogue.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import asyncpg
from litestar import Request, Response, get
from litestar.params import Parameter

from registry.assets.search import build_filter
from registry.problems import invalid_field

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
MAX_FEATURES = 50_000

TILE = """
with bounds as (select ST_TileEnvelope($1, $2, $3) as merc)
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_AsMVTGeom(ST_Transform(c.geom, 3857), bounds.merc, 4096, 64, true) as geom,
         c.asset_id::text as asset_id, c.municipality_code::text as municipality_code, c.category, c.name,
         c.availability, c.height_m::float8 as height_m, c.power, c.fibre_distance_m::float8 as fibre_distance_m,
         c.current_tenants, c.max_tenants, c.coarse
    from asset_catalogue c, bounds
   where c.geom && ST_Transform(bounds.merc, 4326)
     and ($4::text[] is null or c.category = any($4))
     and ($5::text[] is null or c.availability = any($5))
     and ($6::text is null or left(c.municipality_code, 2) = $6)
   limit $7) t
"""


@get("/v1/tiles/assets/{z:int}/{x:int}/{y:int}", tags=["search"], media_type=MVT,
     summary="The asset map as Mapbox Vector Tiles (layer `assets`)")
async def asset_tile(
    request: Request, db: asyncpg.Connection, z: int, x: int, y: int,
    category: Annotated[str | None, Parameter(description="comma-separated categories")] = None,
    availability: Annotated[str | None, Parameter(description="comma-separated availabilities")] = None,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
) -> Response[bytes]:
    if not 0 <= z <= MAX_ZOOM:
        raise invalid_field("z", f"zoom must be 0 to {MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise invalid_field("x", f"at zoom {z}, x and y run from 0 to {2**z - 1}")
    flt = build_filter(category=category, availability=availability, prefecture=prefecture)
    tile: bytes = await db.fetchval(TILE, z, x, y, flt.categories, flt.availabilities, flt.prefecture,
                                    MAX_FEATURES) or b""
    tag = '"' + hashlib.blake2b(tile, digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": "private, max-age=60"}
    if request.headers.get("if-none-match") == tag:
        return Response(b"", status_code=304, headers=headers, media_type=MVT)
    return Response(tile, media_type=MVT, headers=headers)


route_handlers = [asset_tile]
