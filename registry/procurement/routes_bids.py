"""Tender notices, suppliers' questions and answers, sealed bids, their opening, evaluation and the award."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, delete, get, post, put
from litestar.params import Parameter

from registry import etags
from registry.auth.guards import requires
from registry.idempotency import respond_once
from registry.procurement import bid_queries, bid_service, queries, service
from registry.procurement.api import ORGANISERS, TAG, IdempotencyKey, IfMatch
from registry.procurement.bid_models import (
    AnswerCreate,
    AnswerPage,
    Bid,
    BidPage,
    BidSubmit,
    Evaluation,
    Notice,
    NoticeCreate,
    NoticePage,
    Opening,
    Question,
    QuestionCreate,
    QuestionPage,
)
from registry.procurement.demand import RoundPools
from registry.procurement.models import Tender
from registry.procurement.views import tender_view

SUPPLIERS = requires("supplier")
READERS = requires("municipality", "prefecture", "supplier", "admin")
BIDDERS_AND_ORGANISERS = requires("prefecture", "supplier", "admin")
OpenOnly = Annotated[bool, Parameter(description="only notices whose bid deadline is still ahead")]


@post("/v1/procurement/tenders/{tender_id:str}/notice", tags=TAG, guards=[ORGANISERS],
      summary="Publish a formed tender to suppliers: lots, quantities, requirements, delivery, bid deadline",
      description="A planned tender becomes active. Once per tender: the notice is what every supplier bids on.")
async def publish_notice(request: Request, db: asyncpg.Connection, tender_id: str, data: NoticeCreate,
                         idempotency_key: IdempotencyKey = None) -> Response[Notice]:
    async def produce() -> Notice:
        return await bid_service.publish(db, request.user, tender_id, data)

    return await respond_once(db, request, idempotency_key, data, produce)


@get("/v1/procurement/notices", tags=TAG, guards=[READERS], summary="Published tender notices")
async def list_notices(db: asyncpg.Connection, open_only: OpenOnly = False) -> NoticePage:
    return NoticePage(await bid_queries.list_notices(db, open_only))


@get("/v1/procurement/tenders/{tender_id:str}/notice", tags=TAG, guards=[READERS],
     summary="The notice of a published tender")
async def get_notice(db: asyncpg.Connection, tender_id: str) -> Notice:
    return await bid_service.visible_notice(db, tender_id)


@post("/v1/procurement/tenders/{tender_id:str}/questions", tags=TAG, guards=[SUPPLIERS],
      summary="Ask the organiser a question about a published tender, privately, until the bid deadline")
async def ask_question(request: Request, db: asyncpg.Connection, tender_id: str, data: QuestionCreate,
                       idempotency_key: IdempotencyKey = None) -> Response[Question]:
    async def produce() -> Question:
        return await bid_service.ask(db, request.user, tender_id, data)

    return await respond_once(db, request, idempotency_key, data, produce)


@get("/v1/procurement/tenders/{tender_id:str}/questions", tags=TAG, guards=[BIDDERS_AND_ORGANISERS],
     summary="Questions about a tender: a supplier its own, the organiser all with who asked")
async def list_questions(db: asyncpg.Connection, tender_id: str) -> QuestionPage:
    notice = await bid_service.visible_notice(db, tender_id)
    return QuestionPage(await bid_queries.list_questions(db, notice.tender_id))


@post("/v1/procurement/questions/{question_id:str}/answer", tags=TAG, guards=[ORGANISERS], status_code=200,
      summary="Answer a supplier's question; the answer is published to every supplier without the asker")
async def answer_question(request: Request, db: asyncpg.Connection, question_id: str,
                          data: AnswerCreate) -> Question:
    return await bid_service.answer(db, request.user, question_id, data)


@get("/v1/procurement/tenders/{tender_id:str}/answers", tags=TAG, guards=[READERS],
     summary="Published answers to suppliers' questions, anonymised")
async def list_answers(db: asyncpg.Connection, tender_id: str) -> AnswerPage:
    notice = await bid_service.visible_notice(db, tender_id)
    return AnswerPage(await bid_queries.published_answers(db, notice.organiser_code, notice.tender_id))


@put("/v1/procurement/tenders/{tender_id:str}/lots/{lot_id:str}/bid", tags=TAG, guards=[SUPPLIERS],
     summary="Submit or replace your sealed bid for a lot (a unit price or a tiered price curve)",
     description="Until the bid deadline. The offer must name a value meeting every requirement of the tender. "
                 "201 for a new bid, 200 for a replaced one (its version goes up).")
async def put_bid(request: Request, db: asyncpg.Connection, tender_id: str, lot_id: str,
                  data: BidSubmit) -> Response[Bid]:
    saved, created = await bid_service.put_bid(db, request.user, tender_id, lot_id, data)
    return etags.tagged(saved, saved.version, status=201 if created else 200)


@delete("/v1/procurement/tenders/{tender_id:str}/lots/{lot_id:str}/bid", tags=TAG, guards=[SUPPLIERS],
        status_code=200, summary="Withdraw your bid for a lot, until the bid deadline")
async def withdraw_bid(request: Request, db: asyncpg.Connection, tender_id: str, lot_id: str) -> Bid:
    return await bid_service.withdraw_bid(db, request.user, tender_id, lot_id)


@get("/v1/procurement/tenders/{tender_id:str}/bids", tags=TAG, guards=[BIDDERS_AND_ORGANISERS],
     summary="Bids of a tender: sealed (a supplier sees its own, nobody else any) until opened after the deadline")
async def list_bids(db: asyncpg.Connection, tender_id: str) -> BidPage:
    return await bid_service.list_bids(db, tender_id)


@post("/v1/procurement/tenders/{tender_id:str}/opening", tags=TAG, guards=[ORGANISERS], status_code=200,
      summary="Open the bids together once the deadline passed; the opening is recorded")
async def open_bids(request: Request, db: asyncpg.Connection, tender_id: str) -> Opening:
    return await bid_service.open_bids(db, request.user, tender_id)


@get("/v1/procurement/tenders/{tender_id:str}/evaluation", tags=TAG, guards=[ORGANISERS],
     summary="Opened bids ranked per lot: lowest compliant price at the pooled quantity, reasons for the rest")
async def evaluation(request: Request, db: asyncpg.Connection, tender_id: str) -> Evaluation:
    return await bid_service.evaluate(db, request.user, tender_id)


@post("/v1/procurement/tenders/{tender_id:str}/award-from-bids", tags=TAG, guards=[ORGANISERS], status_code=200,
      summary="Award every lot to its winning bid; one contract per buying municipality",
      description="After the opening and the round's withdrawal deadline. Each contract is priced at what the "
                  "winning bid gives for its lot's pooled quantity.")
async def award_from_bids(request: Request, db: asyncpg.Connection, tender_id: str,
                          if_match: IfMatch = None) -> Response[Tender]:
    expected = etags.required_version(if_match)
    found, saved = await bid_service.award_from_bids(db, request.user, tender_id, expected)
    if saved is None:
        raise etags.stale(found.version)
    rp = await RoundPools.load(db, await service.visible_round(db, saved.round_id))
    view = tender_view(rp, saved, await queries.lots_of(db, saved.organiser_code, saved.tender_id))
    return etags.tagged(view, view.version)


route_handlers: list = [publish_notice, list_notices, get_notice, ask_question, list_questions, answer_question,
                        list_answers, put_bid, withdraw_bid, list_bids, open_bids, evaluation, award_from_bids]
