"""Pure joint-procurement rules, no database: need checks as field errors, acting for a municipality,
windows, lots, contracts, awards, the tender lifecycle and the rounds cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registry.principal import Principal
from registry.problems import Conflict, FieldError, Forbidden, Problem, Unprocessable
from registry.procurement import rules
from registry.procurement.models import AwardCreate, Category, NeedFields, Round, RoundUpdate, TenderRecord
from registry.procurement.pricing import PriceTier

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
ROUND = Round("r1", "130001", "FY2026", ["13"], ["tablet"], T0, T0 + timedelta(days=7), T0 + timedelta(days=14),
              2, 1, 1, T0, T0, "open")
TABLET = Category("tablet", "タブレット", "Tablets", "H87", "device", 1000, {"os": ["ipados", "android"]},
                  [PriceTier(1, 1000), PriceTier(10, 900)], 100_000, 1)
ADMIN = Principal("k0", "admin", "admin", None, "admin")
CHIYODA = Principal("k1", "municipality", "131016", "130001", "Chiyoda")


def fields(**changes: object) -> NeedFields:
    values: dict = {"quantity": 5, "baseline_unit_price_yen": 990, "baseline_source": "current_contract",
                    "budget_status": "approved", **changes}
    return NeedFields(**values)


def test_a_valid_need_has_no_problems() -> None:
    assert rules.check_need(fields(requirements={"os": ["ipados"]}), TABLET, "tablet", ROUND) == []


def test_need_problems_are_field_errors_naming_each_field() -> None:
    problems = rules.check_need(fields(quantity_max=3, baseline_source="list_price", baseline_unit_price_yen=999,
                                       requirements={"colour": ["red"]}), TABLET, "tablet", ROUND)
    assert all(isinstance(p, FieldError) for p in problems)
    assert [p.field for p in problems] == ["requirements", "quantity_max", "baseline_unit_price_yen"]
    assert "5" in problems[1].message and "1000" in problems[2].message
    unknown = rules.check_need(fields(), None, "phones", ROUND)
    assert [p.field for p in unknown] == ["category_code"]
    with pytest.raises(Unprocessable) as caught:
        rules.require_valid_need(fields(quantity_max=3), TABLET, "tablet", ROUND)
    assert [e.field for e in caught.value.errors or []] == ["quantity_max"]
    assert caught.value.detail.startswith("quantity_max: ")


def test_acting_for_a_municipality() -> None:
    assert rules.need_municipality(CHIYODA, None, ROUND) == "131016"
    assert rules.need_municipality(CHIYODA, "131016", ROUND) == "131016"
    assert rules.need_municipality(ADMIN, "131024", ROUND) == "131024"
    with pytest.raises(Forbidden):
        rules.need_municipality(CHIYODA, "131024", ROUND)
    with pytest.raises(Unprocessable) as missing:
        rules.need_municipality(ADMIN, None, ROUND)
    assert [e.field for e in missing.value.errors or []] == ["municipality_code"]
    with pytest.raises(Unprocessable) as digit:  # 131016 is Chiyoda; 131017 fails the check digit
        rules.need_municipality(ADMIN, "131017", ROUND)
    assert [e.field for e in digit.value.errors or []] == ["municipality_code"]
    with pytest.raises(Unprocessable, match="prefectures"):
        rules.need_municipality(ADMIN, "111007", ROUND)  # Saitama City, outside a Tokyo round
    prefecture = Principal("k2", "prefecture", "130001", "130001", "Tokyo")
    with pytest.raises(Forbidden):
        rules.need_municipality(prefecture, None, ROUND)


def test_round_windows() -> None:
    later = rules.changed_round(ROUND, RoundUpdate(closes_at=T0 + timedelta(days=10)))
    assert later.closes_at == T0 + timedelta(days=10) and later.title == ROUND.title
    for update, field in ((RoundUpdate(closes_at=T0 - timedelta(hours=1)), "closes_at"),
                          (RoundUpdate(withdrawal_deadline=T0 + timedelta(days=1)), "withdrawal_deadline"),
                          (RoundUpdate(opens_at=datetime(2026, 4, 1, 9, 0)), "opens_at")):
        with pytest.raises(Unprocessable) as caught:
            rules.changed_round(ROUND, update)
        assert [e.field for e in caught.value.errors or []] == [field]
    with pytest.raises(Conflict, match="closed at"):
        rules.require_open(Round(*[*[getattr(ROUND, f) for f in ROUND.__struct_fields__][:-1], "closed"]),
                           "edited")


def test_lot_plan_by_prefecture_and_single() -> None:
    lines = [("n1", "131016"), ("n2", "111007"), ("n3", "131024")]
    lots, lot_of = rules.lot_plan("prefecture", "PCs", lines)
    assert [(lot.lot_id, lot.prefecture) for lot in lots] == [("LOT-11", "11"), ("LOT-13", "13")]
    assert lot_of == {"n1": "LOT-13", "n2": "LOT-11", "n3": "LOT-13"}
    lots, lot_of = rules.lot_plan("single", "PCs", lines)
    assert [lot.lot_id for lot in lots] == ["LOT-1"] and set(lot_of.values()) == {"LOT-1"}


def test_one_contract_per_municipality_and_lot_with_quantities_summed() -> None:
    lines = [("131016", "LOT-13", 5), ("131024", "LOT-13", 7), ("131016", "LOT-13", 3), ("111007", None, 2)]
    assert rules.contract_lines(lines, 850) == [("111007", "LOT-1", 2, 850), ("131016", "LOT-13", 5 + 3, 850),
                                                ("131024", "LOT-13", 7, 850)]


def test_award_terms() -> None:
    curve = [PriceTier(1, 450), PriceTier(60, 380)]
    assert rules.award_terms(AwardCreate("Soft KK", bid_curve=curve), 65) == (380, curve)
    assert rules.award_terms(AwardCreate("Soft KK", bid_curve=curve), 59) == (450, curve)
    assert rules.award_terms(AwardCreate("Soft KK", unit_price_yen=790), 65) == (790, None)
    for both_or_neither in (AwardCreate("Soft KK"), AwardCreate("Soft KK", unit_price_yen=1, bid_curve=curve)):
        with pytest.raises(Unprocessable):
            rules.award_terms(both_or_neither, 65)
    with pytest.raises(Unprocessable, match="must not rise"):
        rules.award_terms(AwardCreate("Soft KK", bid_curve=[PriceTier(1, 100), PriceTier(5, 120)]), 10)


def tender(status: str, min_participants: int = 2, min_quantity: int = 10) -> TenderRecord:
    return TenderRecord("t1", "130001", "r1", "tablet", "Tablets", {}, status, min_participants, min_quantity, 0,
                        "single", None, None, None, None, None, 1, T0)


def test_tender_rules_before_publishing_and_awarding() -> None:
    rules.check_status_change(tender("planned"), "active", 2, 10)
    with pytest.raises(Conflict, match="fewer than the minimum 2"):
        rules.check_status_change(tender("planned"), "active", 1, 10)
    with pytest.raises(Conflict, match="below the minimum 10"):
        rules.check_status_change(tender("planned"), "active", 2, 9)
    with pytest.raises(Conflict, match="contracted is final"):
        rules.check_status_change(tender("contracted"), "cancelled", 2, 10)
    firm = Round(*[*[getattr(ROUND, f) for f in ROUND.__struct_fields__][:-1], "firm"])
    rules.check_award(tender("active"), firm, 2, 10)
    for case in ((tender("active"), ROUND, 2, 10), (tender("planned"), firm, 2, 10), (tender("active"), firm, 0, 0)):
        with pytest.raises(Problem) as caught:
            rules.check_award(*case)
        assert caught.value.status == 409


def test_rounds_cursor_time_is_exact_to_the_microsecond() -> None:
    moment = datetime(2026, 4, 1, 9, 0, 0, 123_456, tzinfo=UTC)
    # 2026-04-01T09:00:00Z is 1_775_034_000 seconds after 1970 (20_544 days * 86_400 + 9 * 3_600).
    assert rules.micros(moment) == (20_544 * 86_400 + 9 * 3_600) * 1_000_000 + 123_456
    assert rules.from_micros(rules.micros(moment)) == moment
