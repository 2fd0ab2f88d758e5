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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from loaders.formats import LoadError, Source, read_source
from loaders.mapping import ATTRIBUTES, Mapping, build_mapping
from loaders.progress import Progress, Silent
from loaders.validate import STAGING_COLUMNS, Issue, Prepared, prepare_in_batches

STAGING = "loader_staging"

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

_SET = ",\n    ".join(f"{c} = case when '{c}' = any($1::text[]) then excluded.{c} else a.{c} end" for c in _OPTIONAL)


def _changed(new: str, old: str) -> str:
    required = [f"{new}.{c} is distinct from {old}.{c}" for c in ("category", "name", "geom")]
    optional = [f"('{c}' = any($1::text[]) and {new}.{c} is distinct from {old}.{c})" for c in _OPTIONAL]
    return "\n      or ".join(required + optional)


_COLUMNS = """municipality_code, source_id, category, name, address, geom, position_accuracy_m, height_m,
    mountable_height_m, spare_load_kg, power, fibre_distance_m, area_m2, availability, current_tenants,
    max_tenants, constraints, fee_rule, permit_type, contact, source, last_verified, visibility, status"""

# The keys of the assets that existed before the load, taken once: rows this load adds can never match
# (source ids are unique within a file), so each batch is matched against this table and not against
# assets, whose growth within the transaction the planner cannot see.
_CREATE_EXISTING = """
create temp table loader_existing (municipality_code text not null, source_id text not null) on commit drop
"""
_FILL_EXISTING = """
insert into loader_existing
select municipality_code, source_id from assets where $1::text is null or municipality_code = $1
"""

# New rows go in with a plain INSERT, because INSERT ... ON CONFLICT's speculative insertion cost 11 s of
# a million-row load (bench/README.md). Rows that existed take the ON CONFLICT path, which finds the
# conflict first and updates only a row whose values changed, so an unchanged re-load moves no version.
# A row another transaction creates during the load fails the plain insert's unique key, and the load
# with it: nothing is written, and running it again updates that row instead.
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
         coalesce(s.status, 'published') as status,
         e.source_id is not null as existed
    -- A one-tenant load checks its code once here instead of casting every staged row to lgcode.
    from loader_staging s cross join (select $2::lgcode as code) t
    left join loader_existing e
      on e.municipality_code = coalesce(t.code::text, s.municipality_code) and e.source_id = s.source_id),
changed as (
  insert into assets as a ({_COLUMNS})
  select {_COLUMNS} from v where v.existed
  on conflict (municipality_code, source_id) do update set
    category = excluded.category,
    name = excluded.name,
    geom = excluded.geom,
    {_SET},
    version = a.version + 1,
    updated_at = now()
  where {_changed("excluded", "a")}
  returning 1),
added as (
  insert into assets ({_COLUMNS})
  select {_COLUMNS} from v where not v.existed
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
            return f"{head}; NOT loaded: nothing written because rows were rejected ({self.seconds:.1f}s)"
        counts = f"{self.inserted:,} {verb} inserted, {self.updated:,} updated, {self.unchanged:,} unchanged"
        return f"{head}; {counts}; {outcome} ({self.seconds:.1f}s)"


class _Rollback(Exception):
    """Leaves the load's savepoint without a trace: dry runs and loads with rejected rows."""


@dataclass
class _Tally:
    """What the batches of one load add up to."""

    rows: int = 0
    accepted: int = 0
    inserted: int = 0
    updated: int = 0
    warnings: int = 0
    rejected_rows: set[int] = field(default_factory=set)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, batch: Prepared) -> None:
        self.rows += batch.rows
        self.accepted += batch.accepted
        self.warnings += batch.warnings
        self.rejected_rows.update(i.row for i in batch.issues if i.severity == "rejected")
        self.issues.extend(batch.issues)
        self.notes.extend(n for n in batch.notes if n not in self.notes)


async def known_municipalities(conn: asyncpg.Connection) -> dict[str, str | None]:
    return {r[0]: r[1] for r in await conn.fetch(_KNOWN)}


async def _write_batch(conn: asyncpg.Connection, batch: Prepared, tally: _Tally) -> None:
    """COPY one batch into the (emptied) staging table, note boundary warnings, merge it."""
    await conn.execute(f"truncate {STAGING}")
    columns = list(STAGING_COLUMNS)
    await conn.copy_records_to_table(STAGING, records=batch.records(), columns=columns)
    # Fresh statistics let the planner choose between index probes and a hash join against assets.
    await conn.execute(f"analyze {STAGING}")
    outside = [Issue(r["row_no"], r["source_id"], "warning",
                     f"the point lies outside municipality {r['municipality_code']}'s boundary")
               for r in await conn.fetch(_OUTSIDE_MUNICIPALITY)]
    tally.issues.extend(outside)
    tally.warnings += len(outside)
    row = await conn.fetchrow(_MERGE, batch.attributes, batch.tenant)
    tally.inserted += row["inserted"]
    tally.updated += row["updated"]


async def write_batches(conn: asyncpg.Connection, batches: Iterator[Prepared], total: int, tenant: str | None, *,
                        dry_run: bool = False, progress: Progress | None = None) -> _Tally:
    """Check each batch in a worker thread while the database merges the one before, so the file's checks
    and the merge overlap instead of adding up. Runs in its own savepoint (a transaction when the
    connection has none), rolled back for a dry run or when any row was rejected, so a load is stored
    whole or not at all. Once a row is rejected only the checks go on, to report every rejected row."""
    progress = progress or Silent()
    tally = _Tally()
    checking: asyncio.Future[Prepared | None] | None = None
    try:
        async with conn.transaction():
            # PostGIS functions carry high cost estimates, so a large merge triggers JIT compilation that
            # costs more than it saves; the load's own statements do without it.
            await conn.execute("set local jit = off")
            await conn.execute(_CREATE_STAGING)
            await conn.execute(_CREATE_EXISTING)
            await conn.execute(_FILL_EXISTING, tenant)
            await conn.execute("analyze loader_existing")
            progress.stage("load")
            checking = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            while (batch := await checking) is not None:
                checking = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
                tally.add(batch)
                if batch.accepted and (dry_run or not tally.rejected_rows):
                    await _write_batch(conn, batch, tally)
                progress.update(tally.rows, total)
            checking = None
            await conn.execute(f"drop table {STAGING}, loader_existing")
            if dry_run or tally.rejected_rows:
                raise _Rollback
    except _Rollback:
        pass
    finally:
        if checking is not None:
            # A failed merge leaves the next batch's check running in its thread; let it finish quietly.
            await asyncio.gather(checking, return_exceptions=True)
        progress.close()
    return tally


def _batches(source: Source, *, tenant: str | None, known: dict[str, str | None], source_crs: int | None,
             columns: dict[str, list[str]] | None, defaults: dict[str, str] | None) -> Iterator[Prepared]:
    present = [str(c) for c in source.table.columns]
    mapping: Mapping = build_mapping(present, source.geometry is not None, columns, defaults)
    leading = ([f"read as {source.encoding}"] if source.encoding else []) + (
        [f"columns matched as {mapping.layout}"] if mapping.layout else [])
    for number, batch in enumerate(prepare_in_batches(source, mapping, tenant=tenant, known=known,
                                                      source_crs=source_crs)):
        if number == 0:
            batch.notes[:0] = leading
        yield batch


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
        source = await asyncio.to_thread(read_source, path, fmt, layer)
    finally:
        progress.close()
    if display_name:
        source.name = display_name
    return await _store(conn, source, tenant=tenant, known=known, dry_run=dry_run, source_crs=source_crs,
                        columns=columns, defaults=defaults, progress=progress, started=started)


async def load_source(conn: asyncpg.Connection, source: Source, *, tenant: str | None, dry_run: bool = False,
                      columns: dict[str, list[str]] | None = None, defaults: dict[str, str] | None = None,
                      progress: Progress | None = None) -> LoadReport:
    """Load an in-memory source (the demo generator) through the same validation and bulk path."""
    started = time.monotonic()
    known = await known_municipalities(conn)
    return await _store(conn, source, tenant=tenant, known=known, dry_run=dry_run, source_crs=None, columns=columns,
                        defaults=defaults, progress=progress or Silent(), started=started)


async def _store(conn: asyncpg.Connection, source: Source, *, tenant: str | None, known: dict[str, str | None],
                 dry_run: bool, source_crs: int | None, columns: dict[str, list[str]] | None,
                 defaults: dict[str, str] | None, progress: Progress, started: float) -> LoadReport:
    # Mapping errors and an empty file surface here, before any batch is written.
    batches = _batches(source, tenant=tenant, known=known, source_crs=source_crs, columns=columns,
                       defaults=defaults)
    try:
        tally = await write_batches(conn, batches, len(source.table), tenant, dry_run=dry_run, progress=progress)
    except asyncpg.UniqueViolationError as exc:
        raise LoadError("another change created an asset with one of this file's source ids while the load ran "
                        f"({exc.detail or exc}); nothing was written, so run the load again") from exc
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
        # Validation mirrors the table's constraints; reaching here means a rule it does not know yet.
        raise LoadError(f"the database refused the load ({exc.__class__.__name__}: {exc}); nothing was written")\
            from exc
    rejected = len(tally.rejected_rows)
    # Once a row is rejected the batches after it are only checked, not merged: no counts to give.
    inserted, updated = (tally.inserted, tally.updated) if dry_run or not rejected else (0, 0)
    unchanged = tally.accepted - inserted - updated if dry_run or not rejected else 0
    issues = sorted(tally.issues, key=lambda i: (i.row, i.severity != "rejected"))
    return LoadReport(
        file=source.name, tenant=tenant, rows=tally.rows, accepted=tally.accepted, rejected=rejected,
        warnings=tally.warnings, inserted=inserted, updated=updated, unchanged=unchanged,
        committed=not dry_run and rejected == 0, dry_run=dry_run, seconds=time.monotonic() - started, issues=issues,
        notes=tally.notes)


def write_report(report: LoadReport, target: Path) -> None:
    """Every rejected row and every warning, one line each; UTF-8 with BOM so Excel shows the Japanese."""
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "source_id", "severity", "reason"])
        for issue in report.issues:
            writer.writerow([issue.row, issue.source_id or "", issue.severity, issue.reason])

