"""/ogc SQL: fixed statements with $n parameters, one per collection and shape.

Assets come from the `asset_catalogue` view with the catalogue's own column list and row reader
(registry/assets/queries.py), so a restricted asset is masked by the same code as on /v1/assets.
PostGIS transforms the output geometry and the bbox envelope, never the indexed column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from registry.areas.models import COUNTED_AS_OFFERED
from registry.assets.queries import CATALOGUE_COLUMNS, feature
from registry.ogc.crs import STORAGE_SRID, Crs
from registry.ogc.models import OgcFeature
from registry.ogc.params import ItemsQuery

OFFERED = list(COUNTED_AS_OFFERED)


@dataclass(frozen=True)
class Source:
    table: str
    geom: str
    key_a: str
    key_b: str
    types: tuple[str, str]
    columns: str
    time: str
    where: str = "true"


SOURCES = {
    "assets": Source("asset_catalogue c", "c.geom", "c.municipality_code", "c.asset_id", ("char(6)", "uuid"),
                     CATALOGUE_COLUMNS, "c.updated_at",
                     "({m}::text is null or c.municipality_code = {m}::char(6))"),
    "priority-areas": Source(
        "priority_areas a", "a.geom", "a.prefecture_code", "a.area_id", ("char(6)", "uuid"),
        "a.area_id::text as id, a.prefecture_code::text, a.kind, a.name, a.source_id, a.version, a.updated_at",
        "a.updated_at"),
    "coverage-gaps": Source(
        "priority_areas a", "a.geom", "a.prefecture_code", "a.area_id", ("char(6)", "uuid"),
        "a.area_id::text as id, a.prefecture_code::text, a.kind, a.name, a.source_id, a.version, a.updated_at",
        "a.updated_at",
        # Areas no published offered asset meets as the caller sees the catalogue: the coverage report's count
        # at distance 0 (area_coverage_log, sql/090, with its read policy's masking), one uncorrelated read of
        # the distributed log that Citus runs first; the correlated NOT EXISTS into the catalogue it replaces,
        # from the reference table priority_areas, no municipality code could route (docs/scaling.md).
        f"""(a.prefecture_code, a.area_id) not in (
              select l.area_prefecture, l.area_id from area_coverage_log l
               where l.availability = any(array[{", ".join(f"'{a}'" for a in OFFERED)}])
                 and (l.place = 'p' or (l.place = 'e') = app.can_see_lg(l.municipality_code))
               group by 1, 2 having sum(l.n) > 0)"""),
    "municipalities": Source(
        "municipalities m join prefectures p on p.code = m.prefecture_code", "m.town_hall", "m.prefecture_code",
        "m.code", ("char(6)", "char(6)"),
        """m.code::text as id, m.code::text as code, m.name, m.kana, m.kind, m.parent_code::text as parent_code,
           m.prefecture_code::text as prefecture_code, p.name as prefecture_name, p.kana as prefecture_kana""",
        "null::timestamptz", "m.town_hall is not null"),
}

# Parameters: $1-$5 the bbox and its SRID, $6/$7 the time interval; then the output CRS, the keyset and
# the page size; the asset collection's municipality filter last ({m}).
_OUT = """ST_AsGeoJSON(case when {flip}::bool then ST_FlipCoordinates(ST_Transform({geom}, {srid}::int))
                      else ST_Transform({geom}, {srid}::int) end, {digits}::int) as ogc_geometry"""

# A CQL2 filter takes the place of the last line, with its parameters after the statement's own.
_CQL = "/*cql2*/ true"
_FILTERS = """($1::float8 is null or {geom} && ST_Transform(ST_MakeEnvelope($1, $2, $3, $4, $5::int), 4326))
     and ($6::timestamptz is null or {time} >= $6) and ($7::timestamptz is null or {time} <= $7)
     and {where}
     and """ + _CQL

_PAGE = """select * from (
  select {key_a}::text as key_a, {key_b}::text as key_b, {out}, {columns}
    from {table}
   where {filters}
     and ($11::text is null or ({key_a}, {key_b}) {op} ($11::{ta}, $12::{tb}))
   order by {key_a} {dir}, {key_b} {dir}
   limit $13) page
 order by key_a, key_b"""

_ONE = """select {key_a}::text as key_a, {key_b}::text as key_b, {out}, {columns}
  from {table}
 where {key_b} = $1::{tb} and {where}"""


def _filters(s: Source, m: str) -> str:
    return _FILTERS.format(geom=s.geom, time=s.time, where=s.where.format(m=m))


def _page_sql(s: Source, forward: bool) -> str:
    return _PAGE.format(key_a=s.key_a, key_b=s.key_b, out=_OUT.format(geom=s.geom, srid="$8", flip="$9",
                                                                     digits="$10"),
                        columns=s.columns, table=s.table, filters=_filters(s, "$14"), op=">" if forward else "<",
                        ta=s.types[0], tb=s.types[1], dir="asc" if forward else "desc")


PAGE = {(name, forward): _page_sql(s, forward) for name, s in SOURCES.items() for forward in (True, False)}
COUNT = {name: f"select count(*) from {s.table} where {_filters(s, '$8')}" for name, s in SOURCES.items()}
# The single feature: $1 its id, $2-$4 the output CRS; the municipality filter does not apply.
ONE = {name: _ONE.format(key_a=s.key_a, key_b=s.key_b, out=_OUT.format(geom=s.geom, srid="$2", flip="$3",
                                                                      digits="$4"),
                         columns=s.columns, table=s.table, tb=s.types[1], where=s.where.format(m="null"))
       for name, s in SOURCES.items()}


@dataclass(frozen=True)
class Row:
    key: list[str]
    feature: OgcFeature


def _properties(collection: str, row: asyncpg.Record) -> tuple[str, dict[str, Any]]:
    if collection == "assets":
        props = feature(row).properties
        return props.asset_id, msgspec.to_builtins(props)
    skip = {"key_a", "key_b", "ogc_geometry", "id"}
    return row["id"], {k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                       for k, v in row.items() if k not in skip}


def _row(collection: str, row: asyncpg.Record) -> Row:
    fid, props = _properties(collection, row)
    geometry = msgspec.Raw(row["ogc_geometry"].encode())
    return Row([row["key_a"], row["key_b"]], OgcFeature(id=fid, geometry=geometry, properties=props))


def _out_args(crs: Crs) -> list[Any]:
    return [crs.srid, crs.north_first, crs.digits]


def _filter_args(q: ItemsQuery) -> list[Any]:
    box = list(q.bbox) if q.bbox else [None] * 4
    return [*box, q.bbox_crs.srid if q.bbox else STORAGE_SRID]


def _with_filter(sql: str, args: list[Any], q: ItemsQuery) -> tuple[str, list[Any]]:
    """The statement with the caller's CQL2 filter in place: its SQL names only queryable columns and its
    values are parameters numbered after the statement's own (registry/ogc/cql2.py)."""
    if q.filter is None:
        return sql, args
    cql = q.filter.sql(len(args) + 1)
    return sql.replace(_CQL, f"({cql.sql})"), [*args, *cql.params]


async def page(db: asyncpg.Connection, collection: str, q: ItemsQuery, municipality: str | None,
               after: list[str] | None, forward: bool, limit: int) -> list[Row]:
    """Up to `limit` features after (forward) or before the key `after`, in key order."""
    key = after or [None, None]
    args = [*_filter_args(q), q.start, q.end, *_out_args(q.crs), *key, limit]
    if collection == "assets":
        args.append(municipality)
    sql, args = _with_filter(PAGE[(collection, forward)], args, q)
    return [_row(collection, r) for r in await db.fetch(sql, *args)]


async def count(db: asyncpg.Connection, collection: str, q: ItemsQuery, municipality: str | None) -> int:
    args = [*_filter_args(q), q.start, q.end]
    if collection == "assets":
        args.append(municipality)
    sql, args = _with_filter(COUNT[collection], args, q)
    return await db.fetchval(sql, *args)


async def one(db: asyncpg.Connection, collection: str, feature_id: str, crs: Crs) -> OgcFeature | None:
    row = await db.fetchrow(ONE[collection], feature_id, *_out_args(crs))
    return None if row is None else _row(collection, row).feature
