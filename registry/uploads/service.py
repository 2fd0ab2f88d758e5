"""An upload through the file loader, on the request's own connection.

The municipality principal and row security apply exactly as for single-asset writes, and the
request's transaction makes the load all or nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import asyncpg

from loaders.assets import LoadReport, load_assets
from loaders.formats import LoadError
from registry.i18n import message_of, tr
from registry.problems import FieldError, Unprocessable
from registry.uploads import queries
from registry.uploads.models import UploadIssue, UploadReport
from registry.uploads.options import UnreadableFile, UploadOptions

_SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "shapefile": ".zip", "csv": ".csv", "xlsx": ".xlsx"}
# Reported in a problem's `errors`; the full list is always in a dry run's answer.
_MAX_LISTED = 1000
# A large file takes longer than the API's default statement timeout (5 s); this request only.
_LOAD_TIMEOUT_S = 300


def _report(report: LoadReport, tenant: str) -> UploadReport:
    return UploadReport(
        file=report.file, municipality_code=tenant, dry_run=report.dry_run, committed=report.committed,
        rows=report.rows, accepted=report.accepted, rejected=report.rejected, warnings=report.warnings,
        inserted=report.inserted, updated=report.updated, unchanged=report.unchanged, notes=report.notes,
        issues=[UploadIssue(i.row, i.source_id, i.severity, i.reason) for i in report.issues])


async def load(db: asyncpg.Connection, tenant: str, data: bytes, filename: str,
               options: UploadOptions) -> UploadReport:
    """Load `data` for `tenant`; any rejected row stores nothing and answers 422 listing the rows."""
    await queries.allow_long_statements(db, _LOAD_TIMEOUT_S)
    with tempfile.TemporaryDirectory(prefix="kyodo-upload-") as folder:
        path = Path(folder) / (Path(filename).stem[:100] + _SUFFIX[options.format])
        path.write_bytes(data)
        try:
            report = await load_assets(db, path, tenant=tenant, dry_run=options.dry_run, fmt=options.format,
                                       layer=options.layer, source_crs=options.source_crs, columns=options.columns,
                                       defaults=options.defaults, display_name=filename, sheet=options.sheet,
                                       publish=options.publish)
        except LoadError as exc:
            raise UnreadableFile(tr("The file could not be loaded: {error}", error=message_of(exc))) from exc
    if report.rejected and not options.dry_run:
        rejected = [i for i in report.issues if i.severity == "rejected"]
        raise Unprocessable(
            tr("{rejected} of {rows} rows were rejected, so nothing was stored; fix them (each is listed "
               "with its reason) or send the file with dry_run=true for the full report.",
               rejected=f"{report.rejected:,}", rows=f"{report.rows:,}"),
            errors=[FieldError(f"row {i.row}" + (f" ({i.source_id})" if i.source_id else ""), i.reason)
                    for i in rejected[:_MAX_LISTED]])
    return _report(report, tenant)
