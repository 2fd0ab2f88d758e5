"""Asset loads: read → validate → COPY into a staging table → one set-based merge, all or nothing.

Runs on a connection of the API role with the principal already set (admin for the CLI, the
municipality for an upload), so row security decides what may be written, exactly as for the API.
The merge touches only rows whose values changed and logs every update whose version moved (audit, change
feed: loaders/merge.py), so an unchanged re-load must not move any version.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from loaders import validate
from loaders.chunks import read_in_chunks
from loaders.formats import LoadError, Source, read_source
from loaders.mapping import Mapping, build_mapping
from loaders.merge import MERGE_SETTINGS, NOT_LOGGED_BY_THE_LOAD, Announce, Tally, Writer
from loaders.parallel import Parallel, can_run, write_parallel
from loaders.pipeline import run_batches
from loaders.progress import Progress, Silent
from loaders.validate import Issue, Prepared, prepare_in_batches
from registry.events.loads import ISSUES_IN_EVENT, load_finished
from registry.i18n import tr

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


async def known_municipalities(conn: asyncpg.Connection) -> dict[str, str | None]:
    return {r[0]: r[1] for r in await conn.fetch(_KNOWN)}


async def write_batches(conn: asyncpg.Connection, batches: Iterator[Prepared], total: int, tenant: str | None, *,
                        dry_run: bool = False, progress: Progress | None = None,
                        announce: Announce | None = None) -> Tally:
    """Merge the batches on one connection, in its own savepoint (a transaction when the connection has
    none), rolled back for a dry run or when any row was rejected, so a load is stored whole or not at all;
    `announce` writes the load's event in that same savepoint when it is kept."""
    progress = progress or Silent()
    writer = Writer(conn)
    tally = Tally()
    try:
        async with conn.transaction():
            await conn.execute(MERGE_SETTINGS)
            await writer.create_staging(temporary=True)
            await writer.create_existing(tenant, temporary=True)
            progress.stage("load")
            tally = await run_batches([writer], batches, total, dry_run=dry_run, progress=progress)
            if dry_run or tally.rejected_rows:
                raise _Rollback
            await writer.count_cells()
            # An upload's transaction goes on after the load: its later writes to assets fire the triggers.
            await conn.execute(NOT_LOGGED_BY_THE_LOAD)
            await conn.execute(f"drop table {writer.staging}, {writer.existing}, {writer.cells}")
            if announce is not None:
                await announce(conn, tally)
    except _Rollback:
        pass
    finally:
        progress.close()
    return tally


def _batches(source: Source, *, tenant: str | None, known: dict[str, str | None], source_crs: int | None,
             columns: dict[str, list[str]] | None, defaults: dict[str, str] | None,
             publish: bool) -> Iterator[Prepared]:
    present = [str(c) for c in source.table.columns]
    mapping: Mapping = build_mapping(present, source.geometry is not None, columns, defaults, publish=publish)
    leading = ([f"read as {source.encoding}"] if source.encoding else []) + (
        [f"columns matched as {mapping.layout}"] if mapping.layout else []) + (
        [] if publish or "status" in mapping.columns else
        ["new assets are stored as drafts (not visible to carriers); publish them with --publish (CLI) or "
         "publish=true (upload), or give a status column"])
    for number, batch in enumerate(prepare_in_batches(source, mapping, tenant=tenant, known=known,
                                                      source_crs=source_crs)):
        if number == 0:
            batch.notes[:0] = leading
        yield batch


async def load_assets(conn: asyncpg.Connection, path: Path, *, tenant: str | None, dry_run: bool = False,
                      fmt: str | None = None, layer: str | None = None, source_crs: int | None = None,
                      columns: dict[str, list[str]] | None = None, defaults: dict[str, str] | None = None,
                      progress: Progress | None = None, display_name: str | None = None,
                      parallel: Parallel | None = None, sheet: str | None = None,
                      publish: bool = False) -> LoadReport:
    """Load one file for one municipality (tenant) on a connection whose principal may write it. With
    `parallel`, a file of more than one batch is merged over several connections (loaders.parallel)."""
    progress = progress or Silent()
    started = time.monotonic()
    known = await known_municipalities(conn)
    if tenant is not None and tenant not in known:
        raise LoadError(tr("{tenant} is not a municipality in the reference list", tenant=tenant))
    if tenant is not None and known[tenant] is not None:
        raise LoadError(tr("{tenant} is a ward; load its assets for the city {city}", tenant=tenant,
                           city=known[tenant]))
    progress.stage("read")
    try:
        source = await asyncio.to_thread(read_source, path, fmt, layer, sheet, chunked=read_in_chunks)
    finally:
        progress.close()
    if display_name:
        source.name = display_name
    return await _store(conn, source, tenant=tenant, known=known, dry_run=dry_run, source_crs=source_crs,
                        columns=columns, defaults=defaults, progress=progress, started=started, parallel=parallel,
                        publish=publish)


async def load_source(conn: asyncpg.Connection, source: Source, *, tenant: str | None, dry_run: bool = False,
                      columns: dict[str, list[str]] | None = None, defaults: dict[str, str] | None = None,
                      progress: Progress | None = None, publish: bool = False) -> LoadReport:
    """Load an in-memory source (the demo generator) through the same validation and bulk path."""
    started = time.monotonic()
    known = await known_municipalities(conn)
    return await _store(conn, source, tenant=tenant, known=known, dry_run=dry_run, source_crs=None, columns=columns,
                        defaults=defaults, progress=progress or Silent(), started=started, publish=publish)


async def _store(conn: asyncpg.Connection, source: Source, *, tenant: str | None, known: dict[str, str | None],
                 dry_run: bool, source_crs: int | None, columns: dict[str, list[str]] | None,
                 defaults: dict[str, str] | None, progress: Progress, started: float,
                 parallel: Parallel | None = None, publish: bool = False) -> LoadReport:
    async def announce(db: asyncpg.Connection, tally: Tally) -> None:
        """load.finished in the load's own transaction (sql/087): it exists if and only if the load committed."""
        inserted, updated = tally.inserted, tally.updated
        issues = sorted(tally.issues, key=lambda i: (i.row, i.severity != "rejected"))[:ISSUES_IN_EVENT]
        await load_finished(db, sorted(tally.municipalities), {
            "file": source.name, "rows": tally.rows, "accepted": tally.accepted, "warnings": tally.warnings,
            "inserted": inserted, "updated": updated, "unchanged": tally.accepted - inserted - updated,
            "published": publish, "seconds": round(time.monotonic() - started, 1), "notes": tally.notes,
            "issues": [{"row": i.row, "source_id": i.source_id, "severity": i.severity, "reason": i.reason}
                       for i in issues]})

    # Mapping errors and an empty file surface here, before any batch is written.
    batches = _batches(source, tenant=tenant, known=known, source_crs=source_crs, columns=columns,
                       defaults=defaults, publish=publish)
    total = source.rows
    try:
        if parallel is not None and total > validate.BATCH_ROWS and await can_run(conn, parallel.workers):
            tally = await write_parallel(parallel, batches, total, tenant, dry_run=dry_run, progress=progress,
                                         announce=announce)
        else:
            tally = await write_batches(conn, batches, total, tenant, dry_run=dry_run, progress=progress,
                                        announce=announce)
    except asyncpg.UniqueViolationError as exc:
        raise LoadError(tr("another change created an asset with one of this file's source ids while the load ran "
                           "({error}); nothing was written, so run the load again", error=exc.detail or str(exc))) \
            from exc
    except (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
        # Validation mirrors the table's constraints; reaching here means a rule it does not know yet.
        raise LoadError(tr("the database refused the load ({kind}: {error}); nothing was written",
                           kind=exc.__class__.__name__, error=str(exc))) from exc
    rejected = len(tally.rejected_rows)
    # Once a row is rejected the batches after it are only checked, not merged: no counts to give.
    merged = dry_run or not rejected
    inserted, updated = (tally.inserted, tally.updated) if merged else (0, 0)
    unchanged = tally.accepted - inserted - updated if merged else 0
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

