"""GET /v1/applications/export: the applications list as one CSV or XLSX for a clerk's Excel."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get
from litestar.params import Parameter

from registry.applications import export, states
from registry.exports.answer import DESCRIPTION, TABLE_OPTIONS, file_answer
from registry.exports.table import ExportOptions


@get("/v1/applications/export", tags=["applications"], media_type="text/csv", dependencies={"options": TABLE_OPTIONS},
     summary="Every application your key may see, as one CSV or XLSX",
     description="The rows of GET /v1/applications (same filters, same visibility), no page. " + DESCRIPTION)
async def export_applications(
    request: Request, db: asyncpg.Connection, options: ExportOptions,
    status: states.Status | None = None,
    overdue: Annotated[bool, Parameter(description="only open applications past their decision date")] = False,
) -> Response:
    return await file_answer(request, export.chunks(db, status, overdue), export.COLUMNS, options, "applications",
                             "申請")


route_handlers = [export_applications]
