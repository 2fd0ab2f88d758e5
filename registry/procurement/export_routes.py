"""A round's needs and savings as one CSV or XLSX: GET .../needs/export and GET .../savings/export."""

from __future__ import annotations

import asyncpg
from litestar import Request, Response, get

from registry.exports.answer import DESCRIPTION, TABLE_OPTIONS, file_answer
from registry.exports.table import ExportOptions
from registry.i18n import tr
from registry.problems import invalid_field
from registry.procurement import export, service, summary, views
from registry.procurement.api import ANY_TENANT, TAG
from registry.procurement.routes_reports import Detail


@get("/v1/procurement/rounds/{round_id:str}/needs/export", tags=TAG, guards=[ANY_TENANT], media_type="text/csv",
     dependencies={"options": TABLE_OPTIONS}, summary="Every need of a round your key may see, as one CSV or XLSX",
     description="The rows of GET .../needs (same visibility), no page. " + DESCRIPTION)
async def export_needs(request: Request, db: asyncpg.Connection, round_id: str, options: ExportOptions) -> Response:
    r = await service.visible_round(db, round_id)
    return await file_answer(request, export.need_chunks(db, r.organiser_code, r.round_id), export.NEED_COLUMNS,
                             options, f"needs-{r.round_id}", "需要")


@get("/v1/procurement/rounds/{round_id:str}/savings/export", tags=TAG, guards=[ANY_TENANT], media_type="text/csv",
     dependencies={"options": TABLE_OPTIONS}, summary="A round's savings report as one CSV or XLSX",
     description="The rows of GET .../savings (same scope; `detail=municipality` adds a row per municipality and "
                 "pool): the headline first with its method, then the tendered section, then the untendered one; "
                 "each figure with its basis and method. " + DESCRIPTION)
async def export_savings(request: Request, db: asyncpg.Connection, round_id: str, options: ExportOptions,
                         detail: Detail = None) -> Response:
    if detail not in (None, "municipality"):
        raise invalid_field("detail", tr("the one detail on offer is `municipality`; leave it out for the "
                                          "roll-ups"))
    r = await service.visible_round(db, round_id)
    _, seen = await summary.scoped(db, r, request.user)
    table = views.savings_table(seen.headline, seen.rows, bool(detail))
    return await file_answer(request, export.savings_chunks(table), export.SAVINGS_COLUMNS, options,
                             f"savings-{r.round_id}", "削減効果")


route_handlers: list = [export_needs, export_savings]
