"""Asset SQL: fixed statements with $n parameters. PostGIS writes every GeoJSON geometry."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from registry.assets.labels import LABELS
from registry.assets.models import AssetChange, AssetFeature, AssetProperties, AssetVersion, StatRow
from registry.assets.search import SearchFilter


class GeometryCheck(msgspec.Struct, frozen=True):
    """What PostGIS says of a geometry about to be stored for a municipality."""

    valid: bool
    reason: str
    from_town_hall_m: float
    in_boundary: bool | None
    """None when the municipality's boundary is not loaded."""
    municipality_name: str


class Hit(msgspec.Struct, frozen=True):
    """One search result: the feature and the point a spreadsheet shows for it."""

    feature: AssetFeature
    lon: float
    lat: float

# Columns shared by the table (owners' view) and the catalogue (everyone's view).
_PROPS = """{t}.asset_id::text, {t}.municipality_code::text, {t}.source_id, {t}.category, {t}.name, {t}.address,
  {t}.position_accuracy_m::float8, {t}.height_m::float8, {t}.mountable_height_m::float8,
  {t}.spare_load_kg::float8, {t}.power, {t}.fibre_distance_m::float8, {t}.area_m2::float8, {t}.availability,
  {t}.current_tenants, {t}.max_tenants, {t}.constraints, {t}.fee_rule, {t}.permit_type, {t}.contact, {t}.source,
  {t}.last_verified, {t}.visibility, {t}.version, {t}.created_at, {t}.updated_at,
  ST_AsGeoJSON({t}.geom, 7) as geometry,
  ST_X(ST_PointOnSurface({t}.geom)) as lon, ST_Y(ST_PointOnSurface({t}.geom)) as lat"""
TABLE_COLUMNS = _PROPS.format(t="a") + ", false as coarse, a.status"
CATALOGUE_COLUMNS = _PROPS.format(t="c") + ", c.coarse, 'published' as status"


def feature(row: asyncpg.Record, distance: float | None = None) -> AssetFeature:
    props = AssetProperties(
        asset_id=row["asset_id"], municipality_code=row["municipality_code"], source_id=row["source_id"],
        category=row["category"], name=row["name"], address=row["address"], coarse_location=row["coarse"],
        position_accuracy_m=row["position_accuracy_m"], height_m=row["height_m"],
        mountable_height_m=row["mountable_height_m"], spare_load_kg=row["spare_load_kg"], power=row["power"],
        fibre_distance_m=row["fibre_distance_m"], area_m2=row["area_m2"], availability=row["availability"],
        current_tenants=row["current_tenants"], max_tenants=row["max_tenants"], constraints=list(row["constraints"]),
        fee_rule=row["fee_rule"], permit_type=row["permit_type"], contact=row["contact"], source=row["source"],
        last_verified=row["last_verified"], visibility=row["visibility"], status=row["status"],
        version=row["version"], created_at=row["created_at"], updated_at=row["updated_at"], distance_m=distance)
    return AssetFeature(id=row["asset_id"], geometry=msgspec.Raw(row["geometry"].encode()), properties=props)


# --- writes -------------------------------------------------------------------------------------------

GEOMETRY_CHECK = """
with g as (select ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) as geom)
select ST_IsValid(g.geom) as valid, ST_IsValidReason(g.geom) as reason,
       ST_NPoints(g.geom) as points,
       ST_Distance(ST_PointOnSurface(g.geom)::geography, m.town_hall::geography) as from_town_hall_m,
       (select ST_DWithin(b.geom::geography, g.geom::geography, 200)
          from municipality_boundaries b where b.code = $2) as in_boundary,
       m.name as municipality_name
  from g, municipalities m
 where m.code = $2
"""

# current_tenants is not written: the database counts it from applications (sql/056).
_WRITE_COLUMNS = """source_id, category, name, address, geom, position_accuracy_m, height_m, mountable_height_m,
  spare_load_kg, power, fibre_distance_m, area_m2, availability, max_tenants, constraints,
  fee_rule, permit_type, contact, source, last_verified, visibility, status"""

INSERT = f"""
insert into assets as a (municipality_code, {_WRITE_COLUMNS})
values ($1, $2, $3, $4, $5, ST_SetSRID(ST_GeomFromGeoJSON($6), 4326), $7, $8, $9, $10, $11, $12, $13, $14, $15,
        $16, $17, $18, $19, $20, $21, $22, $23)
returning {TABLE_COLUMNS}
"""

UPDATE = f"""
update assets as a set
  source_id = $3, category = $4, name = $5, address = $6, geom = ST_SetSRID(ST_GeomFromGeoJSON($7), 4326),
  position_accuracy_m = $8, height_m = $9, mountable_height_m = $10, spare_load_kg = $11, power = $12,
  fibre_distance_m = $13, area_m2 = $14, availability = $15, max_tenants = $16,
  constraints = $17, fee_rule = $18, permit_type = $19, contact = $20, source = $21, last_verified = $22,
  visibility = $23, status = $24, version = a.version + 1, updated_at = now()
 where a.asset_id = $1 and a.version = $2 and a.status <> 'withdrawn'
returning {TABLE_COLUMNS}
"""

WITHDRAW = f"""
update assets as a set status = 'withdrawn', version = a.version + 1, updated_at = now()
 where a.asset_id = $1 and a.version = $2 and a.status <> 'withdrawn'
returning {TABLE_COLUMNS}
"""

GET = f"select {TABLE_COLUMNS} from assets a where a.asset_id = $1"
GET_PUBLISHED = f"select {CATALOGUE_COLUMNS} from asset_catalogue c where c.asset_id = $1"
# Every version with the state it left: the next audit row's undo image (sql/051), or the asset as it is for the
# latest. The state is app.asset_snapshot's jsonb (sql/050) built from the columns here: the asset_history view
# called that function with the assets row type, which made `assets` depend on itself under Citus (issue 17); the
# join is on (municipality_code, asset_id) of both tables, so it stays on one shard.
HISTORY = """
select u.version, u.op, u.actor_role, u.actor_tenant, u.at,
       coalesce(lead(u.before) over (partition by u.municipality_code order by u.version), jsonb_build_object(
         'municipality_code', a.municipality_code, 'asset_id', a.asset_id, 'source_id', a.source_id,
         'category', a.category, 'name', a.name, 'address', a.address, 'position_accuracy_m', a.position_accuracy_m,
         'height_m', a.height_m, 'mountable_height_m', a.mountable_height_m, 'spare_load_kg', a.spare_load_kg,
         'power', a.power, 'fibre_distance_m', a.fibre_distance_m, 'area_m2', a.area_m2,
         'availability', a.availability, 'current_tenants', a.current_tenants, 'max_tenants', a.max_tenants,
         'constraints', a.constraints, 'fee_rule', a.fee_rule, 'permit_type', a.permit_type, 'contact', a.contact,
         'source', a.source, 'last_verified', a.last_verified, 'visibility', a.visibility, 'status', a.status,
         'version', a.version, 'created_at', a.created_at, 'updated_at', a.updated_at,
         'geom', ST_AsGeoJSON(a.geom, 15, 0)::jsonb
                 || '{"crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}'))::text as state
  from asset_audit u
  join assets a on a.municipality_code = u.municipality_code and a.asset_id = u.asset_id
 where u.asset_id = $1
 order by u.version
"""
SOURCE_ID_TAKEN = "select asset_id::text from assets where municipality_code = $1 and source_id = $2"

LIST_OWN = f"""
select {TABLE_COLUMNS} from assets a
 where a.municipality_code = $1
   and ($2::text[] is null or a.status = any($2))
   and ($3::uuid is null or a.asset_id > $3)
 order by a.asset_id
 limit $4
"""


def _write_args(fields: dict[str, Any], geometry_json: str) -> list[Any]:
    return [fields["source_id"], fields["category"], fields["name"], fields["address"], geometry_json,
            fields["position_accuracy_m"], fields["height_m"], fields["mountable_height_m"], fields["spare_load_kg"],
            fields["power"], fields["fibre_distance_m"], fields["area_m2"], fields["availability"],
            fields["max_tenants"], fields["constraints"], fields["fee_rule"],
            fields["permit_type"], fields["contact"], fields["source"], fields["last_verified"],
            fields["visibility"], fields["status"]]


async def geometry_check(db: asyncpg.Connection, geojson: str, municipality_code: str) -> GeometryCheck | None:
    """None when there is no such municipality; asyncpg.PostgresError when PostGIS cannot read the text."""
    row = await db.fetchrow(GEOMETRY_CHECK, geojson, municipality_code)
    return None if row is None else GeometryCheck(row["valid"], row["reason"], row["from_town_hall_m"],
                                                  row["in_boundary"], row["municipality_name"])


async def source_id_owner(db: asyncpg.Connection, municipality_code: str, source_id: str) -> str | None:
    """The asset of a municipality that already carries `source_id`, if any."""
    return await db.fetchval(SOURCE_ID_TAKEN, municipality_code, source_id)


async def insert(db: asyncpg.Connection, owner: str, fields: dict[str, Any], geometry_json: str) -> AssetFeature:
    return feature(await db.fetchrow(INSERT, owner, *_write_args(fields, geometry_json)))


async def update(db: asyncpg.Connection, asset_id: str, expected: int, fields: dict[str, Any],
                 geometry_json: str) -> AssetFeature | None:
    """The asset after the change; None when it is no longer at version `expected`."""
    row = await db.fetchrow(UPDATE, asset_id, expected, *_write_args(fields, geometry_json))
    return None if row is None else feature(row)


async def withdraw(db: asyncpg.Connection, asset_id: str, expected: int) -> AssetFeature | None:
    row = await db.fetchrow(WITHDRAW, asset_id, expected)
    return None if row is None else feature(row)


async def get_own(db: asyncpg.Connection, asset_id: str) -> AssetFeature | None:
    """An asset as its owner sees it (row security: the caller's own, their prefecture's, or any for admins)."""
    row = await db.fetchrow(GET, asset_id)
    return None if row is None else feature(row)


async def get_published(db: asyncpg.Connection, asset_id: str) -> AssetFeature | None:
    """An asset as the catalogue shows it to the caller."""
    row = await db.fetchrow(GET_PUBLISHED, asset_id)
    return None if row is None else feature(row)


async def history(db: asyncpg.Connection, asset_id: str) -> list[AssetVersion]:
    return [AssetVersion(r["version"], r["op"], r["actor_role"], r["actor_tenant"], r["at"],
                         msgspec.Raw(r["state"].encode())) for r in await db.fetch(HISTORY, asset_id)]


async def list_own(db: asyncpg.Connection, municipality_code: str, statuses: list[str] | None, after: str | None,
                   limit: int) -> list[AssetFeature]:
    return [feature(r) for r in await db.fetch(LIST_OWN, municipality_code, statuses, after, limit)]


# --- search -------------------------------------------------------------------------------------------

# Filters other than the spatial one: $1..$12. Searches: $13 limit, $14/$15 the keyset, $16.. the spatial part;
# counts: the spatial part from $13. A null minimum keeps every row; a set one drops rows with the value unknown.
_FILTERS = """
   and ($1::text[] is null or c.category = any($1))
   and ($2::text[] is null or c.availability = any($2))
   and ($3::float8 is null or c.height_m >= $3)
   and ($4::text is null or c.power = $4)
   and ($5::float8 is null or c.fibre_distance_m <= $5)
   and ($6::text is null or c.municipality_code = $6::char(6))
   -- A code range rather than left(): the primary key's index serves it.
   and ($7::text is null or c.municipality_code between ($7 || '0000')::char(6) and ($7 || '9999')::char(6))
   and ($8::timestamptz is null or c.updated_at >= $8)
   and ($9::float8 is null or c.mountable_height_m >= $9) and ($10::float8 is null or c.spare_load_kg >= $10)
   and ($11::int is null or c.max_tenants - c.current_tenants >= $11)
   -- % and _ come escaped (search.address_pattern); a masked asset has no address, so none finds it.
   and ($12::text is null or c.address ilike $12)"""

def _spatial(mode: str, first: int) -> str:
    """The spatial condition, its parameters numbered from `first`."""
    a, b, c, d = (f"${first + i}" for i in range(4))
    return {
        "none": "true",
        # Not &&: it compares the index's float4 boxes, rounded outwards (points up to ~3 m outside passed,
        # 119 in 100 one-km boxes); ST_Intersects uses the index, then tests the geometry (edges count in).
        "bbox": f"ST_Intersects(c.geom, ST_MakeEnvelope({a}, {b}, {c}, {d}, 4326))",
        # One degree of longitude is at least 77 km anywhere in Japan (46°N), so this envelope
        # over-covers the circle; the geography test then keeps exact metres.
        "near": f"""c.geom && ST_Expand(ST_SetSRID(ST_MakePoint({a}, {b}), 4326), {c} / 77000.0)
               and ST_DWithin(c.geom::geography, ST_SetSRID(ST_MakePoint({a}, {b}), 4326)::geography, {c})""",
        "within": f"ST_Intersects(c.geom, ST_SetSRID(ST_GeomFromGeoJSON({a}), 4326))",
    }[mode]

MODES = ("none", "bbox", "near", "within")

_BY_CODE = """select {cols}, null::float8 as distance_m from asset_catalogue c
 where {spatial} {filters}
   and ($14::text is null or (c.municipality_code, c.asset_id) > ($14::char(6), $15::uuid))
 order by c.municipality_code, c.asset_id
 limit $13"""

_BY_DISTANCE = """select * from (
  select {cols}, ST_Distance(c.geom::geography, ST_SetSRID(ST_MakePoint($16, $17), 4326)::geography) as distance_m
    from asset_catalogue c
   where {spatial} {filters}) c
 where ($14::float8 is null or (c.distance_m, c.asset_id::uuid) > ($14::float8, $15::uuid))
 order by c.distance_m, c.asset_id
 limit $13"""

SEARCH = {
    mode: (_BY_DISTANCE if mode == "near" else _BY_CODE).format(
        cols=CATALOGUE_COLUMNS, spatial=_spatial(mode, 16), filters=_FILTERS)
    for mode in MODES
}
COUNT = {mode: f"select count(*) from asset_catalogue c where {_spatial(mode, 13)} {_FILTERS}" for mode in MODES}

# The GeoJSON page written by PostgreSQL and passed through (issue 13: a Struct per row was 18 % of a
# search's CPU): the keys in the order AssetFeature and AssetProperties encode them, times as msgspec
# writes them (app.json_time, sql/059). Only the page's rows (limit + 1) are turned into JSON.
_FEATURE = """json_build_object('type', 'Feature', 'id', s.asset_id, 'geometry', ST_AsGeoJSON(s.geom, 7)::json,
  'properties', json_build_object('asset_id', s.asset_id, 'municipality_code', s.municipality_code,
  'source_id', s.source_id, 'category', s.category, 'name', s.name, 'address', s.address,
  'coarse_location', s.coarse, 'position_accuracy_m', s.position_accuracy_m::float8,
  'height_m', s.height_m::float8, 'mountable_height_m', s.mountable_height_m::float8,
  'spare_load_kg', s.spare_load_kg::float8, 'power', s.power, 'fibre_distance_m', s.fibre_distance_m::float8,
  'area_m2', s.area_m2::float8, 'availability', s.availability, 'current_tenants', s.current_tenants, 'max_tenants',
  s.max_tenants, 'constraints', s.constraints, 'fee_rule', s.fee_rule, 'permit_type', s.permit_type, 'contact',
  s.contact, 'source', s.source, 'last_verified', s.last_verified, 'visibility', s.visibility, 'status', 'published',
  'version', s.version, 'created_at', app.json_time(s.created_at), 'updated_at', app.json_time(s.updated_at),
  'distance_m', s.distance_m))::text"""
# The page leaves as one row: its features joined into one UTF-8 string (convert_to, string_agg), how many rows
# were read (limit + 1 says a next page exists) and the sort key of the last one shown, for the cursor. 101 rows
# of four columns cost the worker 0.26-0.30 ms of CPU to receive and wrap, one row 0.11-0.13 ms
# (bench/PEERS.md, issue 13); text would also be decoded to str and encoded back, so the features stay bytea.
# The features are joined in the order the window numbered them: the aggregate is computed above the window, which
# emits its rows in its ORDER BY, with nothing between them (no join; no partial aggregate can run below a
# window). An ORDER BY inside string_agg sorted the 91 KB again (PostgreSQL 15 sorts an aggregate's input
# itself): 3-5 % of the database's rate with pgbench.
_ORDER = {mode: "s.distance_m, s.asset_id" if mode == "near" else "s.municipality_code, s.asset_id"
          for mode in MODES}
SEARCH_PAGE = {
    mode: f"""select count(*)::int as fetched,
       string_agg(p.feature, ','::bytea) filter (where p.n < $13) as features,
       max(p.municipality_code) filter (where p.n = $13 - 1) as last_code,
       max(p.asset_id) filter (where p.n = $13 - 1) as last_id,
       max(p.distance_m) filter (where p.n = $13 - 1) as last_distance
  from (select s.municipality_code::text, s.asset_id::text, s.distance_m,
               convert_to({_FEATURE}, 'UTF8') as feature,
               row_number() over (order by {_ORDER[mode]}) as n
          from ({(_BY_DISTANCE if mode == "near" else _BY_CODE).format(cols="c.*", spatial=_spatial(mode, 16),
                                                                          filters=_FILTERS)}) s) p"""
    for mode in MODES
}


class FeaturePage(msgspec.Struct, frozen=True):
    """A page of features as PostgreSQL wrote them: `features` is the JSON array's inside."""

    fetched: int
    features: bytes
    last_key: list[Any] | None  # the sort key of the last feature shown when the page is full, else None


def _filter_args(f: SearchFilter) -> list[Any]:
    return [f.categories, f.availabilities, f.min_height, f.power, f.max_fibre_distance, f.municipality,
            f.prefecture, f.updated_since, f.min_mountable_height, f.min_spare_load, f.min_free_slots,
            f.address_pattern]


def _spatial_args(f: SearchFilter) -> list[Any]:
    near = [f.near[0], f.near[1], f.radius_m] if f.near is not None else []
    return {"bbox": list(f.bbox or ()), "near": near, "within": [f.within_geojson], "none": []}[f.mode]


async def search(db: asyncpg.Connection, f: SearchFilter, after: list[Any] | None, limit: int) -> list[Hit]:
    keyset = after if after is not None else [None, None]
    rows = await db.fetch(SEARCH[f.mode], *_filter_args(f), limit, *keyset, *_spatial_args(f))
    return [Hit(feature(r, r["distance_m"]), r["lon"], r["lat"]) for r in rows]


async def search_page(db: asyncpg.Connection, f: SearchFilter, after: list[Any] | None,
                      limit: int) -> FeaturePage:
    keyset = after if after is not None else [None, None]
    r = await db.fetchrow(SEARCH_PAGE[f.mode], *_filter_args(f), limit, *keyset, *_spatial_args(f))
    first = r["last_distance"] if f.mode == "near" else r["last_code"]
    return FeaturePage(r["fetched"], r["features"] or b"", [first, r["last_id"]] if r["last_id"] else None)


async def count(db: asyncpg.Connection, f: SearchFilter) -> int:
    return await db.fetchval(COUNT[f.mode], *_filter_args(f), *_spatial_args(f))


# --- change feed --------------------------------------------------------------------------------------

CHANGES = f"""
select ch.xid::text as xid, ch.change_id, ch.op, ch.asset_id::text as changed_asset,
       ch.municipality_code::text as changed_municipality, ch.version as changed_version, ch.at,
       {CATALOGUE_COLUMNS}
  from (select * from asset_changes ch
         where (ch.xid, ch.change_id) > ($1::text::xid8, $2::bigint)
           -- Only transactions older than every one still in progress: a later commit of an earlier
           -- transaction can then never land behind the cursor.
           and ch.xid < pg_snapshot_xmin(pg_current_snapshot())
           and ($3::text is null or ch.municipality_code = $3::char(6))
           and ($4::text is null or left(ch.municipality_code, 2) = $4)
         order by ch.xid, ch.change_id
         limit $5) ch
  -- The page is chosen first; only its assets are looked up in the catalogue.
  -- (LIMIT 1 keeps the lookup per row: a flattened join would scan the whole catalogue.) Citus does not plan
  -- LIMIT in a correlated subquery; the forms it plans were measured slower here (bench/CITUS_READS.md,
  -- docs/scaling.md "Not ready"), so this stays until PostgreSQL or the catalogue view changes.
  left join lateral (select * from asset_catalogue c
                      where c.municipality_code = ch.municipality_code and c.asset_id = ch.asset_id
                      limit 1) c on true
 order by ch.xid, ch.change_id
"""


async def changes(db: asyncpg.Connection, after: tuple[str, int], municipality: str | None,
                  prefecture: str | None, limit: int) -> list[AssetChange]:
    rows = await db.fetch(CHANGES, after[0], after[1], municipality, prefecture, limit)
    return [AssetChange(change=f"{r['xid']}:{r['change_id']}", op=r["op"], asset_id=r["changed_asset"],
                        municipality_code=r["changed_municipality"], version=r["changed_version"], at=r["at"],
                        feature=feature(r) if r["asset_id"] is not None and r["op"] != "withdrawn" else None)
            for r in rows]


# --- statistics ---------------------------------------------------------------------------------------

# Counts of published assets come from asset_count_log (sql/090: per municipality x category x
# availability, kept current by triggers), not from the catalogue: statistics by prefecture took 879 ms
# at 8 concurrent on the demo's 91,683 assets. Every signed-in role counts the same published assets
# (restricted ones count once, wherever the catalogue shows them), so the log needs no masking.
STATS = {
    # Added up first, named after: joining the names to each of ~12,600 log rows took 29 ms, this 9 ms.
    "prefecture": """select s.key, p.name as label, s.n
                       from (select left(c.municipality_code, 2) as key, sum(c.n)::bigint as n from asset_count_log c
                              group by 1 having sum(c.n) > 0) s
                       join prefectures p on p.number = s.key order by 1""",
    "municipality": """select s.code::text as key, m.name as label, s.n
                         from (select c.municipality_code as code, sum(c.n)::bigint as n from asset_count_log c
                                where ($1::text is null or left(c.municipality_code, 2) = $1)
                                group by 1 having sum(c.n) > 0) s
                         join municipalities m on m.code = s.code order by 1""",
    "category": "select c.category as key, null as label, sum(c.n)::bigint as n from asset_count_log c "
                "where ($1::text is null or left(c.municipality_code, 2) = $1) group by 1 having sum(c.n) > 0 "
                "order by 1",
    "availability": "select c.availability as key, null as label, sum(c.n)::bigint as n from asset_count_log c "
                    "where ($1::text is null or left(c.municipality_code, 2) = $1) group by 1 having sum(c.n) > 0 "
                    "order by 1",
}


async def stats(db: asyncpg.Connection, group_by: str, prefecture: str | None) -> list[StatRow]:
    args = () if group_by == "prefecture" else (prefecture,)
    # Prefectures and municipalities are labelled by their names; enumerations by their Japanese labels.
    words = LABELS.get(group_by)
    return [StatRow(r["key"], r["label"] if words is None else words.get(r["key"], r["key"]), r["n"])
            for r in await db.fetch(STATS[group_by], *args)]
