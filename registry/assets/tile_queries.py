"""Mapbox Vector Tiles of the catalogue (registry/assets/tiles.py, registry/ogc/tiles.py): fixed SQL, $n parameters."""

from __future__ import annotations

import asyncpg

from registry.assets.search import SearchFilter

# --- vector tiles -------------------------------------------------------------------------------------

# The tile envelope is transformed to the table's EPSG:4326 for the index; only the few rows in the
# tile are projected to Web Mercator for encoding.
TILE = """
with bounds as (select ST_TileEnvelope($1, $2, $3) as merc)
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_AsMVTGeom(ST_Transform(c.geom, 3857), bounds.merc, 4096, 64, true) as geom,
         c.asset_id::text as asset_id, c.municipality_code::text as municipality_code, c.category, c.name,
         c.availability, c.height_m::float8 as height_m, c.power, c.fibre_distance_m::float8 as fibre_distance_m,
         c.mountable_height_m::float8 as mountable_height_m, c.spare_load_kg::float8 as spare_load_kg,
         c.current_tenants, c.max_tenants, c.coarse
    from asset_catalogue c, bounds
   where c.geom && ST_Transform(bounds.merc, 4326)
     and ($4::text[] is null or c.category = any($4))
     and ($5::text[] is null or c.availability = any($5))
     and ($6::text is null or left(c.municipality_code, 2) = $6)
   order by c.municipality_code, c.asset_id  -- same data, same bytes, same ETag (a parallel scan's order is not)
   limit $7) t
"""


# Below DETAIL_ZOOM a tile spans more than ~10 km and may hold every asset of a prefecture (15,170 in
# Tokyo's demo data, ~1.5 MB as points): assets are gathered into cells of CELL tile units (64 of 4096,
# 16 px on a 256 px tile), one point per cell with `point_count` and the cell's most common category and
# availability, so a tile holds at most 64 x 64 = 4,096 features (~100 KB). The same catalogue view is
# read, so restricted assets are counted at their coarse place exactly as in the detailed tiles.
DETAIL_ZOOM = 12
CELL = 64
TILE_CELLS = """
with bounds as (select ST_TileEnvelope($1, $2, $3) as merc),
points as (
  select ST_AsMVTGeom(ST_Transform(ST_PointOnSurface(c.geom), 3857), bounds.merc, 4096, 0, true) as geom,
         c.category, c.availability
    from asset_catalogue c, bounds
   where c.geom && ST_Transform(bounds.merc, 4326)
     and ($4::text[] is null or c.category = any($4))
     and ($5::text[] is null or c.availability = any($5))
     and ($6::text is null or left(c.municipality_code, 2) = $6))
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_SnapToGrid(geom, $7) as geom, count(*)::int as point_count,
         mode() within group (order by category) as category,
         mode() within group (order by availability) as availability
    from points where geom is not null
   group by ST_SnapToGrid(geom, $7)
   order by ST_Y(ST_SnapToGrid(geom, $7)), ST_X(ST_SnapToGrid(geom, $7))) t
"""


async def tile(db: asyncpg.Connection, z: int, x: int, y: int, f: SearchFilter, max_features: int) -> bytes:
    """The Mapbox Vector Tile of the catalogue at z/x/y, filtered by category, availability and prefecture:
    every asset from DETAIL_ZOOM on, cells with counts below it."""
    if z < DETAIL_ZOOM:
        return await db.fetchval(TILE_CELLS, z, x, y, f.categories, f.availabilities, f.prefecture,
                                 float(CELL)) or b""
    return await db.fetchval(TILE, z, x, y, f.categories, f.availabilities, f.prefecture, max_features) or b""


