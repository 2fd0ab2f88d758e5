"""The three catalogue reads as they were before issue 17 item 3 made them plannable by Citus (main at
49ff376): the oracle the new statements are compared with (tests/test_citus_reads.py), the peer they are timed
against (bench/citus_reads.py) and the offenders tests/test_citus_ready.py's statement rule must catch."""

from __future__ import annotations

from registry.assets.queries import CATALOGUE_COLUMNS
from registry.ogc import queries as ogc_queries

# registry/assets/queries.py CHANGES: a LIMIT 1 LATERAL lookup per change (Citus: LIMIT in a correlated
# subquery).
CHANGES = f"""
select ch.xid::text as xid, ch.change_id, ch.op, ch.asset_id::text as changed_asset,
       ch.municipality_code::text as changed_municipality, ch.version as changed_version, ch.at,
       {CATALOGUE_COLUMNS}
  from (select * from asset_changes ch
         where (ch.xid, ch.change_id) > ($1::text::xid8, $2::bigint)
           and ch.xid < pg_snapshot_xmin(pg_current_snapshot())
           and ($3::text is null or ch.municipality_code = $3::char(6))
           and ($4::text is null or left(ch.municipality_code, 2) = $4)
         order by ch.xid, ch.change_id
         limit $5) ch
  left join lateral (select * from asset_catalogue c
                      where c.municipality_code = ch.municipality_code and c.asset_id = ch.asset_id
                      limit 1) c on true
 order by ch.xid, ch.change_id
"""

# registry/areas/queries.py _COVERAGE: a count of the catalogue per area, a subquery correlated from the
# reference table priority_areas.
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

# registry/areas/queries.py _COVERAGE_SUMMARY (distance 0): a sum of the log per area, also correlated from
# priority_areas.
COVERAGE_SUMMARY = """
select a.area_id::text, a.prefecture_code::text, a.kind, a.name,
       coalesce((select sum(l.n) from area_coverage_log l
                  where l.area_prefecture = a.prefecture_code and l.area_id = a.area_id
                    and l.availability = any($3)
                    and (l.place = 'p' or (l.place = 'e') = app.can_see_lg(l.municipality_code))), 0)::bigint as assets
  from priority_areas a
 where ($1::text is null or left(a.prefecture_code, 2) = $1)
   and ($2::text is null or a.kind = $2)
 order by a.prefecture_code, a.kind, a.name
 limit 5000
"""

# registry/ogc/queries.py, the coverage-gaps collection's condition: NOT EXISTS correlated from
# priority_areas into the catalogue.
GAPS_WHERE = f"""not exists (select 1 from asset_catalogue c
                         where c.availability = any(array[{", ".join(f"'{a}'" for a in ogc_queries.OFFERED)}])
                           and c.geom && a.geom and ST_Intersects(c.geom, a.geom))"""


def old_gaps(statement: str) -> str:
    """A coverage-gaps statement of registry/ogc/queries.py with the old condition in place of the new."""
    new = ogc_queries.SOURCES["coverage-gaps"].where
    assert statement.count(new) == 1
    return statement.replace(new, GAPS_WHERE)


GAP_STATEMENTS = {"page forward": ogc_queries.PAGE[("coverage-gaps", True)],
                  "page backward": ogc_queries.PAGE[("coverage-gaps", False)],
                  "count": ogc_queries.COUNT["coverage-gaps"], "one": ogc_queries.ONE["coverage-gaps"]}
