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
# 16 px on a 256 px tile), one point per cell at its centre with `point_count` and the cell's most common
# category and availability (ties: the first by name in C order), so a tile holds at most 64 x 64 = 4,096 features
# (~100 KB). The counts come from the summary asset_tile_cells (sql/145), kept by triggers, instead of the
# catalogue (13 s at zoom 4 before, bench/SUMMARIES.md): its row security shows each reader a restricted
# asset once, at its position or at its mesh centre, exactly as the catalogue does. Zooms 0-3 add up the
# zoom-4 rows (the summary's coarsest), shifting each cell to the coarser grid.
DETAIL_ZOOM = 12
CELL = 64
TILE_CELLS = """
with r as (
  select (((l.x << 6) | (l.cell & 63)) >> (l.z - $1)) & 63 as cx,
         (((l.y << 6) | (l.cell >> 6)) >> (l.z - $1)) & 63 as cy,
         l.n, l.top_category, l.top_availability, l.categories, l.availabilities, l.counts
    from asset_tile_cells l
   where l.z = greatest($1, 4)
     and l.x between $2 << (greatest($1, 4) - $1) and (($2 + 1) << (greatest($1, 4) - $1)) - 1
     and l.y between $3 << (greatest($1, 4) - $1) and (($3 + 1) << (greatest($1, 4) - $1)) - 1
     and ($4::text is null or l.prefecture = $4)),
c as (
  select cy, cx, count(*) as k, sum(n) as n, min(top_category) as top_category,
         min(top_availability) as top_availability, app.tile_concat(categories) as categories,
         app.tile_concat(availabilities) as availabilities, app.tile_concat(counts) as counts
    from r group by cy, cx having sum(n) > 0)
-- A cell of one row (most cells a carrier reads: 65 % at zoom 9 over Tokyo) takes the row's own most common
-- values; others count their slots.
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_Point(c.cx * 64 + 32, c.cy * 64 + 32) as geom, c.n::int as point_count,
         case when c.k = 1 then c.top_category
              else (select u.category from unnest(c.categories, c.counts) u(category, n)
                     group by 1 order by sum(u.n) desc, u.category collate "C" limit 1) end as category,
         case when c.k = 1 then c.top_availability
              else (select u.availability from unnest(c.availabilities, c.counts) u(availability, n)
                     group by 1 order by sum(u.n) desc, u.availability collate "C" limit 1) end as availability
    from c order by c.cy, c.cx) t  -- same data, same bytes, same ETag
"""

# With a category or availability filter each row's matching slots count, so every row is opened: its
# `slots` (sql/192), one bigint array of (count << 7) | (category index << 3) | availability index, indexes into
# app.tile_categories() / app.tile_availabilities() in C order. The filter becomes two bit masks; the slots
# that pass are summed per cell and category and per cell and availability in one hash aggregate, and each
# cell's most common value is the max of sum * 16 + (15 - index) (* 8 + 7 - index for availabilities): the
# largest sum, ties to the lower index, the first by name in C order, as the unfiltered tile breaks them.
# A filtered zoom-9 tile over Tokyo alone: 19.7-22.0 -> 13.0-14.0 ms of backend CPU for the four readers, same
# bytes (a lateral aggregate over each row's three parallel arrays before; bench/SUMMARIES.md, sql/192).
TILE_CELLS_FILTERED = """
with m as (
  select case when $4::text[] is null then -1
              else coalesce((select bit_or(1 << (array_position(app.tile_categories(), c) - 1)) from unnest($4) c), 0)
         end as cm,
         case when $5::text[] is null then -1
              else coalesce((select bit_or(1 << (array_position(app.tile_availabilities(), a) - 1)) from unnest($5) a),
                            0)
         end as am),
s as (
  select (((l.y << 6) | (l.cell >> 6)) >> (l.z - $1)) & 63 as cy,
         (((l.x << 6) | (l.cell & 63)) >> (l.z - $1)) & 63 as cx,
         v >> 7 as n, ((v >> 3) & 15)::int as c, (v & 7)::int as a
    from asset_tile_cells l cross join m cross join unnest(l.slots) v
   where l.z = greatest($1, 4)
     and l.x between $2 << (greatest($1, 4) - $1) and (($2 + 1) << (greatest($1, 4) - $1)) - 1
     and l.y between $3 << (greatest($1, 4) - $1) and (($3 + 1) << (greatest($1, 4) - $1)) - 1
     and ($6::text is null or l.prefecture = $6)
     and (m.cm >> ((v >> 3) & 15)::int) & 1 = 1 and (m.am >> (v & 7)::int) & 1 = 1),
g as (select cy, cx, c, a, sum(n)::int as n from s group by grouping sets ((cy, cx, c), (cy, cx, a))),
k as (
  select cy, cx, sum(n) filter (where c is not null) as n,
         max(n * 16 + 15 - c) filter (where c is not null) as kc, max(n * 8 + 7 - a) filter (where a is not null) as ka
    from g group by cy, cx)
select ST_AsMVT(t, 'assets', 4096, 'geom') from (
  select ST_Point(k.cx * 64 + 32, k.cy * 64 + 32) as geom, k.n::int as point_count,
         (app.tile_categories())[16 - (k.kc & 15)] as category,
         (app.tile_availabilities())[8 - (k.ka & 7)] as availability
    from k where k.n > 0 order by k.cy, k.cx) t  -- same data, same bytes, same ETag
"""


async def tile(db: asyncpg.Connection, z: int, x: int, y: int, f: SearchFilter, max_features: int) -> bytes:
    """The Mapbox Vector Tile of the catalogue at z/x/y, filtered by category, availability and prefecture:
    every asset from DETAIL_ZOOM on, cells with counts below it."""
    if z < DETAIL_ZOOM:
        sql, args = cells_query(z, x, y, f)
        return await db.fetchval(sql, *args) or b""
    return await db.fetchval(TILE, z, x, y, f.categories, f.availabilities, f.prefecture, max_features) or b""


def cells_query(z: int, x: int, y: int, f: SearchFilter) -> tuple[str, tuple[object, ...]]:
    """The statement and arguments of a tile below DETAIL_ZOOM: the filtered one only when a category or
    availability filter needs the slots."""
    if f.categories is None and f.availabilities is None:
        return TILE_CELLS, (z, x, y, f.prefecture)
    return TILE_CELLS_FILTERED, (z, x, y, f.categories, f.availabilities, f.prefecture)
