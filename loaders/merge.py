"""The database half of an asset load: staging tables and the set-based merge (loaders.pipeline runs the batches).

A load stages each batch of checked rows with COPY and merges it into `assets` with one statement.
The merge runs as the API role with the load's principal, so row security decides what may be written,
exactly as for the API; it writes the audit, change-feed, event, summary and tile-cell rows of every row it
inserts or changes itself (app.assets_logged, sql/180), in place of the row triggers. The tile cells of its new
rows are counted batch by batch into a table of the load and added to the summary once, before it commits
(sql/212).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from loaders.mapping import ATTRIBUTES
from loaders.validate import Issue, Prepared

_STAGING_COLUMNS_DDL = """
  row_no integer not null,
  municipality_code text not null,
  source_id text not null,
  category text,
  name text not null,
  address text,
  position_accuracy_m float8,
  height_m float8,
  mountable_height_m float8,
  spare_load_kg float8,
  power text,
  fibre_distance_m float8,
  area_m2 float8,
  availability text,
  current_tenants integer,
  max_tenants integer,
  constraints text[],
  fee_rule text,
  permit_type text,
  contact text,
  source text,
  last_verified date,
  visibility text,
  status text,
  wkb bytea not null"""

_UNVACUUMED = " with (autovacuum_enabled = off)"  # a load fills and empties its tables itself: nothing to vacuum

_OUTSIDE_MUNICIPALITY = """
select s.row_no, s.source_id, s.municipality_code
  from loader_staging s
  join municipality_boundaries b on b.code = s.municipality_code
 where not ST_Intersects(b.geom, ST_GeomFromWKB(s.wkb, 4326))
 order by s.row_no
"""

# Attributes a file may leave out: an update keeps the stored value unless the load's mapping ($1)
# names the attribute. The SET and WHERE lists are spelled out from this constant once, at import.
_OPTIONAL = ("category", "address", "position_accuracy_m", "height_m", "mountable_height_m", "spare_load_kg",
             "power", "fibre_distance_m", "area_m2", "availability", "max_tenants", "constraints", "fee_rule",
             "permit_type", "contact", "source", "last_verified", "visibility", "status")
# current_tenants is counted from approved and installed applications (sql/056): a load never writes it.
# availability and max_tenants belong to the application workflow while an asset holds a slot (an approval
# sets "occupied" when the last slot goes): a load keeps them then, and reports it (_KEPT_FOR_WORKFLOW).
_WORKFLOW = {
    "availability": "a.current_tenants = 0",
    "max_tenants": "excluded.max_tenants >= a.current_tenants",
}
assert set(_OPTIONAL) | {"source_id", "municipality_code", "name", "current_tenants"} == set(ATTRIBUTES)


def _condition(c: str) -> str:
    extra = f" and {_WORKFLOW[c]}" if c in _WORKFLOW else ""
    return f"'{c}' = any($1::text[]){extra}"


_SET = ",\n    ".join(f"{c} = case when {_condition(c)} then excluded.{c} else a.{c} end" for c in _OPTIONAL)


# A position that moved less than 1e-9 degrees (0.1 mm) has not moved: a sheet keeps 15 significant digits of
# a coordinate (139.77431612243836 comes back as 139.7743161224384), so an exported sheet loaded again would
# otherwise "move" every asset by 1e-14 degrees and write a new version of each. Nor has an outlined asset
# (rooftop, land, park) whose row gives a point inside its outline: a sheet or CSV has only latitude and
# longitude, and re-loading an export must not turn every outline into a point.
_GEOM_MOVED = """(excluded.geom is distinct from a.geom
       and not (GeometryType(excluded.geom) = GeometryType(a.geom) and ST_NPoints(excluded.geom) = ST_NPoints(a.geom)
                and ST_HausdorffDistance(excluded.geom, a.geom) < 1e-9)
       and not (GeometryType(excluded.geom) = 'POINT' and GeometryType(a.geom) in ('POLYGON', 'MULTIPOLYGON')
                and ST_DWithin(a.geom, excluded.geom, 1e-9)))"""


def _changed(new: str) -> str:
    """Whether the proposed row `new` (`excluded`, or the load's proposed values) differs from the stored `a`."""
    required = ["excluded.name is distinct from a.name", _GEOM_MOVED]
    optional = [f"({_condition(c)} and excluded.{c} is distinct from a.{c})" for c in _OPTIONAL]
    return "\n      or ".join(required + optional).replace("excluded.", f"{new}.")


# Rows of this load that would change what the workflow holds: reported as warnings, the stored values kept.
_KEPT_FOR_WORKFLOW = """
select s.row_no, s.source_id, a.availability, a.current_tenants, a.max_tenants,
       'availability' = any($1::text[]) and coalesce(s.availability, 'offered') <> a.availability as availability_kept,
       'max_tenants' = any($1::text[]) and coalesce(s.max_tenants, 1) < a.current_tenants as max_kept
  from loader_staging s
  join assets a on a.municipality_code = coalesce($2::text, s.municipality_code) and a.source_id = s.source_id
 where a.current_tenants > 0
   and (('availability' = any($1::text[]) and coalesce(s.availability, 'offered') <> a.availability)
        or ('max_tenants' = any($1::text[]) and coalesce(s.max_tenants, 1) < a.current_tenants))
 order by s.row_no
"""


_COLUMNS = """municipality_code, source_id, category, name, address, geom, position_accuracy_m, height_m,
    mountable_height_m, spare_load_kg, power, fibre_distance_m, area_m2, availability, current_tenants,
    max_tenants, constraints, fee_rule, permit_type, contact, source, last_verified, visibility, status"""

# Whether any asset of the load's municipalities holds a slot: only then can a row touch what the workflow owns.
_ANY_SLOT_HELD = "select exists (select from assets where ($1::text is null or municipality_code = $1) " \
                 "and current_tenants > 0)"

# The keys of the assets that existed before the load, taken once: rows this load adds can never match
# (source ids are unique within a file), so each batch is matched against this table and not against
# assets, whose growth within the transaction the planner cannot see.
_EXISTING_COLUMNS_DDL = "municipality_code text not null, source_id text not null, status text not null"
_FILL_EXISTING = """
insert into loader_existing
select municipality_code, source_id, status from assets where $1::text is null or municipality_code = $1
"""

# A new asset's id is a UUIDv7 (RFC 9562): the batch's time in milliseconds, then the row's number in
# the file as a counter, then 42 random bits. The ids of one batch rise with its rows, so the primary key
# (municipality_code, asset_id) grows at its right edge instead of at a random leaf for each row: that
# index took a fifth of the merge's backend time with random ids (perf, bench/README.md). Assets made
# through the API keep random (version 4) ids; both are ordinary uuids to every reader.
_ORDERED_ID = """encode(
      int8send(((extract(epoch from statement_timestamp()) * 1000)::bigint << 16) | 28672
               | ((v.row_no::bigint >> 20) & 4095))
      || int8send((-9223372036854775808)::bigint | ((v.row_no::bigint & 1048575) << 42)
                  | (random() * 4398046511103)::bigint), 'hex')::uuid"""

# Every row a load writes carries one time, the load's: its `{at}` parameter, which a parallel load takes once for
# all its workers (else the time of the merging transaction). With a time for each worker's transaction, the
# index on (municipality_code, updated_at) that a first load builds after its commit (sql/155) sorted a million
# rows of one code and two interleaved times: 1.8-2.5 s, against 0.8-0.9 s with one time (bench/README.md).
_AT = "coalesce({at}::timestamptz, now())"

# New rows go in with a plain INSERT, because INSERT ... ON CONFLICT's speculative insertion cost 11 s of
# a million-row load (bench/README.md). Rows that existed are compared with the stored asset first, and
# only those whose values changed take the ON CONFLICT path, so an unchanged re-load moves no version (an
# asset deleted since the load took its key snapshot is left deleted).
# A row another transaction creates during the load fails the plain insert's unique key, and the load
# with it: nothing is written, and running it again updates that row instead.
# The staged rows as asset values. A one-tenant load checks its code once (`t`, the load's tenant or
# null) instead of casting every staged row to lgcode. A staged float becomes numeric through its text, the
# shortest decimal that reads back as the same double (extra_float_digits >= 1, MERGE_SETTINGS), where a direct
# cast prints 15 significant digits with the C library's printf: that was 6.5 % of a merge's backend CPU (perf,
# bench/README.md). The value is the same for any number written with at most 15 significant digits, which is
# every number of a sheet or a file; it differs only for doubles no such number reads as (1.0049999999999997
# rounds to 1.00, where its 15 digits 1.00500000000000 rounded to 1.01).
_STAGED = """
  select s.row_no, coalesce(t.code, s.municipality_code::lgcode) as municipality_code, s.source_id,
         coalesce(s.category, 'other') as category, s.category is null as held, s.name,
         s.address, ST_GeomFromWKB(s.wkb, 4326) as geom,
         s.position_accuracy_m::text::numeric(8, 2) as position_accuracy_m,
         s.height_m::text::numeric(7, 2) as height_m, s.mountable_height_m::text::numeric(7, 2) as mountable_height_m,
         s.spare_load_kg::text::numeric(10, 1) as spare_load_kg, coalesce(s.power, 'unknown') as power,
         s.fibre_distance_m::text::numeric(10, 1) as fibre_distance_m, s.area_m2::text::numeric(12, 2) as area_m2,
         coalesce(s.availability, 'offered') as availability, 0 as current_tenants,
         coalesce(s.max_tenants, 1) as max_tenants, coalesce(s.constraints, '{}') as constraints, s.fee_rule,
         s.permit_type, s.contact, s.source, s.last_verified, coalesce(s.visibility, 'carriers') as visibility,
         case when s.category is null then 'draft'
              else coalesce(s.status, case when t.publish then 'published' else 'draft' end) end as status, t.at"""

# A held row (no category column, and none could be inferred from its name) that matches an existing
# asset keeps that asset's status: it may have been categorised and published since.
_PROPOSED = _COLUMNS.replace("status", "case when v.held then v.existing_status else v.status end as status")
assert _PROPOSED != _COLUMNS

# The load writes its own audit, change-feed, event, summary and tile-cell rows (sql/180): the row triggers
# skip its statements (SET LOCAL app.assets_logged, set by the load's transactions). The audit and feed rows
# of new assets come from the statement's RETURNING through data-modifying CTEs (the two inserts of
# app.assets_audit_inserted, as the trigger read its transition table); app.assets_inserts_logged writes the
# rest from the published rows (whole rows only for those: drafts need none) and checks the codes. Updated
# rows go to app.assets_logged with the rows as they were: those are locked first (`old`), after the same
# comparison the update makes, so the values logged as before are the ones replaced (READ COMMITTED compares
# a row another transaction changed meanwhile again, in its latest version, and leaves alone a row it made
# equal). The audit's principal is read once a statement (`p`, kept from being pulled up by OFFSET 0), not
# three settings a row: settings lookups (row security's included) were 5 % of a worker's CPU samples (perf).
_ADDED_RETURNING = ("returning a.municipality_code, a.asset_id, a.version, a.status, "
                    "case when a.status = 'published' then a end as asset")
_ADDED_LOGGED = """
added_audit as (
  insert into asset_audit (municipality_code, asset_id, op, version, actor_role, actor_tenant, actor_key)
  select municipality_code, asset_id, 'create', version, p.role, p.tenant, p.key
    from added cross join (select app.role() as role, app.tenant() as tenant,
                                  nullif(current_setting('app.key_id', true), '') as key offset 0) p),
added_feed as (
  insert into asset_changes (municipality_code, asset_id, op, version)
  select municipality_code, asset_id, 'created', version from added where status = 'published')"""
# The codes of a one-tenant load's new rows are its tenant's: their distinct codes, a hash aggregate over the batch,
# were 3.5 % of its merge (bench/README.md). `{tenant}` is the statement's parameter for the load's tenant.
# The tile cells of the new published rows go to the load's table (`loader_cells`, Writer.cells), added to the
# summary once by Writer.count_cells: merged batch by batch, the summary rows of every cell a batch touched were
# deleted and written again each time, 44.8 of a published million-point load's 51.7 s (sql/212).
_ADDED_REST = """app.assets_inserts_logged(array(select asset from added where status = 'published'),
       case when {tenant}::text is not null and exists (select from added) then array[{tenant}::text]
            else array(select distinct municipality_code::text from added) end, 'loader_cells'::regclass)"""
# A load's tile-cell counts, grouped (a count per asset before: 4-8 times fewer), added to the summary at once.
_CELLS_COUNTED = """
select app.tile_cells_counted(array(
  select (municipality_code, place, category, availability, cx, cy, sum(n)::int)::app.tile_cell_count
    from loader_cells group by municipality_code, place, category, availability, cx, cy having sum(n) <> 0))"""

_MERGE = f"""
with v as ({_STAGED},
         e.source_id is not null as existed, e.status as existing_status
    from loader_staging s
   cross join (select $2::lgcode as code, $3::boolean as publish, {_AT.format(at="$4")} as at) t
    left join loader_existing e
      on e.municipality_code = coalesce(t.code::text, s.municipality_code) and e.source_id = s.source_id),
p as (select {_PROPOSED} from v where v.existed),
old as (
  select a as stored, p.*
    from p join assets a on a.municipality_code = p.municipality_code and a.source_id = p.source_id
   where {_changed("p")}
     for update of a),
changed as (
  insert into assets as a ({_COLUMNS})
  select {_COLUMNS} from old
  on conflict (municipality_code, source_id) do update set
    name = excluded.name,
    geom = case when {_GEOM_MOVED} then excluded.geom else a.geom end,
    {_SET},
    version = a.version + 1,
    updated_at = {_AT.format(at="$4")}
  where {_changed("excluded")}
  returning a),
added as (
  insert into assets as a (asset_id, created_at, updated_at, {_COLUMNS})
  select {_ORDERED_ID}, v.at, v.at, {_COLUMNS} from v where not v.existed
  {_ADDED_RETURNING}),{_ADDED_LOGGED}
select (select count(*) from added)::int as inserted, (select count(*) from changed)::int as updated,
       {_ADDED_REST.format(tenant="$2")},
       app.assets_logged(null, array(select stored from old), array(select a from changed))
"""

# When none of the load's municipalities had an asset before it (a first load, the benchmark), every
# staged row is new: one INSERT straight from staging, without materialising the rows in a CTE for two
# consumers (written to a temporary file and read back) and without the join to the empty key snapshot.
_INSERT_ALL = f"""
with added as (
  insert into assets as a (asset_id, created_at, updated_at, {_COLUMNS})
  select {_ORDERED_ID}, v.at, v.at, {_COLUMNS}
    from ({_STAGED}
            from loader_staging s cross join (select $1::lgcode as code, $2::boolean as publish,
                                                     {_AT.format(at="$3")} as at) t) v
  {_ADDED_RETURNING}),{_ADDED_LOGGED}
select (select count(*) from added)::int as inserted, 0 as updated, {_ADDED_REST.format(tenant="$1")}
"""

# Said by every transaction of a load, before its first merge: the row triggers on assets skip its
# statements, which log their rows themselves (sql/180). A literal SET LOCAL, which a Citus coordinator
# passes on to the workers; it ends with the transaction.
LOGGED_BY_THE_LOAD = "set local app.assets_logged = on"
NOT_LOGGED_BY_THE_LOAD = "set local app.assets_logged = off"
# Said in one round trip by every merging transaction: no JIT (PostGIS's cost estimates make it compile more than it
# saves); 64MB of work_mem to keep a batch's returned rows (25 MB, read twice) in memory; floats' shortest text; no
# parallel workers, as the load's writers already keep every core busy: the planner gave the boundary check of each
# batch (_OUTSIDE_MUNICIPALITY) a worker, whose start took 25-60 ms for 0.2 ms of work (auto_explain).
MERGE_SETTINGS = "; ".join(("set local jit = off", "set local work_mem = '64MB'", "set local extra_float_digits = 1",
                            "set local max_parallel_workers_per_gather = 0", LOGGED_BY_THE_LOAD))


def _kept_reason(r: asyncpg.Record) -> str:
    kept = [f"availability {r['availability']}"] if r["availability_kept"] else []
    kept += [f"max_tenants {r['max_tenants']}"] if r["max_kept"] else []
    return (f"{' and '.join(kept)} kept: approved applications hold {r['current_tenants']} of its "
            f"{r['max_tenants']} slots, and only the application workflow changes them while they do")


@dataclass
class Tally:
    """What the batches of one load add up to."""

    rows: int = 0
    accepted: int = 0
    inserted: int = 0
    updated: int = 0
    warnings: int = 0
    rejected_rows: set[int] = field(default_factory=set)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    municipalities: set[str] = field(default_factory=set)
    """The municipalities of the accepted rows: who hears the load's `load.finished` event."""

    def add(self, batch: Prepared) -> None:
        if batch.tenant:
            self.municipalities.add(batch.tenant)
        else:
            self.municipalities.update(c for c in batch.columns.get("municipality_code", ()) if c)
        self.rows += batch.rows
        self.accepted += batch.accepted
        self.warnings += batch.warnings
        self.rejected_rows.update(i.row for i in batch.issues if i.severity == "rejected")
        self.issues.extend(batch.issues)
        self.notes.extend(n for n in batch.notes if n not in self.notes)


# Writes the load's event on a connection of the load, inside the transaction that keeps it.
Announce = Callable[[asyncpg.Connection, Tally], Awaitable[None]]


@dataclass
class Writer:
    """One connection's share of a load: its staging table and the snapshot of keys it merges against.

    A single-connection load uses temporary tables (`temporary=True`); the workers of a parallel load
    use tables of the `loader` schema, because a prepared transaction may not touch temporary ones.
    Table names are made by the loader (fixed words and a load's uuid), never taken from input.
    """

    conn: asyncpg.Connection
    staging: str = "loader_staging"
    existing: str = "loader_existing"
    cells: str = "loader_cells"
    """The tile-cell counts of the rows this writer inserted (app.tile_cell_count rows), added up by count_cells."""
    at: datetime | None = None
    """The time every row of the load carries (None: its transaction's)."""
    existed: bool = True
    """Whether any asset of the load's municipalities existed before it (False: every row is new)."""
    slots_held: bool = True
    """Whether any of them holds a slot of an approved application (False: nothing for _KEPT_FOR_WORKFLOW)."""

    def sql(self, statement: str) -> str:
        return (statement.replace("loader_staging", self.staging).replace("loader_existing", self.existing)
                .replace("loader_cells", self.cells))

    async def _create(self, table: str, columns: str, *, temporary: bool) -> None:
        kind, end = ("temp table", " on commit drop") if temporary else ("unlogged table", _UNVACUUMED)
        await self.conn.execute(f"create {kind} {table} ({columns}){end}")

    async def create_staging(self, *, temporary: bool) -> None:
        await self._create(self.staging, _STAGING_COLUMNS_DDL, temporary=temporary)
        kind, end = ("temp table", " on commit drop") if temporary else ("unlogged table", _UNVACUUMED)
        await self.conn.execute(f"create {kind} {self.cells} of app.tile_cell_count{end}")

    async def count_cells(self) -> None:
        """Add the tile cells of every row this writer inserted to the summary, in its transaction."""
        await self.conn.execute(self.sql(_CELLS_COUNTED))

    async def create_existing(self, tenant: str | None, *, temporary: bool) -> None:
        await self._create(self.existing, _EXISTING_COLUMNS_DDL, temporary=temporary)
        await self.conn.execute(self.sql(_FILL_EXISTING), tenant)
        await self.conn.execute(f"analyze {self.existing}")
        self.existed = await self.conn.fetchval(f"select exists (select from {self.existing})")
        self.slots_held = self.existed and await self.conn.fetchval(_ANY_SLOT_HELD, tenant)

    async def write(self, batch: Prepared, tally: Tally, staged: asyncio.Event) -> None:
        """COPY one batch into the (emptied) staging table (then set `staged`), note boundary warnings, merge it."""
        conn = self.conn
        await conn.execute(f"truncate {self.staging}")
        schema, _, table = self.staging.rpartition(".")
        await conn.copy_records_to_table(table, schema_name=schema or None, records=batch.records(),
                                         columns=batch.copied)
        staged.set()
        # Fresh statistics let the planner choose the merge's joins against the keys that existed. A load
        # with no such keys (every row new) inserts straight from staging with no join to choose, and
        # ANALYZE of each batch was 5 % of its backend time (perf, bench/README.md): it goes without.
        if self.existed:
            await conn.execute(f"analyze {self.staging}")
        outside = [Issue(r["row_no"], r["source_id"], "warning",
                         f"the point lies outside municipality {r['municipality_code']}'s boundary")
                   for r in await conn.fetch(self.sql(_OUTSIDE_MUNICIPALITY))]
        tally.issues.extend(outside)
        tally.warnings += len(outside)
        if self.existed:
            if self.slots_held:
                kept = [Issue(r["row_no"], r["source_id"], "warning", _kept_reason(r))
                        for r in await self.conn.fetch(self.sql(_KEPT_FOR_WORKFLOW), batch.attributes, batch.tenant)]
                tally.issues.extend(kept)
                tally.warnings += len(kept)
            row = await conn.fetchrow(self.sql(_MERGE), batch.attributes, batch.tenant, batch.publish, self.at)
        else:
            row = await conn.fetchrow(self.sql(_INSERT_ALL), batch.tenant, batch.publish, self.at)
        tally.inserted += row["inserted"]
        tally.updated += row["updated"]
