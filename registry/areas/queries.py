"""Priority-area SQL."""

from __future__ import annotations

import asyncpg
import msgspec

from registry.areas.models import AreaCoverage, AreaFeature, AreaProperties

_COLUMNS = """a.area_id::text, a.prefecture_code::text, a.kind, a.name, a.source_id, a.version, a.updated_at,
  ST_AsGeoJSON(a.geom, 7) as geometry"""

INSERT = f"""
insert into priority_areas as a (prefecture_code, kind, name, source_id, geom)
values ($1, $2, $3, $4, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)))
returning {_COLUMNS}
"""

VALIDITY = "select ST_IsValid(g), ST_IsValidReason(g) from (select ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) g) x"

LIST = f"""
select {_COLUMNS} from priority_areas a
 where ($1::text is null or left(a.prefecture_code, 2) = $1)
   and ($2::text is null or a.kind = $2)
   and ($3::uuid is null or a.area_id > $3)
 order by a.area_id
 limit $4
"""

DELETE = "delete from priority_areas where area_id = $1 returning area_id"

# The envelope grows by the distance in degrees (a degree of longitude is at least 77 km in
# Japan) so the index finds candidates; the geography test keeps exact metres.
COVERAGE = """
select a.area_id::text, a.prefecture_code::text, a.kind, a.name,
       (select count(*) from asset_catalogue c
         where c.availability = any($3)
           and c.geom && ST_Expand(a.geom, $4 / 77000.0)
           and ($4 = 0 and ST_Intersects(c.geom, a.geom)
                or $4 > 0 and ST_DWithin(c.geom::geography, a.geom::geography, $4))) as assets
  from priority_areas a
 where ($1::text is null or left(a.prefecture_code, 2) = $1)
   and ($2::text is null or a.kind = $2)
 order by a.prefecture_code, a.kind, a.name
 limit 5000
"""


def feature(row: asyncpg.Record) -> AreaFeature:
    return AreaFeature(id=row["area_id"], geometry=msgspec.Raw(row["geometry"].encode()),
                       properties=AreaProperties(area_id=row["area_id"], prefecture_code=row["prefecture_code"],
                                                 kind=row["kind"], name=row["name"], source_id=row["source_id"],
                                                 version=row["version"], updated_at=row["updated_at"]))


async def coverage(db: asyncpg.Connection, prefecture: str | None, kind: str | None, availability: list[str],
                   distance: float) -> list[AreaCoverage]:
    rows = await db.fetch(COVERAGE, prefecture, kind, availability, distance)
    return [AreaCoverage(r["area_id"], r["prefecture_code"], r["kind"], r["name"], r["assets"]) for r in rows]
