"""Asset uploads by municipal staff: the file loader behind an authenticated route.

The load runs on the request's own connection, so the municipality principal and row security
apply exactly as for single-asset writes, and the request's transaction makes it all or nothing.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter

from loaders.assets import LoadReport, load_assets
from loaders.formats import FORMATS, LoadError, detect_format
from loaders.mapping import parse_pairs
from registry.auth.guards import requires
from registry.idempotency import respond_once
from registry.params import parse_code
from registry.principal import Principal
from registry.problems import FieldError, Forbidden, Problem, Unprocessable, invalid_field
from registry.uploads.models import UploadIssue, UploadReport

_SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "shapefile": ".zip", "csv": ".csv"}
# Reported in a problem's `errors`; the full list is always in a dry run's answer.
_MAX_LISTED = 1000


class UnreadableFile(Problem):
    status, title, slug = 400, "Unreadable file", "unreadable-file"


def _report(report: LoadReport, tenant: str) -> UploadReport:
    return UploadReport(
        file=report.file, municipality_code=tenant, dry_run=report.dry_run, committed=report.committed,
        rows=report.rows, accepted=report.accepted, rejected=report.rejected, warnings=report.warnings,
        inserted=report.inserted, updated=report.updated, unchanged=report.unchanged, notes=report.notes,
        issues=[UploadIssue(i.row, i.source_id, i.severity, i.reason) for i in report.issues])


async def _file(request: Request) -> tuple[bytes, str, dict[str, Any]]:
    """The uploaded bytes, a file name, and form fields: multipart (field `file`) or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid_field("file", "send the file in a multipart field named `file`")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return await upload.read(), upload.filename or "upload", fields
    return await request.body(), "upload", {}


def _mapping(text: str | None) -> tuple[dict[str, list[str]], dict[str, str]]:
    """`mapping`: JSON like a mapping file, or attr=column pairs separated by commas."""
    if not text:
        return {}, {}
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise invalid_field("mapping", f"not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise invalid_field("mapping", "expected a JSON object of attribute: column")
        raw = doc.get("columns", {} if "defaults" in doc else doc)
        defaults = doc.get("defaults", {})
        if not isinstance(raw, dict) or not isinstance(defaults, dict):
            raise invalid_field("mapping", "'columns' and 'defaults' are JSON objects")
        columns = {str(k): [str(c) for c in (v if isinstance(v, list) else [v])] for k, v in raw.items()}
        return columns, {str(k): str(v) for k, v in defaults.items()}
    try:
        pairs = parse_pairs([p for p in text.split(",") if p.strip()], "mapping")
    except LoadError as exc:
        raise invalid_field("mapping", str(exc)) from exc
    return {k: [c.strip() for c in v.split("+")] for k, v in pairs.items()}, {}


@post("/v1/assets/uploads", tags=["assets"], summary="Load a file of the municipality's assets",
      guards=[requires("municipality")], status_code=200)
async def upload_assets(
    request: Request,
    db: asyncpg.Connection,
    dry_run: Annotated[bool, Parameter(description="validate and report; store nothing")] = False,
    format: Annotated[str | None, Parameter(description=f"one of {', '.join(FORMATS)}; else from the file "
                                            "name or its first bytes")] = None,
    mapping: Annotated[str | None, Parameter(description="attr=column pairs separated by commas, or a mapping "
                                             "JSON document; a multipart `mapping` field works too")] = None,
    default: Annotated[str | None, Parameter(description="attr=value constants separated by commas, e.g. "
                                             "category=streetlight")] = None,
    layer: Annotated[str | None, Parameter(description="GeoPackage layer")] = None,
    source_crs: Annotated[int | None, Parameter(description="EPSG code for a file that declares none")] = None,
    tenant: Annotated[str | None, Parameter(description="must be your own municipality if given")] = None,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key")] = None,
) -> Response:
    """Multipart (`file`, optional `mapping`) or a raw body (with `format` or a Content-Type). The answer
    lists the counts and every rejected row with its reason; any rejected row stores nothing (422)."""
    principal: Principal = request.user
    if tenant is not None and parse_code(tenant, "tenant") != principal.tenant_code:
        raise Forbidden(f"Your key loads assets for {principal.tenant_code} only.")
    data, filename, fields = await _file(request)
    if not data.strip():
        raise UnreadableFile("The uploaded file is empty.")
    hint = format
    if hint is None and fields.get("format"):
        hint = fields["format"]
    if hint is None:
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype and not ctype.startswith(("multipart/", "application/octet-stream")):
            hint = ctype
    try:
        kind = detect_format(filename, data[:64], hint)
    except LoadError as exc:
        raise invalid_field("format", str(exc)) from exc
    columns, defaults = _mapping(fields.get("mapping") or mapping)
    if default:
        try:
            defaults.update(parse_pairs([p for p in default.split(",") if p.strip()], "default"))
        except LoadError as exc:
            raise invalid_field("default", str(exc)) from exc
    payload = {"sha256": hashlib.sha256(data).hexdigest(), "dry_run": dry_run, "format": kind, "columns": columns,
               "defaults": defaults, "layer": layer, "source_crs": source_crs}

    async def produce() -> UploadReport:
        # A large file takes longer than the API's default statement timeout; this request only.
        await db.execute("select set_config('statement_timeout', '300s', true)")
        with tempfile.TemporaryDirectory(prefix="kyodo-upload-") as folder:
            path = Path(folder) / (Path(filename).stem[:100] + _SUFFIX[kind])
            path.write_bytes(data)
            try:
                report = await load_assets(db, path, tenant=principal.tenant_code, dry_run=dry_run, fmt=kind,
                                           layer=layer, source_crs=source_crs, columns=columns, defaults=defaults,
                                           display_name=filename)
            except LoadError as exc:
                raise UnreadableFile(str(exc)) from exc
        if report.rejected and not dry_run:
            rejected = [i for i in report.issues if i.severity == "rejected"]
            raise Unprocessable(
                f"{report.rejected:,} of {report.rows:,} rows were rejected, so nothing was stored; fix them "
                "(each is listed with its reason) or send the file with dry_run=true for the full report.",
                errors=[FieldError(f"row {i.row}" + (f" ({i.source_id})" if i.source_id else ""), i.reason)
                        for i in rejected[:_MAX_LISTED]])
        return _report(report, principal.tenant_code)

    return await respond_once(db, request, idempotency_key, payload, produce, status=200)


route_handlers: list = [upload_assets]
