"""Asset loads: read → validate → COPY into a staging table → one set-based merge, all or nothing.

Runs on a connection of the API role with the principal already set (admin for the CLI, the
municipality for an upload), so row security decides what may be written, exactly as for the API.
The merge touches only rows whose values changed: the audit and change-feed triggers record every
update whose version moved, so an unchanged re-load must not move any version.
"""

from __future__ import annotations

import asyncio
import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from loaders.formats import LoadError, Source, read_source
from loaders.mapping import ATTRIBUTES, Mapping, build_mapping
from loaders.progress import Progress, Silent
from loaders.validate import STAGING_COLUMNS, Issue, Prepared, prepare

STAGING = "loader_staging"
COPY_CHUNK = 100_000

_CREATE_STAGING = """
create temp table loader_staging (
  row_no integer not null,
  municipality_code text not null,
  source_id text not null,
  category text not null,
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
  wkb bytea not null
) on commit drop
"""

_OUTSIDE_MUNICIPALITY = """
select s.row_no, s.source_id, s.municipality_code
  from loader_staging s
  join municipality_boundaries b on b.code = s.municipality_code
 where not ST_Intersects(b.geom, ST_GeomFromWKB(s.wkb, 4326))
 order by s.row_no
"""

# Attributes a file may leave out: an update keeps the stored value unless the load's mapping ($1)
# names the attribute. The SET and WHERE lists are spelled out from this constant once, at import.
_OPTIONAL = ("address", "position_accuracy_m", "height_m", "mountable_height_m", "spare_load_kg", "power",
             "fibre_distance_m", "area_m2", "availability", "current_tenants", "max_tenants", "constraints",
             "fee_rule", "permit_type", "contact", "source", "last_verified", "visibility", "status")
assert set(_OPTIONAL) | {"source_id", "municipality_code", "category", "name"} == set(ATTRIBUTES)

_SET = ",\n         ".join(f"{c} = case when '{c}' = any($1::text[]) then v.{c} else a.{c} end" for c in _OPTIONAL)
_CHANGED = "\n      or ".join(
    [f"v.{c} is distinct from a.{c}" for c in ("category", "name", "geom")]
    + [f"('{c}' = any($1::text[]) and v.{c} is distinct from a.{c})" for c in _OPTIONAL])

# An UPDATE for the rows whose values changed and a plain INSERT for the new ones. INSERT ... ON
# CONFLICT would do both in one, but its speculative insertion cost 11 s of a million-row load
# (bench/README.md); unchanged rows are touched by neither, so their versions do not move. A row
# that another transaction creates between the two arms fails the insert's unique key, and the
# whole load with it (nothing is written; running it again updates that row instead).
_MERGE = f"""
with v as (
  select coalesce(t.code, s.municipality_code::lgcode) as municipality_code, s.source_id, s.category, s.name,
         s.address, ST_GeomFromWKB(s.wkb, 4326) as geom, s.position_accuracy_m::numeric(8, 2) as position_accuracy_m,
         s.height_m::numeric(7, 2) as height_m, s.mountable_height_m::numeric(7, 2) as mountable_height_m,
         s.spare_load_kg::numeric(10, 1) as spare_load_kg, coalesce(s.power, 'unknown') as power,
         s.fibre_distance_m::numeric(10, 1) as fibre_distance_m, s.area_m2::numeric(12, 2) as area_m2,
         coalesce(s.availability, 'offered') as availability, coalesce(s.current_tenants, 0) as current_tenants,
         coalesce(s.max_tenants, 1) as max_tenants, coalesce(s.constraints, '{{}}') as constraints, s.fee_rule,
         s.permit_type, s.contact, s.source, s.last_verified, coalesce(s.visibility, 'carriers') as visibility,
         coalesce(s.status, 'published') as status
    -- A one-tenant load checks its code once here instead of casting every staged row to lgcode.
    from loader_staging s cross join (select $2::lgcode as code) t),
changed as (
  update assets a set
         category = v.category,
         name = v.name,
         geom = v.geom,
         {_SET},
         version = a.version + 1,
         updated_at = now()
    from v
   where a.municipality_code = v.municipality_code and a.source_id = v.source_id
     and ({_CHANGED})
  returning 1),
added as (
  insert into assets (
    municipality_code, source_id, category, name, address, geom, position_accuracy_m, height_m,
    mountable_height_m, spare_load_kg, power, fibre_distance_m, area_m2, availability, current_tenants,
    max_tenants, constraints, fee_rule, permit_type, contact, source, last_verified, visibility, status)
  select v.municipality_code, v.source_id, v.category, v.name, v.address, v.geom, v.position_accuracy_m,
         v.height_m, v.mountable_height_m, v.spare_load_kg, v.power, v.fibre_distance_m, v.area_m2, v.availability,
         v.current_tenants, v.max_tenants, v.constraints, v.fee_rule, v.permit_type, v.contact, v.source,
         v.last_verified, v.visibility, v.status
    from v
   where not exists (select from assets o where o.municipality_code = v.municipality_code
                                            and o.source_id = v.source_id)
  returning 1)
select (select count(*) from added)::int as inserted, (select count(*) from changed)::int as updated
"""

_KNOWN = "select code::text, parent_code::text from municipalities"


@dataclass
class LoadReport:
    file: str
    tenant: str | None
    rows: int
    accepted: int
    rejected: int
    warnings: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    committed: bool = False
    dry_run: bool = False
    seconds: float = 0.0
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would be" if not self.committed else "were"
        head = (f"{self.file}: {self.rows:,} rows, {self.accepted:,} accepted, {self.rejected:,} rejected, "
                f"{self.warnings:,} warnings")
        if self.committed:
            outcome = "committed"
        elif self.dry_run:
            outcome = "dry run: nothing written"
        else:
            outcome = "NOT loaded: nothing written because rows were rejected"
        counts = f"{self.inserted:,} {verb} inserted, {self.updated:,} updated, {self.unchanged:,} unchanged"
        return f"{head}; {counts}; {outcome} ({self.seconds:.1f}s)"


class _Rollback(Exception):
    """Leaves the load's savepoint without a trace: dry runs and loads with rejected rows."""


async def known_municipalities(conn: asyncpg.Connection) -> dict[str, str | None]:
    return {r[0]: r[1] for r in await conn.fetch(_KNOWN)}


async def write_prepared(conn: asyncpg.Connection, prepared: Prepared, *, dry_run: bool = False,
                         progress: Progress | None = None) -> tuple[int, int, list[Issue]]:
    """COPY the accepted rows into staging and merge them; returns (inserted, updated, boundary warnings).

    Runs in its own savepoint (a transaction when the connection has none), rolled back for a dry run
    or when any row was rejected, so a load is stored whole or not at all.
    """
    progress = progress or Silent()
    result: tuple[int, int, list[Issue]] = (0, 0, [])
    try:
        async with conn.transaction():
            # PostGIS functions carry high cost estimates, so a large merge triggers JIT compilation that
            # costs more than it saves; the load's own statements do without it.
            await conn.execute("set local jit = off")
            await conn.execute(_CREATE_STAGING)
            total = prepared.accepted
            columns = list(STAGING_COLUMNS)
            progress.stage("copy")
            for start in range(0, total, COPY_CHUNK):
                chunk = list(zip(*(prepared.columns[c][start:start + COPY_CHUNK] for c in columns), strict=True))
                await conn.copy_records_to_table(STAGING, records=chunk, columns=columns)
                progress.update(min(start + COPY_CHUNK, total), total)
            await conn.execute(f"analyze {STAGING}")
            progress.stage("check")
            outside = [Issue(r["row_no"], r["source_id"], "warning",
                             f"the point lies outside municipality {r['municipality_code']}'s boundary")
                       for r in await conn.fetch(_OUTSIDE_MUNICIPALITY)]
            progress.stage("merge")
            row = await conn.fetchrow(_MERGE, prepared.attributes, prepared.tenant)
            await conn.execute(f"drop table {STAGING}")
            result = (row["inserted"], row["updated"], outside)
            if dry_run or prepared.rejected:
                raise _Rollback
    except _Rollback:
        pass
    finally:
        progress.close()
    return result


def read_and_prepare(path: Path, *, tenant: str | None, known: dict[str, str | None], fmt: str | None = None,
                     layer: str | None = None, source_crs: int | None = None,
                     columns: dict[str, list[str]] | None = None, defaults: dict[str, str] | None = None,
                     display_name: str | None = None) -> Prepared:
    source = read_source(path, fmt, layer)
    if display_name:
        source.name = display_name
    return prepare_source(source, tenant=tenant, known=known, source_crs=source_crs, columns=columns,
                          defaults=defaults)


def prepare_source(source: Source, *, tenant: str | None, known: dict[str, str | None],
                   source_crs: int | None = None, columns: dict[str, list[str]] | None = None,
                   defaults: dict[str, str] | None = None) -> Prepared:
    present = [str(c) for c in source.table.columns]
    mapping: Mapping = build_mapping(present, source.geometry is not None, columns, defaults)
    prepared = prepare(source, mapping, tenant=tenant, known=known, source_crs=source_crs)
    if mapping.layout:
        prepared.notes.insert(0, f"columns matched as {mapping.layout}")
    if source.encoding:
        prepared.notes.insert(0, f"read as {source.encoding}")
    return prepared


async def load_assets(conn: asyncpg.Connection, path: Path, *, tenant: str | None, dry_run: bool = False,
                      fmt: str | None = None, layer: str | None = None, source_crs: int | None = None,
                      columns: dict[str, list[str]] | None = None, defaults: dict[str, str] | None = None,
                      progress: Progress | None = None, display_name: str | None = None) -> LoadReport:
    """Load one file for one municipality (tenant) on a connection whose principal may write it."""
    progress = progress or Silent()
    started = time.monotonic()
    known = await known_municipalities(conn)
    if tenant is not None and tenant not in known:
        raise LoadError(f"{tenant} is not a municipality in the reference list")
    if tenant is not None and known[tenant] is not None:
        raise LoadError(f"{tenant} is a ward; load its assets for the city {known[tenant]}")
    progress.stage("read")
    try:
        prepared = await asyncio.to_thread(read_and_prepare, path, tenant=tenant, known=known, fmt=fmt, layer=layer,
                                           source_crs=source_crs, columns=columns, defaults=defaults,
                                           display_name=display_name)
    finally:
        progress.close()
    return await _store(conn, prepared, display_name or path.name, tenant, dry_run, progress, started)


async def load_source(conn: asyncpg.Connection, source: Source, *, tenant: str | None, dry_run: bool = False,
                      columns: dict[str, list[str]] | None = None, defaults: dict[str, str] | None = None,
                      progress: Progress | None = None) -> LoadReport:
    """Load an in-memory source (the demo generator) through the same validation and bulk path."""
    started = time.monotonic()
    known = await known_municipalities(conn)
    prepared = await asyncio.to_thread(prepare_source, source, tenant=tenant, known=known, columns=columns,
                                       defaults=defaults)
    return await _store(conn, prepared, source.name, tenant, dry_run, progress or Silent(), started)


async def _store(conn: asyncpg.Connection, prepared: Prepared, name: str, tenant: str | None, dry_run: bool,
                 progress: Progress, started: float) -> LoadReport:
    try:
        inserted, updated, outside = await write_prepared(conn, prepared, dry_run=dry_run, progress=progress)
    except asyncpg.UniqueViolationError as exc:
        raise LoadError("another change created an asset with one of this file's source ids while the load ran "
                        f"({exc.detail or exc}); nothing was written, so run the load again") from exc
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
        # Validation mirrors the table's constraints; reaching here means a rule it does not know yet.
        raise LoadError(f"the database refused the load ({exc.__class__.__name__}: {exc}); nothing was written")\
            from exc
    issues = sorted([*prepared.issues, *outside], key=lambda i: (i.row, i.severity != "rejected"))
    return LoadReport(
        file=name, tenant=tenant, rows=prepared.rows, accepted=prepared.accepted, rejected=prepared.rejected,
        warnings=prepared.warnings + len(outside), inserted=inserted, updated=updated,
        unchanged=prepared.accepted - inserted - updated, committed=not dry_run and prepared.rejected == 0,
        dry_run=dry_run, seconds=time.monotonic() - started, issues=issues, notes=prepared.notes)


def write_report(report: LoadReport, target: Path) -> None:
    """Every rejected row and every warning, one line each; UTF-8 with BOM so Excel shows the Japanese."""
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "source_id", "severity", "reason"])
        for issue in report.issues:
            writer.writerow([issue.row, issue.source_id or "", issue.severity, issue.reason])

