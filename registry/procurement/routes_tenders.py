"""Joint procurement routes: shared tenders formed from pooled demand, their lifecycle, awards and contracts."""

from __future__ import annotations

import asyncpg
from litestar import Request, Response, get, post

from registry import etags
from registry.idempotency import respond_once
from registry.procurement import queries, service
from registry.procurement.api import ANY_TENANT, ORGANISERS, TAG, IdempotencyKey, IfMatch
from registry.procurement.demand import RoundPools
from registry.procurement.models import (
    AwardCreate,
    ContractPage,
    FormResult,
    StatusChange,
    Tender,
    TenderForm,
    TenderPage,
    TenderRecord,
)
from registry.procurement.views import tender_view


@post("/v1/procurement/rounds/{round_id:str}/tenders", tags=TAG, guards=[ORGANISERS],
      summary="Form shared tenders from a category's pooled demand",
      description="One tender per compatible pool that meets the rules (minimum participants and quantity); "
                  "pools that do not are listed with the reason. Only after the submission window closed.")
async def form_tenders(request: Request, db: asyncpg.Connection, round_id: str, data: TenderForm,
                       idempotency_key: IdempotencyKey = None) -> Response[FormResult]:
    r = await service.organised_round(db, request.user, round_id)

    async def produce() -> FormResult:
        return await service.form_tenders(db, r, data)

    return await respond_once(db, request, idempotency_key, data, produce)


async def _view(db: asyncpg.Connection, rp: RoundPools, tender: TenderRecord) -> Tender:
    return tender_view(rp, tender, await queries.lots_of(db, tender.organiser_code, tender.tender_id))


@get("/v1/procurement/rounds/{round_id:str}/tenders", tags=TAG, guards=[ANY_TENANT],
     summary="Shared tenders of a round")
async def list_tenders(db: asyncpg.Connection, round_id: str) -> TenderPage:
    rp = await RoundPools.load(db, await service.visible_round(db, round_id))
    return TenderPage([await _view(db, rp, t) for t in rp.tenders.values()])


@get("/v1/procurement/tenders/{tender_id:str}", tags=TAG, guards=[ANY_TENANT], summary="One shared tender")
async def get_tender(db: asyncpg.Connection, tender_id: str) -> Response[Tender]:
    found, rp = await service.visible_tender(db, tender_id)
    view = await _view(db, rp, found)
    return etags.tagged(view, view.version)


@post("/v1/procurement/tenders/{tender_id:str}/status", tags=TAG, guards=[ORGANISERS], status_code=200,
      summary="Move a tender through its lifecycle (publish, contract, cancel, unsuccessful)")
async def change_tender_status(request: Request, db: asyncpg.Connection, tender_id: str, data: StatusChange,
                               if_match: IfMatch = None) -> Response[Tender]:
    expected = etags.required_version(if_match)
    found, rp = await service.organised_tender(db, request.user, tender_id)
    saved = await service.change_status(db, found, rp, expected, data.status)
    if saved is None:
        raise etags.stale(found.version)
    view = await _view(db, rp, saved)
    return etags.tagged(view, view.version)


@post("/v1/procurement/tenders/{tender_id:str}/award", tags=TAG, guards=[ORGANISERS], status_code=200,
      summary="Award a tender: supplier and unit price (or bid curve); one contract per municipality",
      description="Only an active tender, and only after the round's withdrawal deadline, so that the pooled "
                  "quantity the contracts are priced at is firm.")
async def award_tender(request: Request, db: asyncpg.Connection, tender_id: str, data: AwardCreate,
                       if_match: IfMatch = None) -> Response[Tender]:
    expected = etags.required_version(if_match)
    found, rp = await service.organised_tender(db, request.user, tender_id)
    saved = await service.award(db, found, rp, expected, data)
    if saved is None:
        raise etags.stale(found.version)
    view = await _view(db, await RoundPools.load(db, rp.round), saved)
    return etags.tagged(view, view.version)


@get("/v1/procurement/tenders/{tender_id:str}/contracts", tags=TAG, guards=[ANY_TENANT],
     summary="Contracts of an awarded tender your key may see (one per municipality)")
async def tender_contracts(db: asyncpg.Connection, tender_id: str) -> ContractPage:
    found, _ = await service.visible_tender(db, tender_id)
    return ContractPage(await queries.list_contracts(db, [found.tender_id]))


route_handlers: list = [form_tenders, list_tenders, get_tender, change_tender_status, award_tender, tender_contracts]
