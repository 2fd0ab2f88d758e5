"""Joint procurement rules that need no database: organisers, windows, needs, tender lifecycle, awards. Pure.

Each rule raises the problem a client should see (422 naming a field, 403, 409 naming the deadline),
so the routes only parse, call and answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec

from registry.codes import CodeError, prefecture_number
from registry.i18n import message_of, tr
from registry.params import parse_code
from registry.principal import Principal
from registry.problems import Conflict, FieldError, Forbidden, Unprocessable, invalid_field
from registry.procurement.aggregate import check_requirements
from registry.procurement.models import (
    AwardCreate,
    Category,
    LotRecord,
    NeedFields,
    Round,
    RoundCreate,
    RoundUpdate,
    TenderRecord,
)
from registry.procurement.pricing import CurveError, PriceTier, check_curve, price_at
from registry.procurement.states import transition_error
from registry.tenancy import acting_for

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """A timestamp as integer microseconds since 1970 (PostgreSQL's precision), exact both ways."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def when(moment: datetime) -> str:
    """A deadline written exactly as this API's JSON writes it, so clients can match the two."""
    return msgspec.json.encode(moment).decode().strip('"')


# ---------------------------------------------------------------- organisers and rounds

def organiser_code(principal: Principal) -> str:
    return "admin" if principal.role == "admin" else principal.tenant_code


def is_organiser(principal: Principal, organiser: str) -> bool:
    return principal.role == "admin" or (principal.role == "prefecture" and principal.tenant_code == organiser)


def require_organiser(principal: Principal, r: Round) -> Round:
    if not is_organiser(principal, r.organiser_code):
        raise Forbidden(tr("Only the round's organiser ({organiser_code}) or an admin may do this.",
                           organiser_code=r.organiser_code))
    return r


def round_prefectures(principal: Principal, given: Sequence[str] | None) -> list[str]:
    """The prefecture numbers whose municipalities may take part: the organiser's own by default."""
    if given is None:
        if principal.role != "prefecture":
            raise invalid_field("prefectures", tr("admins say which prefectures' municipalities may take "
                                                  "part"))
        return [principal.prefecture_number or ""]
    out = set()
    for value in given:
        try:
            out.add(prefecture_number(value))
        except CodeError as exc:
            raise invalid_field("prefectures", message_of(exc)) from exc
    return sorted(out)


def _zoned(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise invalid_field(name, tr("needs a time zone, e.g. 2026-03-31T17:00:00+09:00"))


def check_deadlines(opens_at: datetime, closes_at: datetime, withdrawal: datetime) -> None:
    if not opens_at < closes_at:
        raise invalid_field("closes_at", tr("must be after opens_at ({value})", value=opens_at.isoformat()))
    if not closes_at <= withdrawal:
        raise invalid_field("withdrawal_deadline", tr("must not be before closes_at ({value})",
                                                      value=closes_at.isoformat()))


def check_new_round(data: RoundCreate, known_categories: Iterable[str], now: datetime) -> None:
    """Zoned times in order (a round without opens_at opens `now`) and catalogued categories."""
    for name in ("closes_at", "withdrawal_deadline", "opens_at"):
        _zoned(name, getattr(data, name))
    unknown = sorted(set(data.category_codes) - set(known_categories))
    if unknown:
        raise invalid_field("category_codes", tr("unknown item categories {unknown}", unknown=unknown))
    check_deadlines(data.opens_at or now, data.closes_at, data.withdrawal_deadline)


def changed_round(current: Round, data: RoundUpdate) -> Round:
    """The round with the fields the client sent, its window still in order."""
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    for name in ("opens_at", "closes_at", "withdrawal_deadline"):
        _zoned(name, changes.get(name))
    wanted = msgspec.structs.replace(current, **changes)
    check_deadlines(wanted.opens_at, wanted.closes_at, wanted.withdrawal_deadline)
    return wanted


def require_open(r: Round, action: Literal["submitted", "edited"]) -> None:
    """Needs are submitted or edited only while the round's window is open; one whole sentence per case,
    since a Japanese sentence cannot take an English verb."""
    if r.phase == "upcoming":
        if action == "submitted":
            raise Conflict(tr("The submission window of round {round_id} opens at {opens_at}; submit needs then.",
                              round_id=r.round_id, opens_at=when(r.opens_at)))
        raise Conflict(tr("The submission window of round {round_id} opens at {opens_at}; edit needs then.",
                          round_id=r.round_id, opens_at=when(r.opens_at)))
    if r.phase != "open":
        if action == "submitted":
            raise Conflict(tr("The submission window of round {round_id} closed at {closes_at}; needs can no "
                              "longer be submitted after that deadline.",
                              round_id=r.round_id, closes_at=when(r.closes_at)))
        raise Conflict(tr("The submission window of round {round_id} closed at {closes_at}; needs can no "
                          "longer be edited after that deadline.",
                          round_id=r.round_id, closes_at=when(r.closes_at)))


def require_withdrawable(r: Round) -> None:
    if r.phase == "firm":
        raise Conflict(tr("The withdrawal deadline of round {round_id} was {withdrawal_deadline}; pledges "
                          "are firm now. Ask the organiser to cancel your participation instead.",
                          round_id=r.round_id, withdrawal_deadline=when(r.withdrawal_deadline)))


def require_closed(r: Round) -> None:
    if r.phase in ("upcoming", "open"):
        raise Conflict(tr("Tenders are formed once the submission window closes ({closes_at}).",
                          closes_at=when(r.closes_at)))


def require_round_category(r: Round, category_code: str) -> None:
    if category_code not in r.category_codes:
        raise invalid_field("category_code", tr("not one of this round's categories {category_codes}",
                                                category_codes=r.category_codes))


# ---------------------------------------------------------------- needs

def checked_curve(curve: Sequence[PriceTier], field: str) -> list[PriceTier]:
    try:
        return check_curve(curve)
    except CurveError as exc:
        raise invalid_field(field, message_of(exc)) from exc


def check_need(fields: NeedFields, category: Category | None, category_code: str, r: Round) -> list[FieldError]:
    """Every problem with a need against its round and category (empty when it may be stored)."""
    problems = []
    if category is None or category_code not in r.category_codes:
        problems.append(FieldError("category_code", tr("{category_code} is not one of this round's "
                                                       "categories {category_codes}",
                                                       category_code=f"{category_code!r}",
                                                       category_codes=r.category_codes)))
    else:
        problems += [FieldError("requirements", p)
                     for p in check_requirements(fields.requirements, category.spec_attributes)]
    if fields.quantity_max is not None and fields.quantity_max < fields.quantity:
        problems.append(FieldError("quantity_max", tr("must be at least quantity ({quantity})",
                                                      quantity=fields.quantity)))
    if fields.baseline_source == "list_price" and category is not None \
            and fields.baseline_unit_price_yen != category.list_price_yen:
        problems.append(FieldError("baseline_unit_price_yen", tr("with baseline_source list_price it must "
                                                                 "be the list price, {list_price_yen} yen",
                                                                 list_price_yen=category.list_price_yen)))
    return problems


def sentence(problems: Sequence[FieldError]) -> str:
    said: str = tr("{field}: {message}", field=problems[0].field, message=problems[0].message)
    for p in problems[1:]:
        said = tr("{first}; {rest}", first=said, rest=tr("{field}: {message}", field=p.field, message=p.message))
    return said


def require_valid_need(fields: NeedFields, category: Category | None, category_code: str, r: Round) -> None:
    problems = check_need(fields, category, category_code, r)
    if problems:
        raise Unprocessable(sentence(problems), errors=problems)


def need_municipality(principal: Principal, given: str | None, r: Round) -> str:
    """Whose need this is (the one acting-for rule), and that the round is open to that municipality."""
    if principal.role not in ("municipality", "admin"):
        raise Forbidden(tr("Needs are submitted by municipality keys (or admins on their behalf)."))
    code = acting_for(principal, given, "municipality_code", parse=parse_code, what="municipality")
    if code[:2] not in r.prefectures:
        raise Unprocessable(tr("Round {round_id} is open to municipalities of prefectures {prefectures}; "
                               "{code} is not among them.",
                               round_id=r.round_id, prefectures=r.prefectures, code=code))
    return code


def require_active(status: str) -> None:
    if status != "active":
        raise Conflict(tr("This need was withdrawn; submit a new one instead."))


# ---------------------------------------------------------------- tenders

def rules_problem(participants: int, quantity: int, min_participants: int, min_quantity: int) -> str | None:
    if participants < min_participants:
        return f"{participants} participating municipalities, fewer than the minimum {min_participants}"
    if quantity < min_quantity:
        return f"pooled quantity {quantity} is below the minimum {min_quantity}"
    return None


def require_transition(current: str, wanted: str) -> None:
    why = transition_error(current, wanted)
    if why:
        raise Conflict(why[0].upper() + why[1:] + ".")


def lot_plan(scheme: str, title: str, lines: Sequence[tuple[str, str]]) -> tuple[list[LotRecord], dict[str, str]]:
    """The lots of a new tender and each need's lot, from (need_id, municipality_code) lines.

    `single`: one lot for everyone; `prefecture`: one lot per prefecture number, LOT-13 for Tokyo.
    """
    if scheme == "single":
        return [LotRecord("LOT-1", title, None)], {need: "LOT-1" for need, _ in lines}
    numbers = sorted({code[:2] for _, code in lines})
    return ([LotRecord(f"LOT-{n}", f"{title}: prefecture {n}", n) for n in numbers],
            {need: f"LOT-{code[:2]}" for need, code in lines})


def contract_lines(lines: Iterable[tuple[str, str | None, int]], unit_price: int) -> list[tuple[str, str, int, int]]:
    """(municipality, lot, quantity, unit price): one contract per municipality and lot, quantities summed."""
    per_buyer: dict[tuple[str, str], int] = {}
    for municipality, lot, quantity in lines:
        key = (municipality, lot or "LOT-1")
        per_buyer[key] = per_buyer.get(key, 0) + quantity
    return [(m, lot, qty, unit_price) for (m, lot), qty in sorted(per_buyer.items())]


def award_terms(data: AwardCreate, pooled_quantity: int) -> tuple[int, list[PriceTier] | None]:
    """The awarded unit price and bid curve: a bid curve is priced at the pooled quantity."""
    if (data.unit_price_yen is None) == (data.bid_curve is None):
        raise invalid_field("unit_price_yen", tr("give either unit_price_yen or bid_curve, not both and "
                                                 "not neither"))
    if data.bid_curve is None:
        return data.unit_price_yen or 0, None
    curve = checked_curve(data.bid_curve, "bid_curve")
    return price_at(curve, pooled_quantity), curve


def check_award(tender: TenderRecord, r: Round, participants: int, quantity: int) -> None:
    """Only an active tender, only once pledges are firm, only while its demand still meets its rules."""
    require_transition(tender.status, "awarded")
    if r.phase != "firm":
        raise Conflict(tr("Award after the withdrawal deadline ({withdrawal_deadline}): until then "
                          "municipalities may still withdraw and the pooled quantity may change.",
                          withdrawal_deadline=when(r.withdrawal_deadline)))
    if not quantity:
        raise Conflict(tr("Every need of this tender was withdrawn; mark it unsuccessful or cancel it."))
    broken = rules_problem(participants, quantity, tender.min_participants, tender.min_quantity)
    if broken:
        raise Conflict(tr("The tender no longer meets its rules: {broken}. Mark it unsuccessful or cancel "
                          "it.", broken=broken))


def check_status_change(tender: TenderRecord, wanted: str, participants: int, quantity: int) -> None:
    require_transition(tender.status, wanted)
    if wanted == "active":
        broken = rules_problem(participants, quantity, tender.min_participants, tender.min_quantity)
        if broken:
            raise Conflict(tr("The tender no longer meets its rules after withdrawals: {broken}. Cancel "
                              "it instead.", broken=broken))
