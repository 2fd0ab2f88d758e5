"""Joint procurement rules between the routes and the SQL: deadlines, visibility, pooling, pricing."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from registry.principal import Principal
from registry.problems import Conflict, Forbidden, NotFound, Unprocessable, invalid_field
from registry.procurement import queries
from registry.procurement.aggregate import Group, PoolLine, check_requirements, pools
from registry.procurement.models import (
    Category,
    FormResult,
    Lot,
    Need,
    NeedFields,
    NotFormed,
    PriceTier,
    Round,
    Tender,
    TenderForm,
)
from registry.procurement.pricing import CurveError, Tier, check_curve, price_at
from registry.procurement.savings import PoolInput, PoolPricing


def parse_id(value: str, what: str) -> str:
    """A malformed id names nothing the caller may see: 404, like any other unknown id."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"No {what} {value!r} among those your key may see.") from None


def when(moment: datetime) -> str:
    """A deadline written exactly as this API's JSON writes it, so clients can match the two."""
    return msgspec.json.encode(moment).decode().strip('"')


def organiser_code(principal: Principal) -> str:
    return "admin" if principal.role == "admin" else principal.tenant_code


def is_organiser(principal: Principal, organiser: str) -> bool:
    return principal.role == "admin" or (principal.role == "prefecture" and principal.tenant_code == organiser)


async def visible_round(db: asyncpg.Connection, round_id: str) -> Round:
    found = await queries.get_round(db, parse_id(round_id, "round"))
    if found is None:
        raise NotFound(f"No round {round_id} among those your key may see.")
    return found


async def organised_round(db: asyncpg.Connection, principal: Principal, round_id: str) -> Round:
    found = await visible_round(db, round_id)
    if not is_organiser(principal, found.organiser_code):
        raise Forbidden(f"Only the round's organiser ({found.organiser_code}) or an admin may do this.")
    return found


def require_open(r: Round, action: str) -> None:
    if r.phase == "upcoming":
        raise Conflict(f"The submission window of round {r.round_id} opens at {when(r.opens_at)}; {action} then.")
    if r.phase != "open":
        raise Conflict(f"The submission window of round {r.round_id} closed at {when(r.closes_at)}; "
                       f"needs can no longer be {action} after that deadline.")


def tiers(curve: list[PriceTier]) -> list[Tier]:
    return [Tier(t.min_quantity, t.unit_price_yen) for t in curve]


def checked_curve(curve: list[PriceTier], field: str) -> list[Tier]:
    try:
        return check_curve(tiers(curve))
    except CurveError as exc:
        raise invalid_field(field, str(exc)) from exc


def check_need(fields: NeedFields, category: Category | None, category_code: str, r: Round,
               prefix: str = "") -> list[str]:
    """Every problem with a need against its round and category (empty when it may be stored)."""
    problems = []
    if category is None or category_code not in r.category_codes:
        problems.append(f"{prefix}category_code: {category_code!r} is not one of this round's categories "
                        f"{r.category_codes}")
    else:
        problems += [f"{prefix}requirements: {p}" for p in check_requirements(fields.requirements,
                                                                             category.spec_attributes)]
    if fields.quantity_max is not None and fields.quantity_max < fields.quantity:
        problems.append(f"{prefix}quantity_max: must be at least quantity ({fields.quantity})")
    if fields.baseline_source == "list_price" and category is not None \
            and fields.baseline_unit_price_yen != category.list_price_yen:
        problems.append(f"{prefix}baseline_unit_price_yen: with baseline_source list_price it must be the list "
                        f"price, {category.list_price_yen} yen")
    return problems


def need_municipality(principal: Principal, given: str | None, r: Round) -> str:
    from registry.codes import CodeError, normalise

    if principal.role == "municipality":
        if given is not None and given.zfill(6) != principal.tenant_code:
            raise Forbidden("A municipality key submits needs for its own municipality only.")
        code = principal.tenant_code
    elif principal.role == "admin":
        if given is None:
            raise invalid_field("municipality_code", "admins say which municipality the need belongs to")
        try:
            code = normalise(given)
        except CodeError as exc:
            raise invalid_field("municipality_code", str(exc)) from exc
    else:
        raise Forbidden("Needs are submitted by municipality keys (or admins on their behalf).")
    if code[:2] not in r.prefectures:
        raise Unprocessable(f"Round {r.round_id} is open to municipalities of prefectures {r.prefectures}; "
                            f"{code} is not among them.")
    return code


async def own_need(db: asyncpg.Connection, principal: Principal, need_id: str) -> tuple[Need, Round]:
    need = await queries.get_need(db, parse_id(need_id, "need"))
    if need is None:
        raise NotFound(f"No need {need_id} among those your key may see.")
    if not principal.can_write_municipality(need.municipality_code):
        raise Forbidden("Only the municipality that submitted a need (or an admin) may change it.")
    r = await queries.get_round(db, need.round_id)
    if r is None:  # the need is visible, so its round is too; guard against a policy drifting apart
        raise NotFound(f"No round {need.round_id} among those your key may see.")
    return need, r


class RoundPools:
    """A round's pooled demand as the caller may see it: quantities for all, prices for visible needs."""

    def __init__(self, r: Round, lines: list[PoolLine], categories: dict[str, Category],
                 tenders: list[dict]) -> None:
        self.round = r
        self.lines = lines
        self.categories = categories
        self.tenders = {t["tender_id"]: t for t in tenders}
        self.groups = pools(lines)

    @classmethod
    async def load(cls, db: asyncpg.Connection, r: Round) -> RoundPools:
        lines = await queries.pool_lines(db, r.organiser_code, r.round_id)
        categories = await queries.get_categories(db, r.category_codes)
        tenders = await queries.list_tenders(db, r.organiser_code, r.round_id)
        return cls(r, lines, categories, tenders)

    def pricing(self, group: Group) -> PoolPricing:
        category = self.categories[group.category_code]
        tender = self.tenders.get(group.tender_id or "")
        cost = category.process_cost_yen
        if tender is None:
            return PoolPricing(tiers(category.price_tiers), f"catalogue price curve {category.category_code} "
                               f"v{category.version}", cost)
        awarded = tender["awarded_unit_price_yen"] if tender["status"] in ("awarded", "contracted") else None
        if tender["bid_curve"]:
            return PoolPricing(tiers(tender["bid_curve"]), f"bid curve of {tender['supplier_name']}",
                               tender["process_cost_yen"], awarded)
        return PoolPricing(tiers(category.price_tiers), f"catalogue price curve {category.category_code} "
                           f"v{category.version}", tender["process_cost_yen"], awarded)

    def inputs(self, category: str | None = None) -> list[PoolInput]:
        return [PoolInput(g, self.pricing(g)) for c, groups in self.groups.items() for g in groups
                if category is None or c == category]

    def group(self, key: str) -> Group | None:
        for groups in self.groups.values():
            for g in groups:
                if g.key == key or (g.tender_id and g.tender_id == key):
                    return g
        return None

    def tender_group(self, tender_id: str) -> Group | None:
        for g in self.groups.get(self.tenders[tender_id]["category_code"], []):
            if g.tender_id == tender_id:
                return g
        return None


def tender_view(rp: RoundPools, tender: dict, lots: list[tuple[str, str, str | None]]) -> Tender:
    group = rp.tender_group(tender["tender_id"])
    lines = group.lines if group else []
    quantity = sum(line.quantity for line in lines)
    pricing = rp.pricing(group) if group else None
    if tender["awarded_unit_price_yen"] is not None:
        price, basis = tender["awarded_unit_price_yen"], "awarded unit price"
    elif pricing is not None and quantity:
        price, basis = price_at(pricing.tiers, quantity), f"{pricing.basis} at Q={quantity}"
    else:
        price, basis = None, "no active demand"
    lot_views = []
    for lot_id, title, pref in lots:
        in_lot = [line for line in lines if line.lot_id == lot_id]
        lot_views.append(Lot(lot_id, title, pref, sum(line.quantity for line in in_lot),
                             len({line.municipality_code for line in in_lot})))
    return Tender(tender["tender_id"], tender["organiser_code"], tender["round_id"], tender["category_code"],
                  tender["title"], tender["requirements"], tender["status"], tender["min_participants"],
                  tender["min_quantity"], tender["process_cost_yen"], tender["lot_scheme"], lot_views,
                  len({line.municipality_code for line in lines}), quantity, price, basis, tender["supplier_name"],
                  tender["supplier_id"], tender["awarded_unit_price_yen"], tender["bid_curve"],
                  tender["awarded_at"], tender["version"])


def rules_problem(participants: int, quantity: int, min_participants: int, min_quantity: int) -> str | None:
    if participants < min_participants:
        return f"{participants} participating municipalities, fewer than the minimum {min_participants}"
    if quantity < min_quantity:
        return f"pooled quantity {quantity} is below the minimum {min_quantity}"
    return None


async def form_tenders(db: asyncpg.Connection, r: Round, form: TenderForm) -> FormResult:
    """One tender per compatible pool of the category not yet tendered that meets the rules."""
    rp = await RoundPools.load(db, r)
    category = rp.categories[form.category_code]
    min_p = form.min_participants or r.min_participants
    min_q = form.min_quantity or r.min_quantity
    formed, skipped = [], []
    for g in rp.groups.get(form.category_code, []):
        if g.tender_id:
            continue
        why = rules_problem(len(g.participants), g.quantity, min_p, min_q)
        if why:
            skipped.append(NotFormed(g.key, g.quantity, len(g.participants), why))
            continue
        title = form.title or f"{category.name_en}: {r.title} ({g.key})"
        tender = await queries.insert_tender(
            db, r.organiser_code, r.round_id, g.category_code, title, g.requirements, min_p, min_q,
            category.process_cost_yen if form.process_cost_yen is None else form.process_cost_yen, form.lot_scheme)
        if form.lot_scheme == "single":
            lots: list[tuple[str, str, str | None]] = [("LOT-1", title, None)]
            lot_of = {line.need_id: "LOT-1" for line in g.lines}
        else:
            numbers = sorted({line.municipality_code[:2] for line in g.lines})
            lots = [(f"LOT-{n}", f"{title}: prefecture {n}", n) for n in numbers]
            lot_of = {line.need_id: f"LOT-{line.municipality_code[:2]}" for line in g.lines}
        await queries.insert_lots(db, r.organiser_code, tender["tender_id"], lots)
        await queries.insert_tender_needs(db, r.organiser_code, tender["tender_id"],
                                          [(line.municipality_code, line.need_id, lot_of[line.need_id])
                                           for line in g.lines])
        formed.append((tender, lots))
    rp = await RoundPools.load(db, r)
    return FormResult([tender_view(rp, t, lots) for t, lots in formed], skipped)


async def write_contracts(db: asyncpg.Connection, tender: dict, group: Group, unit_price: int) -> None:
    """One contract per participating municipality and lot, at the awarded unit price."""
    per_buyer: dict[tuple[str, str], int] = {}
    for line in group.lines:
        key = (line.municipality_code, line.lot_id or "LOT-1")
        per_buyer[key] = per_buyer.get(key, 0) + line.quantity
    await queries.insert_contracts(db, tender["organiser_code"], tender["tender_id"],
                                   [(m, lot, qty, unit_price) for (m, lot), qty in sorted(per_buyer.items())])
