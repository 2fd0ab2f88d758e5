"""Notices, questions, sealed bids, opening, evaluation and the award from bids: the steps that read or write.

The rules are pure in `bids`; every statement is in `bid_queries` (or `queries` for tenders and
contracts). Row security seals bids on its own (sql/131); the checks here say why in a sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from registry.i18n import tr
from registry.params import parse_uuid
from registry.principal import Principal
from registry.problems import Conflict, NotFound
from registry.procurement import bid_queries, bids, queries, rules, service
from registry.procurement.bid_models import (
    AnswerCreate,
    Bid,
    BidPage,
    BidSubmit,
    Evaluation,
    Notice,
    NoticeCreate,
    NoticeLot,
    Opening,
    Question,
    QuestionCreate,
)
from registry.procurement.models import TenderRecord
from registry.procurement.views import tender_view
from registry.suppliers.queries import supplier_names


def _now() -> datetime:
    return datetime.now(UTC)


async def publish(db: asyncpg.Connection, principal: Principal, tender_id: str, data: NoticeCreate) -> Notice:
    """Publish a formed tender to suppliers (a planned tender becomes active); once per tender."""
    found, rp = await service.organised_tender(db, principal, tender_id)
    bids.check_notice(data.bid_deadline, _now())
    if found.status == "planned":
        saved = await service.change_status(db, found, rp, found.version, "active")
        if saved is None:
            raise Conflict(tr("The tender changed while it was being published; try again."))
    elif found.status != "active":
        raise Conflict(tr("A {status} tender cannot be published to suppliers; only a planned or active one.",
                          status=found.status))
    view = tender_view(rp, found, await queries.lots_of(db, found.organiser_code, found.tender_id))
    category = rp.categories[found.category_code]
    notice = await bid_queries.insert_notice(
        db, found.organiser_code, found.tender_id, found.title, found.category_code, category.unit_code,
        category.unit_name, found.requirements,
        [NoticeLot(lot.lot_id, lot.title, lot.quantity, lot.participants) for lot in view.lots],
        data.delivery_date, data.description, data.bid_deadline)
    if notice is None:
        raise Conflict(tr("Tender {tender_id} is published already; its notice stays as suppliers read it.",
                          tender_id=found.tender_id))
    return notice


async def visible_notice(db: asyncpg.Connection, tender_id: str) -> Notice:
    found = await bid_queries.get_notice(db, parse_uuid(tender_id, "tender_id"))
    if found is None:
        raise NotFound(tr("No published tender {tender_id} among those your key may see.", tender_id=tender_id))
    return found


async def organised_notice(db: asyncpg.Connection, principal: Principal, tender_id: str
                           ) -> tuple[Notice, TenderRecord]:
    tender, _ = await service.organised_tender(db, principal, tender_id)
    return await visible_notice(db, tender_id), tender


async def ask(db: asyncpg.Connection, principal: Principal, tender_id: str, data: QuestionCreate) -> Question:
    notice = await visible_notice(db, tender_id)
    bids.require_before_deadline(_now(), notice.bid_deadline, "ask")
    return await bid_queries.insert_question(db, notice.organiser_code, notice.tender_id, principal.tenant_code,
                                             data.question)


async def answer(db: asyncpg.Connection, principal: Principal, question_id: str, data: AnswerCreate) -> Question:
    found = await bid_queries.get_question(db, parse_uuid(question_id, "question_id"))
    if found is None or not rules.is_organiser(principal, found[0]):
        raise NotFound(tr("No question {question_id} among those your key may answer.", question_id=question_id))
    saved = await bid_queries.answer_question(db, found[0], found[1].question_id, data.answer,
                                              data.question_as_published)
    assert saved is not None  # the question was just read under the same policies
    return saved


def _lot(notice: Notice, lot_id: str) -> str:
    if lot_id not in {lot.lot_id for lot in notice.lots}:
        raise NotFound(tr("No lot {lot_id} in tender {tender_id}; its lots are {lots}.", lot_id=f"{lot_id!r}",
                          tender_id=notice.tender_id, lots=", ".join(lot.lot_id for lot in notice.lots)))
    return lot_id


async def put_bid(db: asyncpg.Connection, principal: Principal, tender_id: str, lot_id: str,
                  data: BidSubmit) -> tuple[Bid, bool]:
    notice = await visible_notice(db, tender_id)
    lot = _lot(notice, lot_id)
    bids.require_before_deadline(_now(), notice.bid_deadline, "submit")
    unit_price, curve = bids.check_bid(data, notice.requirements)
    try:
        return await bid_queries.put_bid(db, principal.tenant_code, notice.organiser_code, notice.tender_id, lot,
                                         dict(data.offer), unit_price, curve)
    except asyncpg.InsufficientPrivilegeError as exc:  # the row policy: the tender stopped taking bids
        raise Conflict(tr("Tender {tender_id} takes no bids any more (cancelled, or past its deadline).",
                          tender_id=notice.tender_id)) from exc


async def withdraw_bid(db: asyncpg.Connection, principal: Principal, tender_id: str, lot_id: str) -> Bid:
    notice = await visible_notice(db, tender_id)
    lot = _lot(notice, lot_id)
    bids.require_before_deadline(_now(), notice.bid_deadline, "withdraw")
    withdrawn = await bid_queries.withdraw_bid(db, principal.tenant_code, notice.tender_id, lot)
    if withdrawn is None:
        raise NotFound(tr("You have no submitted bid for lot {lot_id} of tender {tender_id}.", lot_id=lot,
                          tender_id=notice.tender_id))
    return withdrawn


async def list_bids(db: asyncpg.Connection, tender_id: str) -> BidPage:
    notice = await visible_notice(db, tender_id)
    sealed = notice.opened_at is None or _now() < notice.bid_deadline
    return BidPage(sealed, notice.bid_deadline, notice.opened_at, await bid_queries.list_bids(db, notice.tender_id))


async def open_bids(db: asyncpg.Connection, principal: Principal, tender_id: str) -> Opening:
    """Record the opening after the deadline (idempotent: a second call answers the first opening)."""
    notice, tender = await organised_notice(db, principal, tender_id)
    if _now() < notice.bid_deadline:
        raise Conflict(tr("Bids stay sealed until the deadline, {deadline}.",
                          deadline=notice.bid_deadline.isoformat()))
    opened = await bid_queries.record_opening(db, tender.organiser_code, tender.tender_id)
    if opened is None or opened.opened_at is None:  # the database's clock is behind ours
        raise Conflict(tr("Bids stay sealed until the deadline, {deadline}.",
                          deadline=notice.bid_deadline.isoformat()))
    submitted = [b for b in await bid_queries.list_bids(db, tender.tender_id) if b.status == "submitted"]
    return Opening(tender.tender_id, opened.bid_deadline, opened.opened_at, len(submitted),
                   len({b.supplier_code for b in submitted}))


async def evaluate(db: asyncpg.Connection, principal: Principal, tender_id: str) -> Evaluation:
    notice, tender = await organised_notice(db, principal, tender_id)
    if notice.opened_at is None:
        raise Conflict(tr("Open the bids first (POST .../opening, after the deadline); until then they are "
                          "sealed."))
    all_bids = await bid_queries.list_bids(db, tender.tender_id)
    lines = await bid_queries.buyer_lines(db, tender.organiser_code, tender.tender_id)
    names = await supplier_names(db, sorted({b.supplier_code for b in all_bids}))
    return Evaluation(tender.tender_id, bids.METHOD, [
        bids.evaluate_lot(lot.lot_id, [x for x in lines if x.lot_id == lot.lot_id], all_bids, names)
        for lot in notice.lots])


async def award_from_bids(db: asyncpg.Connection, principal: Principal, tender_id: str,
                          expected_version: int) -> tuple[TenderRecord, TenderRecord | None]:
    """Award every lot to its winning bid: one lot award per lot, one contract per buyer and lot at the price
    the winning bid gives for the lot's pooled quantity. (the tender as read, the awarded tender or None when
    its version moved on)."""
    found, rp = await service.organised_tender(db, principal, tender_id)
    group = rp.tender_group(found.tender_id)
    rules.check_award(found, rp.round, len(group.participants) if group else 0, group.quantity if group else 0)
    evaluation = await evaluate(db, principal, tender_id)
    won = bids.winners(evaluation.lots)
    head = won[bids.headline_lot(evaluation.lots)]
    opened = {b.bid_id: b for b in await bid_queries.list_bids(db, found.tender_id)}
    saved = await queries.award_tender(db, found.organiser_code, found.tender_id, expected_version,
                                       head.supplier_name, head.supplier_code, head.unit_price_yen,
                                       opened[head.bid_id].price_curve)
    if saved is None:
        return found, None
    by_lot = {e.lot_id: e for e in evaluation.lots}
    await bid_queries.insert_lot_awards(db, found.organiser_code, found.tender_id, [
        (lot, w.supplier_code, w.bid_id, by_lot[lot].pooled_quantity, w.unit_price_yen, opened[w.bid_id].price_curve)
        for lot, w in won.items()])
    lines = await bid_queries.buyer_lines(db, found.organiser_code, found.tender_id)
    contracts = [c for lot, w in won.items() for c in rules.contract_lines(
        [(x.municipality_code, x.lot_id, x.quantity) for x in lines if x.lot_id == lot], w.unit_price_yen)]
    await queries.insert_contracts(db, found.organiser_code, found.tender_id, contracts)
    return found, saved
