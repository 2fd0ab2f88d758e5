"""Asset uploads by municipal staff: the file loader behind an authenticated route."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter

from loaders.formats import FORMATS
from registry.auth.guards import requires
from registry.i18n import tr
from registry.idempotency import respond_once
from registry.params import parse_code
from registry.problems import invalid_field
from registry.tenancy import acting_for
from registry.uploads import service
from registry.uploads.options import parse_options


async def _file(request: Request) -> tuple[bytes, str, dict[str, Any]]:
    """The uploaded bytes, a file name, and form fields: multipart (field `file`) or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid_field("file", tr("send the file in a multipart field named `file`"))
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return await upload.read(), upload.filename or "upload", fields
    return await request.body(), "upload", {}


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
    sheet: Annotated[str | None, Parameter(description="the sheet of an Excel workbook (.xlsx); the first when not "
                                           "given")] = None,
    publish: Annotated[bool, Parameter(description="publish the file's assets (new and existing) for carriers to "
                                       "see; without it new assets are drafts and existing ones keep their "
                                       "status")] = False,
    source_crs: Annotated[str | None, Parameter(description="the coordinate reference system of a file that "
                                                "declares none, as an EPSG code: EPSG:6677 or 6668")] = None,
    tenant: Annotated[str | None, Parameter(description="must be your own municipality if given")] = None,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key")] = None,
) -> Response:
    """Multipart (`file`, optional `mapping`) or a raw body (with `format` or a Content-Type). New assets are
    drafts unless `publish=true`. The answer lists the counts and every rejected row and warning with its reason;
    any rejected row stores nothing (422)."""
    municipality = acting_for(request.user, tenant, "tenant", parse=parse_code, what="municipality")
    data, filename, fields = await _file(request)
    options = parse_options(data, filename, fields, request.headers.get("content-type", ""), dry_run=dry_run,
                            format=format, mapping=mapping, default=default, layer=layer, source_crs=source_crs,
                            sheet=sheet, publish=publish)
    payload = {"sha256": hashlib.sha256(data).hexdigest(), "dry_run": dry_run, "format": options.format,
               "columns": options.columns, "defaults": options.defaults, "layer": layer,
               "source_crs": options.source_crs, "sheet": options.sheet, "publish": publish}
    return await respond_once(db, request, idempotency_key, payload,
                              lambda: service.load(db, municipality, data, filename, options), status=200)


route_handlers: list = [upload_assets]
