"""Joint procurement routes: pooled demand, savings (JSON or CSV), what-if and the OCDS export of a round."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, get
from litestar.params import Parameter

from registry.problems import NotFound
from registry.procurement import ocds, queries, service, views
from registry.procurement.api import ANY_TENANT, TAG, F, FormatAlias, csv_answer, wanted_format
from registry.procurement.demand import RoundPools
from registry.procurement.models import Aggregate, SavingsReport
from registry.procurement.savings import METHOD_VERSION, WhatIf, report, what_if


@get("/v1/procurement/rounds/{round_id:str}/aggregate", tags=TAG, guards=[ANY_TENANT],
     summary="Pooled demand per category and compatible specification")
async def aggregate(request: Request, db: asyncpg.Connection, round_id: str) -> Aggregate:
    rp = await RoundPools.load(db, await service.visible_round(db, round_id))
    return views.aggregate(rp, request.user)


@get("/v1/procurement/rounds/{round_id:str}/savings", tags=TAG, guards=[ANY_TENANT],
     summary="Savings per municipality, tender, category, prefecture and in total (JSON or CSV)",
     description="`?f=csv` (or `Accept: text/csv`) for CSV; `?format=` is the deprecated spelling of `f`. Each "
                 "figure carries its method, method version and baseline source.")
async def savings(request: Request, db: asyncpg.Connection, round_id: str, f: F = None,
                  format: FormatAlias = None) -> Response[SavingsReport]:
    fmt = wanted_format(request, f, format)
    r = await service.visible_round(db, round_id)
    rp = await RoundPools.load(db, r)
    rows = report(rp.inputs(), await queries.visible_baselines(db, r.organiser_code, r.round_id))
    if fmt == "csv":
        return csv_answer([views.savings_cells(x) for x in rows], views.SAVINGS_COLUMNS, f"savings-{r.round_id}")
    return Response(SavingsReport(r.round_id, METHOD_VERSION, views.FORMULAS,
                                  views.savings_scope(request.user, r.organiser_code), rows))


@get("/v1/procurement/rounds/{round_id:str}/what-if", tags=TAG, guards=[ANY_TENANT],
     summary="If k more municipalities join with quantity q each, what does each participant save")
async def savings_what_if(
    request: Request, db: asyncpg.Connection, round_id: str,
    pool: Annotated[str, Parameter(description="pool key from the aggregate (e.g. pc/1) or a tender id")],
    k: Annotated[int, Parameter(ge=0, le=2000, description="municipalities joining")],
    q: Annotated[int, Parameter(ge=1, le=100_000_000, description="quantity each joiner brings")],
    f: F = None, format: FormatAlias = None,
) -> Response[WhatIf]:
    fmt = wanted_format(request, f, format)
    r = await service.visible_round(db, round_id)
    rp = await RoundPools.load(db, r)
    group = rp.group(pool)
    if group is None:
        raise NotFound(f"No pool {pool!r} in round {r.round_id}; see its aggregate for the pool keys.")
    baselines = await queries.visible_baselines(db, r.organiser_code, r.round_id)
    result = what_if(group, rp.pricing(group), baselines, k, q, rp.categories[group.category_code].list_price_yen)
    if fmt == "csv":
        return csv_answer(views.what_if_cells(result), views.WHAT_IF_COLUMNS, f"what-if-{r.round_id}")
    return Response(result)


@get("/v1/ocds/rounds/{round_id:str}", tags=TAG, guards=[ANY_TENANT],
     summary="OCDS 1.1 release package of a round: plans and shared tenders",
     description="One planning release per municipality's needs you may see, one contracting release per "
                 "shared tender (lots, contract-buyer and techniques extensions).")
async def ocds_round(request: Request, db: asyncpg.Connection, round_id: str) -> Response[dict[str, Any]]:
    r = await service.visible_round(db, round_id)
    rp = await RoundPools.load(db, r)
    organiser = views.organiser_org(r.organiser_code, await queries.prefecture_name(db, r.organiser_code))
    needs = await queries.active_needs(db, r.organiser_code, r.round_id)
    names = await queries.municipality_names(
        db, sorted({n.municipality_code for n in needs} | {line.municipality_code for line in rp.lines}))
    lots = {t: await queries.lots_of(db, r.organiser_code, t) for t in rp.tenders}
    contracts = await queries.list_contracts(db, list(rp.tenders))
    now = datetime.now(UTC)
    releases = views.ocds_releases(rp, organiser, needs, names, lots, contracts, now)
    return Response(ocds.package(releases, str(request.url), now, "Kyodo Registry"),
                    media_type="application/json")


route_handlers: list = [aggregate, savings, savings_what_if, ocds_round]
