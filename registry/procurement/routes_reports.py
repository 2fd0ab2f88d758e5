"""Joint procurement routes: pooled demand, savings (JSON or CSV), what-if and the OCDS export of a round."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get
from litestar.params import Parameter
from litestar.response import Stream

from registry.exports.answer import coding_for, compressed
from registry.i18n import tr
from registry.problems import NotFound, invalid_field
from registry.procurement import ocds_stream, service, summary, views
from registry.procurement.api import (
    ANY_TENANT,
    PRECOMPRESSED,
    TAG,
    F,
    FormatAlias,
    csv_answer,
    precompressed,
    wanted_format,
)
from registry.procurement.models import Aggregate, SavingsReport
from registry.procurement.savings import METHOD_VERSION, UNTENDERED
from registry.procurement.what_if import WhatIf, what_if

Detail = Annotated[str | None, Parameter(
    description="`municipality` adds one row per municipality and pool (34,820 at national scale); "
                "without it, the roll-ups by tender, category, prefecture and in total",
    schema_extra={"enum": ["municipality"]})]


# The JSON answers of these routes are kept encoded and compressed per version of the round and reader's scope
# (summary.answer; the compression middleware skips them: api.PRECOMPRESSED), the `Response[...]` types say
# what they hold for the API description. The OCDS package compresses itself as it streams.
KEPT = {PRECOMPRESSED: True}


@get("/v1/procurement/rounds/{round_id:str}/aggregate", tags=TAG, guards=[ANY_TENANT], opt=KEPT,
     summary="Pooled demand per category and compatible specification")
async def aggregate(request: Request, db: asyncpg.Connection, round_id: str) -> Response[Aggregate]:
    key, _, seen = await summary.versioned(db, await service.visible_round(db, round_id), request.user)
    return precompressed(request, await summary.answer((*key, "aggregate"), lambda: seen.aggregate))


@get("/v1/procurement/rounds/{round_id:str}/savings", tags=TAG, guards=[ANY_TENANT], opt=KEPT,
     summary="Savings by tender, category, prefecture and in total; per municipality on request (JSON or CSV)",
     description=f"`headline` is realised savings + process savings of awarded tenders (method {METHOD_VERSION}, "
                 "formula in docs/procurement.md); `rows` are the pools that went to tender, `untendered` those "
                 "that did not, which no total counts. `?detail=municipality` adds a row per municipality and "
                 "pool. `?f=csv` (or `Accept: text/csv`) for CSV, headline first; `?format=` is the deprecated "
                 "spelling of `f`. Each figure carries its basis (catalogue or awarded), method, method version "
                 "and baseline source; prefecture and total rows carry yen only, never a quantity.")
async def savings(request: Request, db: asyncpg.Connection, round_id: str, f: F = None,
                  format: FormatAlias = None, detail: Detail = None) -> Response[SavingsReport]:
    fmt = wanted_format(request, f, format)
    if detail not in (None, "municipality"):
        raise invalid_field("detail", tr("the one detail on offer is `municipality`; leave it out for the "
                                         "roll-ups"))
    r = await service.visible_round(db, round_id)
    key, _, seen = await summary.versioned(db, r, request.user)
    if fmt == "csv":
        return csv_answer(views.savings_table(seen.headline, seen.rows, bool(detail)), views.SAVINGS_COLUMNS,
                          f"savings-{r.round_id}")

    def report() -> SavingsReport:
        shown = [row for row in seen.rows if detail or row.level != "municipality"]
        return SavingsReport(r.round_id, METHOD_VERSION, views.FORMULAS,
                             views.savings_scope(request.user, r.organiser_code), seen.headline,
                             [row for row in shown if row.section != UNTENDERED],
                             [row for row in shown if row.section == UNTENDERED])

    return precompressed(request, await summary.answer((*key, "savings"), report, keep=detail is None))


@get("/v1/procurement/rounds/{round_id:str}/what-if", tags=TAG, guards=[ANY_TENANT], opt=KEPT,
     summary="If k more municipalities join with quantity q each, what does each participant save",
     description="On the catalogue curve, while the pool can still change: a pool whose tender is awarded, "
                 "contracted, cancelled or unsuccessful answers 409 saying why.")
async def savings_what_if(
    request: Request, db: asyncpg.Connection, round_id: str,
    pool: Annotated[str, Parameter(description="pool key from the aggregate (e.g. pc/1) or a tender id")],
    k: Annotated[int, Parameter(ge=0, le=2000, description="municipalities joining")],
    q: Annotated[int, Parameter(ge=1, le=100_000_000, description="quantity each joiner brings")],
    f: F = None, format: FormatAlias = None,
) -> Response[WhatIf]:
    fmt = wanted_format(request, f, format)
    r = await service.visible_round(db, round_id)
    key, rp, seen = await summary.versioned(db, r, request.user)
    group = rp.group(pool)
    if group is None:
        raise NotFound(tr("No pool {pool} in round {round_id}; see its aggregate for the pool keys.",
                          pool=f"{pool!r}", round_id=r.round_id))

    def result() -> WhatIf:
        return what_if(group, rp.pricing(group), seen.baselines, k, q,
                       rp.categories[group.category_code].list_price_yen)

    if fmt == "csv":
        return csv_answer(views.what_if_cells(result()), views.WHAT_IF_COLUMNS, f"what-if-{r.round_id}")
    return precompressed(request, await summary.answer((*key, "what-if", group.key, k, q), result))


@get("/v1/ocds/rounds/{round_id:str}", tags=TAG, guards=[ANY_TENANT], opt=KEPT,
     summary="OCDS 1.1 release package of a round: plans and shared tenders",
     description="One planning release per municipality's needs you may see, one contracting release per "
                 "shared tender (lots, contract-buyer and techniques extensions).")
async def ocds_round(request: Request, db: asyncpg.Connection, round_id: str) -> Stream:
    r = await service.visible_round(db, round_id)
    pieces = await ocds_stream.primed(request.app.state.pool, request.user, r, str(request.url))
    # Compressed here at the exports' fast levels (the middleware's brotli quality 5 cost the national package,
    # 20.8 MB, 260 ms of CPU: bench/PROCUREMENT.md).
    coding = coding_for(request)
    if coding is None:
        return Stream(pieces, media_type="application/json")
    return Stream(compressed(pieces, coding), media_type="application/json",
                  headers={"Content-Encoding": coding, "Vary": "Accept-Encoding"})


route_handlers: list = [aggregate, savings, savings_what_if, ocds_round]
