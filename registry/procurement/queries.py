"""SQL of joint procurement: fixed text, $n parameters only. Row security decides what each caller sees."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from registry.procurement.aggregate import PoolLine
from registry.procurement.models import (
    Category,
    Contract,
    LotRecord,
    Need,
    NeedFields,
    NeedVersion,
    Round,
    TenderRecord,
)
from registry.procurement.pricing import PriceTier
from registry.procurement.savings import Baseline, LotPrice
from registry.procurement.states import round_phase


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _load(text: str | None) -> Any:
    return msgspec.json.decode(text) if text is not None else None


# ---------------------------------------------------------------- catalogue

_CATEGORY = """category_code, name, name_en, unit_code, unit_name, list_price_yen, spec_attributes::text,
       price_tiers::text, process_cost_yen, version"""


def _category(row: asyncpg.Record) -> Category:
    return Category(row["category_code"], row["name"], row["name_en"], row["unit_code"], row["unit_name"],
                    row["list_price_yen"], _load(row["spec_attributes"]),
                    msgspec.json.decode(row["price_tiers"], type=list[PriceTier]), row["process_cost_yen"],
                    row["version"])


async def list_categories(db: asyncpg.Connection) -> list[Category]:
    return [_category(r) for r in await db.fetch(f"select {_CATEGORY} from procurement_categories order by 1")]


async def get_category(db: asyncpg.Connection, code: str) -> Category | None:
    row = await db.fetchrow(f"select {_CATEGORY} from procurement_categories where category_code = $1", code)
    return _category(row) if row else None


async def get_categories(db: asyncpg.Connection, codes: Sequence[str]) -> dict[str, Category]:
    rows = await db.fetch(f"select {_CATEGORY} from procurement_categories where category_code = any($1::text[])",
                          list(codes))
    return {r["category_code"]: _category(r) for r in rows}


async def insert_category(db: asyncpg.Connection, c: Category) -> Category:
    row = await db.fetchrow(
        f"""insert into procurement_categories (category_code, name, name_en, unit_code, unit_name, list_price_yen,
                   spec_attributes, price_tiers, process_cost_yen)
            values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)
            returning {_CATEGORY}""",
        c.category_code, c.name, c.name_en, c.unit_code, c.unit_name, c.list_price_yen, _json(c.spec_attributes),
        _json(c.price_tiers), c.process_cost_yen)
    return _category(row)


async def update_category(db: asyncpg.Connection, c: Category, expected_version: int) -> Category | None:
    row = await db.fetchrow(
        f"""update procurement_categories
               set name = $3, name_en = $4, unit_name = $5, list_price_yen = $6, spec_attributes = $7::jsonb,
                   price_tiers = $8::jsonb, process_cost_yen = $9, version = version + 1, updated_at = now()
             where category_code = $1 and version = $2
         returning {_CATEGORY}""",
        c.category_code, expected_version, c.name, c.name_en, c.unit_name, c.list_price_yen,
        _json(c.spec_attributes), _json(c.price_tiers), c.process_cost_yen)
    return _category(row) if row else None


# ---------------------------------------------------------------- rounds

_ROUND = """round_id::text, organiser_code, title, prefectures, category_codes, opens_at, closes_at,
       withdrawal_deadline, min_participants, min_quantity, version, created_at, updated_at"""


def _round(row: asyncpg.Record) -> Round:
    r = Round(*row)
    r.phase = round_phase(r.opens_at, r.closes_at, r.withdrawal_deadline, datetime.now(UTC))
    return r


async def insert_round(db: asyncpg.Connection, organiser: str, title: str, prefectures: list[str],
                       categories: list[str], opens_at: datetime | None, closes_at: datetime,
                       withdrawal_deadline: datetime, min_participants: int, min_quantity: int) -> Round:
    row = await db.fetchrow(
        f"""insert into procurement_rounds (organiser_code, title, prefectures, category_codes, opens_at, closes_at,
                   withdrawal_deadline, min_participants, min_quantity)
            values ($1, $2, $3, $4, coalesce($5, now()), $6, $7, $8, $9)
            returning {_ROUND}""",
        organiser, title, prefectures, categories, opens_at, closes_at, withdrawal_deadline, min_participants,
        min_quantity)
    return _round(row)


async def get_round(db: asyncpg.Connection, round_id: str) -> Round | None:
    row = await db.fetchrow(f"select {_ROUND} from procurement_rounds where round_id = $1::uuid", round_id)
    return _round(row) if row else None


async def list_rounds(db: asyncpg.Connection, after: tuple[datetime, str] | None, limit: int) -> list[Round]:
    """Newest first; `after` is the (created_at, round_id) of the last round already shown."""
    rows = await db.fetch(
        f"""select {_ROUND} from procurement_rounds
             where ($1::timestamptz is null or (created_at, round_id) < ($1::timestamptz, $2::uuid))
             order by created_at desc, round_id desc limit $3""",
        after[0] if after else None, after[1] if after else None, limit)
    return [_round(r) for r in rows]


async def update_round(db: asyncpg.Connection, r: Round, expected_version: int) -> Round | None:
    row = await db.fetchrow(
        f"""update procurement_rounds
               set title = $3, opens_at = $4, closes_at = $5, withdrawal_deadline = $6, min_participants = $7,
                   min_quantity = $8, version = version + 1, updated_at = now()
             where organiser_code = $1 and round_id = $2::uuid and version = $9
         returning {_ROUND}""",
        r.organiser_code, r.round_id, r.title, r.opens_at, r.closes_at, r.withdrawal_deadline, r.min_participants,
        r.min_quantity, expected_version)
    return _round(row) if row else None


# ---------------------------------------------------------------- needs

_NEED = """need_id::text, municipality_code::text, organiser_code, round_id::text, category_code, quantity,
       quantity_max, requirements::text, baseline_unit_price_yen, baseline_source, max_unit_price_yen,
       budget_status, delivery_date, contact_name, contact_email, status, version, created_at, updated_at,
       withdrawn_at"""


def _need(row: asyncpg.Record) -> Need:
    values = list(row)
    values[7] = _load(values[7])
    return Need(*values)


async def insert_needs(db: asyncpg.Connection, organiser: str, round_id: str,
                       needs: Sequence[tuple[str, str, NeedFields]]) -> list[Need]:
    """Insert (municipality, category, fields) lines in one statement: a bulk upload is all or nothing."""
    cols: list[list[Any]] = [[] for _ in range(13)]
    for municipality, category, f in needs:
        for i, value in enumerate((municipality, category, f.quantity, f.quantity_max, _json(f.requirements),
                                   f.baseline_unit_price_yen, f.baseline_source, f.max_unit_price_yen,
                                   f.budget_status, f.delivery_date, f.contact_name, f.contact_email)):
            cols[i].append(value)
    rows = await db.fetch(
        f"""insert into procurement_needs (organiser_code, round_id, municipality_code, category_code, quantity,
                   quantity_max, requirements, baseline_unit_price_yen, baseline_source, max_unit_price_yen,
                   budget_status, delivery_date, contact_name, contact_email)
            select $1, $2::uuid, m, c, q, qmax, r::jsonb, b, bs, mx, st, dd, cn, ce
              from unnest($3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::bigint[], $9::text[],
                          $10::bigint[], $11::text[], $12::date[], $13::text[], $14::text[])
                   with ordinality as t(m, c, q, qmax, r, b, bs, mx, st, dd, cn, ce, n)
             order by n
            returning {_NEED}""",
        organiser, round_id, *cols[:12])
    return [_need(r) for r in rows]


async def get_need(db: asyncpg.Connection, need_id: str) -> Need | None:
    row = await db.fetchrow(f"select {_NEED} from procurement_needs where need_id = $1::uuid", need_id)
    return _need(row) if row else None


async def list_needs(db: asyncpg.Connection, organiser: str, round_id: str, after: tuple[str, str] | None,
                     limit: int) -> list[Need]:
    """By municipality and id; `after` is the (municipality_code, need_id) of the last need already shown."""
    rows = await db.fetch(
        f"""select {_NEED} from procurement_needs
             where organiser_code = $1 and round_id = $2::uuid
               and ($3::text is null or (municipality_code::text, need_id) > ($3::text, $4::uuid))
             order by municipality_code, need_id limit $5""",
        organiser, round_id, after[0] if after else None, after[1] if after else None, limit)
    return [_need(r) for r in rows]


async def active_needs(db: asyncpg.Connection, organiser: str, round_id: str) -> list[Need]:
    """Every active need of the round the caller may see (for exports that show a round whole)."""
    rows = await db.fetch(
        f"""select {_NEED} from procurement_needs
             where organiser_code = $1 and round_id = $2::uuid and status = 'active'
             order by municipality_code, need_id""",
        organiser, round_id)
    return [_need(r) for r in rows]


async def update_need(db: asyncpg.Connection, municipality: str, need_id: str, expected_version: int,
                      f: NeedFields) -> Need | None:
    row = await db.fetchrow(
        f"""update procurement_needs
               set quantity = $4, quantity_max = $5, requirements = $6::jsonb, baseline_unit_price_yen = $7,
                   baseline_source = $8, max_unit_price_yen = $9, budget_status = $10, delivery_date = $11,
                   contact_name = $12, contact_email = $13, version = version + 1, updated_at = now()
             where municipality_code = $1 and need_id = $2::uuid and version = $3 and status = 'active'
         returning {_NEED}""",
        municipality, need_id, expected_version, f.quantity, f.quantity_max, _json(f.requirements),
        f.baseline_unit_price_yen, f.baseline_source, f.max_unit_price_yen, f.budget_status, f.delivery_date,
        f.contact_name, f.contact_email)
    return _need(row) if row else None


async def withdraw_need(db: asyncpg.Connection, municipality: str, need_id: str, expected_version: int
                        ) -> Need | None:
    row = await db.fetchrow(
        f"""update procurement_needs
               set status = 'withdrawn', withdrawn_at = now(), version = version + 1, updated_at = now()
             where municipality_code = $1 and need_id = $2::uuid and version = $3 and status = 'active'
         returning {_NEED}""",
        municipality, need_id, expected_version)
    return _need(row) if row else None


async def need_versions(db: asyncpg.Connection, municipality: str, need_id: str) -> list[NeedVersion]:
    rows = await db.fetch(
        """select version, change, recorded_at, snapshot::text from procurement_need_versions
            where municipality_code = $1 and need_id = $2::uuid order by version""",
        municipality, need_id)
    return [NeedVersion(r[0], r[1], r[2], _load(r[3])) for r in rows]


# ---------------------------------------------------------------- pooling

async def pool_lines(db: asyncpg.Connection, organiser: str, round_id: str) -> list[PoolLine]:
    """Every active need of the round, without prices (the definer function checks the round is visible)."""
    rows = await db.fetch(
        """select need_id::text, municipality_code, category_code, quantity, quantity_max, requirements::text,
                  tender_id::text, lot_id
             from app.procurement_pool($1, $2::uuid) where status = 'active'""",
        organiser, round_id)
    return [PoolLine(r[0], r[1], r[2], r[3], r[4], _load(r[5]) or {}, r[6], r[7]) for r in rows]


async def pool_version(db: asyncpg.Connection, organiser: str, round_id: str) -> str:
    """The version of the round's pools ("round.catalogue", sql/065); changes with every need, tender or curve."""
    return await db.fetchval("select app.procurement_pool_version($1, $2::uuid)", organiser, round_id) or "0.0"


async def visible_baselines(db: asyncpg.Connection, organiser: str, round_id: str) -> dict[str, Baseline]:
    rows = await db.fetch(
        """select need_id::text, baseline_unit_price_yen, baseline_source from procurement_needs
            where organiser_code = $1 and round_id = $2::uuid and status = 'active'""",
        organiser, round_id)
    return {r[0]: Baseline(r[1], r[2]) for r in rows}


async def municipality_names(db: asyncpg.Connection, codes: Sequence[str]) -> dict[str, str]:
    rows = await db.fetch("select code::text, name from municipalities where code = any($1::text[])", list(codes))
    return {r[0]: r[1] for r in rows}


async def prefecture_name(db: asyncpg.Connection, code: str) -> str | None:
    return await db.fetchval("select name from prefectures where code = $1", code)


# ---------------------------------------------------------------- tenders

_TENDER = """tender_id::text, organiser_code, round_id::text, category_code, title, requirements::text, status,
       min_participants, min_quantity, process_cost_yen, lot_scheme, supplier_name, supplier_id,
       awarded_unit_price_yen, bid_curve::text, awarded_at, version, created_at"""


def _tender_row(row: asyncpg.Record) -> TenderRecord:
    values = dict(row)
    values["requirements"] = _load(values["requirements"]) or {}
    values["bid_curve"] = (msgspec.json.decode(values["bid_curve"], type=list[PriceTier]) if values["bid_curve"]
                           else None)
    return TenderRecord(**values)


async def insert_tender(db: asyncpg.Connection, organiser: str, round_id: str, category: str, title: str,
                        requirements: dict, min_participants: int, min_quantity: int, process_cost: int,
                        lot_scheme: str) -> TenderRecord:
    row = await db.fetchrow(
        f"""insert into procurement_tenders (organiser_code, round_id, category_code, title, requirements,
                   min_participants, min_quantity, process_cost_yen, lot_scheme)
            values ($1, $2::uuid, $3, $4, $5::jsonb, $6, $7, $8, $9)
            returning {_TENDER}""",
        organiser, round_id, category, title, _json(requirements), min_participants, min_quantity, process_cost,
        lot_scheme)
    return _tender_row(row)


async def insert_lots(db: asyncpg.Connection, organiser: str, tender_id: str, lots: Sequence[LotRecord]) -> None:
    await db.executemany(
        "insert into procurement_lots (organiser_code, tender_id, lot_id, title, prefecture) "
        "values ($1, $2::uuid, $3, $4, $5)",
        [(organiser, tender_id, lot.lot_id, lot.title, lot.prefecture) for lot in lots])


async def insert_tender_needs(db: asyncpg.Connection, organiser: str, tender_id: str,
                              members: Sequence[tuple[str, str, str]]) -> None:
    await db.executemany(
        "insert into procurement_tender_needs (organiser_code, tender_id, municipality_code, need_id, lot_id) "
        "values ($1, $2::uuid, $3, $4::uuid, $5)",
        [(organiser, tender_id, m, n, lot) for m, n, lot in members])


async def get_tender(db: asyncpg.Connection, tender_id: str) -> TenderRecord | None:
    row = await db.fetchrow(f"select {_TENDER} from procurement_tenders where tender_id = $1::uuid", tender_id)
    return _tender_row(row) if row else None


async def list_tenders(db: asyncpg.Connection, organiser: str, round_id: str) -> list[TenderRecord]:
    rows = await db.fetch(f"select {_TENDER} from procurement_tenders where organiser_code = $1 "
                          "and round_id = $2::uuid order by created_at, tender_id", organiser, round_id)
    return [_tender_row(r) for r in rows]


async def lot_prices(db: asyncpg.Connection, organiser: str, round_id: str) -> list[LotPrice]:
    """The winning bid of every awarded lot of the round's tenders: its price at the lot's Q and its curve."""
    rows = await db.fetch(
        """select a.tender_id::text, a.lot_id, coalesce(s.name, a.supplier_code), a.pooled_quantity,
                  a.unit_price_yen, a.price_curve::text
             from procurement_lot_awards a
             join procurement_tenders t on t.organiser_code = a.organiser_code and t.tender_id = a.tender_id
             left join suppliers s on s.corporate_number = a.supplier_code
            where t.organiser_code = $1 and t.round_id = $2::uuid
            order by a.tender_id, a.lot_id""", organiser, round_id)
    return [LotPrice(r[0], r[1], r[2], r[3], r[4],
                     msgspec.json.decode(r[5], type=list[PriceTier]) if r[5] else None) for r in rows]


async def lots_of(db: asyncpg.Connection, organiser: str, tender_id: str) -> list[LotRecord]:
    rows = await db.fetch("select lot_id, title, prefecture::text from procurement_lots where organiser_code = $1 "
                          "and tender_id = $2::uuid order by lot_id", organiser, tender_id)
    return [LotRecord(*r) for r in rows]


async def set_tender_status(db: asyncpg.Connection, organiser: str, tender_id: str, expected_version: int,
                            status: str) -> TenderRecord | None:
    row = await db.fetchrow(
        f"""update procurement_tenders set status = $4, version = version + 1, updated_at = now()
             where organiser_code = $1 and tender_id = $2::uuid and version = $3
         returning {_TENDER}""",
        organiser, tender_id, expected_version, status)
    return _tender_row(row) if row else None


async def award_tender(db: asyncpg.Connection, organiser: str, tender_id: str, expected_version: int,
                       supplier_name: str, supplier_id: str | None, unit_price: int,
                       bid_curve: list[PriceTier] | None) -> TenderRecord | None:
    row = await db.fetchrow(
        f"""update procurement_tenders
               set status = 'awarded', supplier_name = $4, supplier_id = $5, awarded_unit_price_yen = $6,
                   bid_curve = $7::jsonb, awarded_at = now(), version = version + 1, updated_at = now()
             where organiser_code = $1 and tender_id = $2::uuid and version = $3
         returning {_TENDER}""",
        organiser, tender_id, expected_version, supplier_name, supplier_id, unit_price,
        _json(bid_curve) if bid_curve else None)
    return _tender_row(row) if row else None


async def insert_contracts(db: asyncpg.Connection, organiser: str, tender_id: str,
                           contracts: Sequence[tuple[str, str, int, int]]) -> None:
    await db.executemany(
        """insert into procurement_contracts (organiser_code, tender_id, municipality_code, lot_id, quantity,
                  unit_price_yen, amount_yen)
           values ($1, $2::uuid, $3, $4, $5::int, $6::bigint, $5::int::bigint * $6::bigint)""",
        [(organiser, tender_id, m, lot, q, p) for m, lot, q, p in contracts])


async def sign_contracts(db: asyncpg.Connection, organiser: str, tender_id: str) -> None:
    await db.execute("update procurement_contracts set status = 'signed' where organiser_code = $1 "
                     "and tender_id = $2::uuid", organiser, tender_id)


async def list_contracts(db: asyncpg.Connection, tender_ids: Sequence[str]) -> list[Contract]:
    rows = await db.fetch(
        """select tender_id::text, municipality_code::text, lot_id, quantity, unit_price_yen, amount_yen, status
             from procurement_contracts where tender_id = any($1::uuid[]) order by tender_id, municipality_code""",
        list(tender_ids))
    return [Contract(*r) for r in rows]

