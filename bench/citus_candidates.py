"""Forms of the change feed and of coverage at distances above 0 that Citus could plan, measured against the
statements the app keeps (bench/citus_reads.py, bench/CITUS_READS.md) and not adopted: each was slower on a
single PostgreSQL 15. Kept so the figures can be reproduced."""

from __future__ import annotations

from registry.assets.queries import CATALOGUE_COLUMNS

_PAGE = """with page as materialized (
  select ch.xid, ch.change_id, ch.op, ch.asset_id, ch.municipality_code, ch.version, ch.at
    from asset_changes ch
   where (ch.xid, ch.change_id) > ($1::text::xid8, $2::bigint)
     and ch.xid < pg_snapshot_xmin(pg_current_snapshot())
     and ($3::text is null or ch.municipality_code = $3::char(6))
     and ($4::text is null or left(ch.municipality_code, 2) = $4)
   order by ch.xid, ch.change_id
   limit $5),"""
_COMPLETE = f"""
select ch.xid::text as xid, ch.change_id, ch.op, ch.asset_id::text as changed_asset,
       ch.municipality_code::text as changed_municipality, ch.version as changed_version, ch.at,
       {CATALOGUE_COLUMNS}
  from page ch
  left join found c on c.municipality_code = ch.municipality_code and c.asset_id = ch.asset_id
 order by ch.xid, ch.change_id"""

# The page as a CTE, its assets by a semi-join: PostgreSQL pushes no join condition into the catalogue's
# UNION ALL, so it reads every published asset.
CHANGES_JOIN = _PAGE + """
found as materialized (
  select c.* from asset_catalogue c
   where (c.municipality_code, c.asset_id) in (select p.municipality_code, p.asset_id from page p))""" + _COMPLETE

# The page's keys as arrays (one intermediate result on Citus): index conditions in both branches, but
# PostgreSQL 15 descends the key once per municipality x asset pair (58 x 500 for a page of Tokyo's feed).
CHANGES_ARRAYS = _PAGE + """
found as materialized (
  select c.* from asset_catalogue c
   where c.municipality_code = any(array(select distinct p.municipality_code from page p))
     and c.asset_id = any(array(select p.asset_id from page p)))""" + _COMPLETE

_AREAS = """($1::text is null or left(a.prefecture_code, 2) = $1) and ($2::text is null or a.kind = $2)"""
_NEAR = """($4 = 0 and ST_Intersects(c.geom, a.geom)
          or $4 > 0 and ST_DWithin(c.geom::geography, a.geom::geography, $4))"""
_COUNTED = f"""
select a.area_id::text, a.prefecture_code::text, a.kind, a.name, coalesce(n.assets, 0) as assets
  from priority_areas a
  left join counted n on n.prefecture_code = a.prefecture_code and n.area_id = a.area_id
 where {_AREAS}
 order by a.prefecture_code, a.kind, a.name
 limit 5000"""

# Areas joined to the catalogue, grouped per area: each area scans the catalogue (no join condition reaches
# into its UNION ALL).
COVERAGE_AREAS_FIRST = f"""
with counted as materialized (
  select a.prefecture_code, a.area_id, count(*) as assets
    from priority_areas a join asset_catalogue c on c.geom && ST_Expand(a.geom, $4 / 77000.0) and {_NEAR}
   where c.availability = any($3) and {_AREAS}
   group by 1, 2)""" + _COUNTED

# The catalogue joined to the areas, each asset's grown box against the areas' index: the index is not used
# under the areas' row security (&& is not leakproof), so the plan is the one above.
COVERAGE_ASSETS_FIRST = f"""
with counted as materialized (
  select a.prefecture_code, a.area_id, count(*) as assets
    from asset_catalogue c join priority_areas a on a.geom && ST_Expand(c.geom, $4 / 77000.0) and {_NEAR}
   where c.availability = any($3) and {_AREAS}
   group by 1, 2)""" + _COUNTED

# The catalogue near any area read once (the areas' extent as one value), then paired with the areas: one
# index scan, but every near asset meets every area (12,769 x 167 for Tokyo).
COVERAGE_NEAR_ONCE = f"""
with areas as materialized (select a.prefecture_code, a.area_id, a.geom from priority_areas a where {_AREAS}),
near as materialized (
  select c.geom from asset_catalogue c
   where c.availability = any($3)
     and c.geom && (select ST_Expand(ST_Extent(x.geom)::geometry, $4 / 77000.0) from areas x)),
counted as materialized (
  select a.prefecture_code, a.area_id, count(*) as assets
    from near c join areas a on c.geom && ST_Expand(a.geom, $4 / 77000.0) and {_NEAR}
   group by 1, 2)""" + _COUNTED
