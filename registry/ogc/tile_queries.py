"""The priority-area vector tile (the asset tile is registry/assets/tile_queries.tile)."""

from __future__ import annotations

import asyncpg

# Polygons are clipped to the tile with a 64-unit buffer so that outlines do not show seams; ST_AsMVTGeom
# snaps them to the 4,096-unit grid, which drops the vertices a low zoom cannot show.
AREA_TILE = """
with bounds as (select ST_TileEnvelope($1, $2, $3) as merc)
select ST_AsMVT(t, 'priority_areas', 4096, 'geom') from (
  select ST_AsMVTGeom(ST_Transform(a.geom, 3857), bounds.merc, 4096, 64, true) as geom,
         a.area_id::text as area_id, a.prefecture_code::text as prefecture_code, a.kind, a.name
    from priority_areas a, bounds
   where a.geom && ST_Transform(bounds.merc, 4326)
   order by a.prefecture_code, a.area_id) t
 where t.geom is not null
"""


async def area_tile(db: asyncpg.Connection, z: int, x: int, y: int) -> bytes:
    """The Mapbox Vector Tile of the priority areas at z/x/y (layer `priority_areas`)."""
    return await db.fetchval(AREA_TILE, z, x, y) or b""
