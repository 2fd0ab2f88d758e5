"""Joint procurement steps that read or write: visibility, pooled demand, forming, status changes, awards.

The rules themselves are pure and live in `rules` (windows, needs, tender lifecycle), `demand` (a
round's pools) and `views` (what a tender or a pool looks like to a caller); every statement is a
typed function of `queries`.
"""

from __future__ import annotations

import asyncpg

from registry.i18n import tr
from registry.params import parse_uuid
from registry.principal import Principal
from registry.problems import Forbidden, NotFound
from registry.procurement import queries, rules
from registry.procurement.aggregate import Group
from registry.procurement.demand import RoundPools
from registry.procurement.models import (
    AwardCreate,
    FormResult,
    LotRecord,
    Need,
    NotFormed,
    Round,
    TenderForm,
    TenderRecord,
)
from registry.procurement.views import tender_view


async def visible_round(db: asyncpg.Connection, round_id: str) -> Round:
    found = await queries.get_round(db, parse_uuid(round_id, "round_id"))
    if found is None:
        raise NotFound(tr("No round {round_id} among those your key may see.", round_id=round_id))
    return found


async def organised_round(db: asyncpg.Connection, principal: Principal, round_id: str) -> Round:
    return rules.require_organiser(principal, await visible_round(db, round_id))


async def visible_need(db: asyncpg.Connection, need_id: str) -> Need:
    found = await queries.get_need(db, parse_uuid(need_id, "need_id"))
    if found is None:
        raise NotFound(tr("No need {need_id} among those your key may see.", need_id=need_id))
    return found


async def own_need(db: asyncpg.Connection, principal: Principal, need_id: str) -> tuple[Need, Round]:
    need = await visible_need(db, need_id)
    if not principal.can_write_municipality(need.municipality_code):
        raise Forbidden(tr("Only the municipality that submitted a need (or an admin) may change it."))
    r = await queries.get_round(db, need.round_id)
    if r is None:  # the need is visible, so its round is too; guard against a policy drifting apart
        raise NotFound(tr("No round {round_id} among those your key may see.", round_id=need.round_id))
    return need, r


async def visible_tender(db: asyncpg.Connection, tender_id: str) -> tuple[TenderRecord, RoundPools]:
    found = await queries.get_tender(db, parse_uuid(tender_id, "tender_id"))
    r = await queries.get_round(db, found.round_id) if found else None
    if found is None or r is None:
        raise NotFound(tr("No tender {tender_id} among those your key may see.", tender_id=tender_id))
    return found, await RoundPools.load(db, r)


async def organised_tender(db: asyncpg.Connection, principal: Principal, tender_id: str
                           ) -> tuple[TenderRecord, RoundPools]:
    found, rp = await visible_tender(db, tender_id)
    if not rules.is_organiser(principal, found.organiser_code):
        raise NotFound(tr("No tender {tender_id} among those your key may change.", tender_id=tender_id))
    return found, rp


async def form_tenders(db: asyncpg.Connection, r: Round, form: TenderForm) -> FormResult:
    """One tender per compatible pool of the category not yet tendered that meets the rules."""
    rules.require_round_category(r, form.category_code)
    rules.require_closed(r)
    rp = await RoundPools.load(db, r)
    category = rp.categories[form.category_code]
    min_p = form.min_participants or r.min_participants
    min_q = form.min_quantity or r.min_quantity
    formed: list[tuple[TenderRecord, list[LotRecord]]] = []
    skipped = []
    for g in rp.groups.get(form.category_code, []):
        if g.tender_id:
            continue
        why = rules.rules_problem(len(g.participants), g.quantity, min_p, min_q)
        if why:
            skipped.append(NotFormed(g.key, g.quantity, len(g.participants), why))
            continue
        title = form.title or f"{category.name_en}: {r.title} ({g.key})"
        tender = await queries.insert_tender(
            db, r.organiser_code, r.round_id, g.category_code, title, g.requirements, min_p, min_q,
            category.process_cost_yen if form.process_cost_yen is None else form.process_cost_yen, form.lot_scheme)
        lots, lot_of = rules.lot_plan(form.lot_scheme, title, [(line.need_id, line.municipality_code)
                                                               for line in g.lines])
        await queries.insert_lots(db, r.organiser_code, tender.tender_id, lots)
        await queries.insert_tender_needs(db, r.organiser_code, tender.tender_id,
                                          [(line.municipality_code, line.need_id, lot_of[line.need_id])
                                           for line in g.lines])
        formed.append((tender, lots))
    rp = await RoundPools.load(db, r)
    return FormResult([tender_view(rp, t, lots) for t, lots in formed], skipped)


async def write_contracts(db: asyncpg.Connection, tender: TenderRecord, group: Group, unit_price: int) -> None:
    """One contract per participating municipality and lot, at the awarded unit price."""
    await queries.insert_contracts(db, tender.organiser_code, tender.tender_id, rules.contract_lines(
        [(line.municipality_code, line.lot_id, line.quantity) for line in group.lines], unit_price))


async def change_status(db: asyncpg.Connection, tender: TenderRecord, rp: RoundPools, expected_version: int,
                        status: str) -> TenderRecord | None:
    """The tender moved to `status` (None when its version moved on); contracting signs its contracts."""
    group = rp.tender_group(tender.tender_id)
    lines = group.lines if group else []
    rules.check_status_change(tender, status, len({line.municipality_code for line in lines}),
                              sum(line.quantity for line in lines))
    saved = await queries.set_tender_status(db, tender.organiser_code, tender.tender_id, expected_version, status)
    if saved is not None and status == "contracted":
        await queries.sign_contracts(db, tender.organiser_code, tender.tender_id)
    return saved


async def award(db: asyncpg.Connection, tender: TenderRecord, rp: RoundPools, expected_version: int,
                data: AwardCreate) -> TenderRecord | None:
    """Award at a unit price or a bid curve priced at the pooled quantity; one contract per buyer and lot."""
    group = rp.tender_group(tender.tender_id)
    quantity = group.quantity if group else 0
    rules.check_award(tender, rp.round, len(group.participants) if group else 0, quantity)
    assert group is not None  # check_award refuses a tender without demand
    unit_price, curve = rules.award_terms(data, quantity)
    saved = await queries.award_tender(db, tender.organiser_code, tender.tender_id, expected_version,
                                       data.supplier_name, data.supplier_id, unit_price, curve)
    if saved is not None:
        await write_contracts(db, saved, group, unit_price)
    return saved
