"""Priority-area SQL: fixed text, $n parameters only."""

from __future__ import annotations

import asyncpg
import msgspec

from registry.areas.models import AreaCoverage, AreaFeature, AreaProperties

_COLUMNS = """a.area_id::text, a.prefecture_code::text, a.kind, a.name, a.source_id, a.version, a.updated_at,
  ST_AsGeoJSON(a.geom, 7) as geometry"""

# Other distances than 0 count the catalogue, one subquery per area. Citus cannot plan it (a subquery
# correlated from the reference table priority_areas into the distributed catalogue), and the forms it could
# plan were slower here (bench/CITUS_READS.md, Tokyo at 200 m, p50): the areas joined to the catalogue 22.5 s
# and the catalogue joined to the areas 21.0 s (PostgreSQL pushes no join condition into the catalogue's
# UNION ALL, and the areas' GiST index is not used under their row security), the catalogue near any area
# read once and paired with the areas 1.9 s, against 0.43-0.51 s this way. docs/scaling.md: not ready.
# The envelope grows by the distance in degrees (a degree of longitude is at least 77 km in
# Japan) so the index finds candidates; the geography test keeps exact metres.
_COVERAGE = """
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

# Distance 0 (the default) reads area_coverage_log (sql/090: assets per area x municipality x availability
# x place, kept current by triggers) instead of counting the catalogue under each area (Tokyo: 1,612 ms at
# 8 concurrent on the demo). A restricted asset counts at its place for readers who may see its owner's
# data, at its mesh centre for everyone else, as the catalogue shows it (the log's row security and the
# `place` condition). Added up per area in a CTE, then joined to the areas, so Citus can plan it: the log
# is distributed, the areas are a reference table, and a subquery correlated from a reference table into a
# distributed one (what this replaces) no municipality code can route (docs/scaling.md, "Citus").
_COVERAGE_SUMMARY = """
with counted as (
  select l.area_prefecture, l.area_id, sum(l.n) as assets
    from area_coverage_log l
   where ($1::text is null or left(l.area_prefecture, 2) = $1)
     and l.availability = any($3)
     and (l.place = 'p' or (l.place = 'e') = app.can_see_lg(l.municipality_code))
   group by 1, 2)
select a.area_id::text, a.prefecture_code::text, a.kind, a.name, coalesce(n.assets, 0)::bigint as assets
  from priority_areas a
  left join counted n on n.area_prefecture = a.prefecture_code and n.area_id = a.area_id
 where ($1::text is null or left(a.prefecture_code, 2) = $1)
   and ($2::text is null or a.kind = $2)
 order by a.prefecture_code, a.kind, a.name
 limit 5000
"""


def _feature(row: asyncpg.Record) -> AreaFeature:
    return AreaFeature(id=row["area_id"], geometry=msgspec.Raw(row["geometry"].encode()),
                       properties=AreaProperties(area_id=row["area_id"], prefecture_code=row["prefecture_code"],
                                                 kind=row["kind"], name=row["name"], source_id=row["source_id"],
                                                 version=row["version"], updated_at=row["updated_at"]))


async def coverage(db: asyncpg.Connection, prefecture: str | None, kind: str | None, availability: list[str],
                   distance: float) -> list[AreaCoverage]:
    if distance == 0:
        rows = await db.fetch(_COVERAGE_SUMMARY, prefecture, kind, availability)
    else:
        rows = await db.fetch(_COVERAGE, prefecture, kind, availability, distance)
    return [AreaCoverage(r["area_id"], r["prefecture_code"], r["kind"], r["name"], r["assets"]) for r in rows]


async def geometry_problem(db: asyncpg.Connection, geojson: str) -> str | None:
    """Why PostGIS finds the GeoJSON polygon invalid, or None when it is valid."""
    async with db.transaction():
        valid, reason = await db.fetchrow(
            "select ST_IsValid(g), ST_IsValidReason(g) from (select ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) g) x",
            geojson)
    return None if valid else reason


async def insert_area(db: asyncpg.Connection, prefecture: str, kind: str, name: str, source_id: str | None,
                      geojson: str) -> AreaFeature:
    row = await db.fetchrow(
        f"""insert into priority_areas as a (prefecture_code, kind, name, source_id, geom)
            values ($1, $2, $3, $4, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)))
            returning {_COLUMNS}""",
        prefecture, kind, name, source_id, geojson)
    return _feature(row)


async def list_areas(db: asyncpg.Connection, prefecture: str | None, kind: str | None, after: str | None,
                     limit: int) -> list[AreaFeature]:
    """Visible areas in id order after `after`; `prefecture` is the two-digit number."""
    rows = await db.fetch(
        f"""select {_COLUMNS} from priority_areas a
             where ($1::text is null or left(a.prefecture_code, 2) = $1)
               and ($2::text is null or a.kind = $2)
               and ($3::uuid is null or a.area_id > $3)
             order by a.area_id
             limit $4""",
        prefecture, kind, after, limit)
    return [_feature(r) for r in rows]


async def delete_area(db: asyncpg.Connection, area_id: str) -> bool:
    """Remove the area if the caller may; False when it may not see it or it does not exist."""
    return await db.fetchval("delete from priority_areas where area_id = $1 returning true", area_id) is not None
