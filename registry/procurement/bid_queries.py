"""SQL of tender notices, questions, sealed bids and lot awards (sql/131). Fixed text, $n parameters.

Row security decides who sees a bid: before the deadline and the recorded opening, a query for a
tender's bids returns the caller's own (a supplier) or nothing at all (anyone else).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import asyncpg
import msgspec

from registry.procurement.bid_models import Bid, LotAward, Notice, NoticeLot, PublishedAnswer, Question
from registry.procurement.bids import BuyerLine
from registry.procurement.pricing import PriceTier


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


_NOTICE = """tender_id::text, organiser_code, title, category_code, unit_code, unit_name, requirements::text,
       lots::text, delivery_date, description, bid_deadline, published_at, opened_at"""


def _notice(row: asyncpg.Record) -> Notice:
    values = list(row)
    values[6] = msgspec.json.decode(values[6])
    values[7] = msgspec.json.decode(values[7], type=list[NoticeLot])
    return Notice(*values)


async def insert_notice(db: asyncpg.Connection, organiser: str, tender_id: str, title: str, category: str,
                        unit_code: str, unit_name: str, requirements: dict, lots: Sequence[NoticeLot],
                        delivery: date | None, description: str | None, deadline: datetime) -> Notice | None:
    """The published notice; None when the tender has one already."""
    row = await db.fetchrow(
        f"""insert into procurement_tender_notices (organiser_code, tender_id, title, category_code, unit_code,
                   unit_name, requirements, lots, delivery_date, description, bid_deadline)
            values ($1, $2::uuid, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)
            on conflict (organiser_code, tender_id) do nothing
            returning {_NOTICE}""",
        organiser, tender_id, title, category, unit_code, unit_name, _json(requirements), _json(list(lots)),
        delivery, description, deadline)
    return _notice(row) if row else None


async def get_notice(db: asyncpg.Connection, tender_id: str) -> Notice | None:
    row = await db.fetchrow(f"select {_NOTICE} from procurement_tender_notices where tender_id = $1::uuid",
                            tender_id)
    return _notice(row) if row else None


async def list_notices(db: asyncpg.Connection, open_only: bool) -> list[Notice]:
    rows = await db.fetch(f"""select {_NOTICE} from procurement_tender_notices
                               where not $1 or now() < bid_deadline order by bid_deadline, tender_id""", open_only)
    return [_notice(r) for r in rows]


async def record_opening(db: asyncpg.Connection, organiser: str, tender_id: str) -> Notice | None:
    """Set opened_at once the deadline passed (kept if set already); None before the deadline."""
    row = await db.fetchrow(
        f"""update procurement_tender_notices set opened_at = coalesce(opened_at, now())
             where organiser_code = $1 and tender_id = $2::uuid and now() >= bid_deadline
         returning {_NOTICE}""", organiser, tender_id)
    return _notice(row) if row else None


# ---------------------------------------------------------------- questions

_QUESTION = """question_id::text, tender_id::text, supplier_code, question, asked_at, published_question, answer,
       answered_at"""


async def insert_question(db: asyncpg.Connection, organiser: str, tender_id: str, supplier: str,
                          text: str) -> Question:
    row = await db.fetchrow(
        f"""insert into procurement_tender_questions (organiser_code, tender_id, supplier_code, question)
            values ($1, $2::uuid, $3, $4) returning {_QUESTION}""", organiser, tender_id, supplier, text)
    return Question(*row)


async def list_questions(db: asyncpg.Connection, tender_id: str) -> list[Question]:
    """The questions the caller may see: a supplier its own, the organiser all."""
    rows = await db.fetch(f"""select {_QUESTION} from procurement_tender_questions where tender_id = $1::uuid
                              order by asked_at, question_id""", tender_id)
    return [Question(*r) for r in rows]


async def get_question(db: asyncpg.Connection, question_id: str) -> tuple[str, Question] | None:
    row = await db.fetchrow(f"""select organiser_code, {_QUESTION} from procurement_tender_questions
                                 where question_id = $1::uuid""", question_id)
    return (row[0], Question(*row[1:])) if row else None


async def answer_question(db: asyncpg.Connection, organiser: str, question_id: str, answer: str,
                          published: str | None) -> Question | None:
    row = await db.fetchrow(
        f"""update procurement_tender_questions
               set answer = $3, published_question = coalesce($4, published_question, question),
                   answered_at = now()
             where organiser_code = $1 and question_id = $2::uuid
         returning {_QUESTION}""", organiser, question_id, answer, published)
    return Question(*row) if row else None


async def published_answers(db: asyncpg.Connection, organiser: str, tender_id: str) -> list[PublishedAnswer]:
    rows = await db.fetch("select question_id::text, question, answer, answered_at "
                          "from app.tender_answers($1, $2::uuid)", organiser, tender_id)
    return [PublishedAnswer(*r) for r in rows]


# ---------------------------------------------------------------- bids

_BID = """bid_id::text, supplier_code, tender_id::text, lot_id, offer::text, unit_price_yen, price_curve::text,
       status, version, submitted_at, updated_at"""


def _bid(row: asyncpg.Record) -> Bid:
    values = list(row)
    values[4] = msgspec.json.decode(values[4])
    values[6] = msgspec.json.decode(values[6], type=list[PriceTier]) if values[6] else None
    return Bid(*values)


async def put_bid(db: asyncpg.Connection, supplier: str, organiser: str, tender_id: str, lot_id: str,
                  offer: dict[str, str], unit_price: int | None, curve: list[PriceTier] | None
                  ) -> tuple[Bid, bool]:
    """Submit or replace the supplier's bid for a lot: (the bid, True when it is new)."""
    row = await db.fetchrow(
        f"""insert into procurement_bids as b (supplier_code, organiser_code, tender_id, lot_id, offer,
                   unit_price_yen, price_curve)
            values ($1, $2, $3::uuid, $4, $5::jsonb, $6, $7::jsonb)
            on conflict (supplier_code, organiser_code, tender_id, lot_id) do update
               set offer = excluded.offer, unit_price_yen = excluded.unit_price_yen,
                   price_curve = excluded.price_curve, status = 'submitted', version = b.version + 1,
                   updated_at = now()
            returning {_BID}, (xmax = 0) as created""",
        supplier, organiser, tender_id, lot_id, _json(offer), unit_price, _json(curve) if curve else None)
    return _bid(row[:-1]), row["created"]


async def withdraw_bid(db: asyncpg.Connection, supplier: str, tender_id: str, lot_id: str) -> Bid | None:
    row = await db.fetchrow(
        f"""update procurement_bids set status = 'withdrawn', version = version + 1, updated_at = now()
             where supplier_code = $1 and tender_id = $2::uuid and lot_id = $3 and status = 'submitted'
         returning {_BID}""", supplier, tender_id, lot_id)
    return _bid(row) if row else None


async def list_bids(db: asyncpg.Connection, tender_id: str) -> list[Bid]:
    """The tender's bids the caller may see (sealed: its own, or none, until the opening)."""
    rows = await db.fetch(f"select {_BID} from procurement_bids where tender_id = $1::uuid "
                          "order by lot_id, supplier_code", tender_id)
    return [_bid(r) for r in rows]


async def buyer_lines(db: asyncpg.Connection, organiser: str, tender_id: str) -> list[BuyerLine]:
    """Active needs of the tender with their maximum unit prices (the organiser sees its round's needs)."""
    rows = await db.fetch(
        """select n.municipality_code::text, tn.lot_id, n.quantity, n.max_unit_price_yen
             from procurement_tender_needs tn
             join procurement_needs n on n.municipality_code = tn.municipality_code and n.need_id = tn.need_id
            where tn.organiser_code = $1 and tn.tender_id = $2::uuid and n.status = 'active'
            order by tn.lot_id, n.municipality_code, n.need_id""", organiser, tender_id)
    return [BuyerLine(*r) for r in rows]


async def insert_lot_awards(db: asyncpg.Connection, organiser: str, tender_id: str,
                            awards: Sequence[tuple[str, str, str, int, int, list[PriceTier] | None]]) -> None:
    """(lot, supplier, bid id, pooled quantity, unit price, the bid's curve or None) per lot; the curve is
    copied because the savings report prices each lot on it for everyone who sees the round (sql/140)."""
    await db.executemany(
        """insert into procurement_lot_awards (organiser_code, tender_id, lot_id, supplier_code, bid_id,
                  pooled_quantity, unit_price_yen, price_curve)
           values ($1, $2::uuid, $3, $4, $5::uuid, $6, $7, $8::jsonb)""",
        [(organiser, tender_id, *a[:5], _json(a[5]) if a[5] else None) for a in awards])


async def lot_awards(db: asyncpg.Connection, tender_ids: Sequence[str]) -> list[LotAward]:
    rows = await db.fetch(
        """select a.tender_id::text, a.lot_id, a.supplier_code, coalesce(s.name, a.supplier_code), a.bid_id::text,
                  a.pooled_quantity, a.unit_price_yen, a.awarded_at
             from procurement_lot_awards a left join suppliers s on s.corporate_number = a.supplier_code
            where a.tender_id = any($1::uuid[]) order by a.tender_id, a.lot_id""", list(tender_ids))
    return [LotAward(*r) for r in rows]


async def opened_bids(db: asyncpg.Connection, tender_ids: Sequence[str]) -> list[tuple[Bid, str]]:
    """Bids of opened tenders the caller may see, with the supplier's name (for OCDS)."""
    rows = await db.fetch(
        f"""select {_BID}, coalesce(s.name, b.supplier_code)
              from procurement_bids b left join suppliers s on s.corporate_number = b.supplier_code
             where b.tender_id = any($1::uuid[]) and app.bids_opened(b.organiser_code, b.tender_id)
             order by b.tender_id, b.lot_id, b.supplier_code""", list(tender_ids))
    return [(_bid(r[:-1]), r[-1]) for r in rows]
