"""Municipal boundaries as vector tiles: fixed statements with $n parameters, encoded by PostGIS."""

from __future__ import annotations

import asyncpg

# One tile unit (a 4096th of the tile's width) in Web Mercator metres at zoom z: the equator's
# 40,075,016.686 m over 2^z tiles. Outlines are simplified to that before encoding (ST_AsMVTGeom would
# snap them to it anyway), so a zoom-6 tile of a prefecture's N03 coastlines (up to ~10^5 vertices per
# municipality) is encoded from a few hundred vertices each.
EQUATOR_M = 40_075_016.686
TILE_UNITS = 4096

TILE = """
with bounds as (select ST_TileEnvelope($1, $2, $3) as merc)
select ST_AsMVT(t, 'boundaries', 4096, 'geom') from (
  select ST_AsMVTGeom(ST_SimplifyPreserveTopology(ST_Transform(b.geom, 3857), $4), bounds.merc, 4096, 64, true)
           as geom,
         b.code::text as code, m.name, left(b.code, 2) as prefecture
    from municipality_boundaries b join municipalities m on m.code = b.code, bounds
   where b.geom && ST_Transform(bounds.merc, 4326)
     and ($5::text is null or left(b.code, 2) = $5)) t
 where t.geom is not null
"""


async def tile(db: asyncpg.Connection, z: int, x: int, y: int, prefecture: str | None) -> bytes:
    """The boundaries of every loaded municipality at z/x/y (of one prefecture when given), layer `boundaries`
    with `code`, `name` and `prefecture`; empty when none is loaded there."""
    unit = EQUATOR_M / 2**z / TILE_UNITS
    return await db.fetchval(TILE, z, x, y, unit, prefecture) or b""
