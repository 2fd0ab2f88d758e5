"""Pure joint-procurement logic, no database: price curves, pooling, savings, lifecycle, CSV."""

from __future__ import annotations

import pytest

from registry.procurement import csvio
from registry.procurement.aggregate import PoolLine, check_requirements, group_compatible, merge, pools
from registry.procurement.pricing import CurveError, check_curve, next_breakpoint, price_at
from registry.procurement.pricing import PriceTier as Tier
from registry.procurement.savings import Baseline, PoolInput, PoolPricing, pool_rows, report
from registry.procurement.states import transition_error
from registry.procurement.what_if import what_if

CURVE = [Tier(1, 1000), Tier(10, 900), Tier(20, 800)]


def test_price_at_each_breakpoint() -> None:
    assert [price_at(CURVE, q) for q in (1, 9, 10, 19, 20, 10_000)] == [1000, 1000, 900, 900, 800, 800]
    assert next_breakpoint(CURVE, 15) == Tier(20, 800)
    assert next_breakpoint(CURVE, 25) is None
    with pytest.raises(CurveError):
        price_at(CURVE, 0)


@pytest.mark.parametrize(("tiers", "message"), [
    ([], "at least one"),
    ([Tier(5, 100)], "start at min_quantity 1"),
    ([Tier(1, 100), Tier(5, 120)], "must not rise"),
    ([Tier(1, 100), Tier(1, 90)], "two tiers"),
])
def test_bad_curves_are_explained(tiers: list[Tier], message: str) -> None:
    with pytest.raises(CurveError, match=message):
        check_curve(tiers)


def test_check_curve_sorts() -> None:
    assert check_curve([Tier(10, 900), Tier(1, 1000)]) == [Tier(1, 1000), Tier(10, 900)]


def line(need: str, muni: str, qty: int, req: dict | None = None, tender: str | None = None) -> PoolLine:
    return PoolLine(need, muni, "pc", qty, None, req or {}, tender, "LOT-1" if tender else None)


def test_merge_intersects_and_names_the_conflict() -> None:
    assert merge({"os": ["windows", "chromeos"]}, {"os": ["windows"], "memory_gb": ["16"]}) == (
        {"memory_gb": ["16"], "os": ["windows"]}, None)
    merged, why = merge({"os": ["chromeos"]}, {"os": ["windows"]})
    assert merged is None and why == "os must be one of ['windows'] but the group allows only ['chromeos']"


def test_incompatible_needs_are_not_pooled_and_the_reason_is_kept() -> None:
    groups = group_compatible([
        line("n1", "131016", 50, {"os": ["windows", "chromeos"]}),
        line("n2", "131024", 30, {"os": ["windows"]}),
        line("n3", "131032", 20, {"os": ["chromeos"]}),
        line("n4", "131041", 10),
    ], "pc")
    assert [(g.key, g.quantity, g.participants) for g in groups] == [
        ("pc/1", 90, ["131016", "131024", "131041"]), ("pc/2", 20, ["131032"])]
    assert groups[0].requirements == {"os": ["windows"]}
    assert groups[1].separated_because == [
        "need n3 of 131032 not pooled with group pc/1: os must be one of ['chromeos'] but the group allows only "
        "['windows']"]


def test_needs_held_by_a_tender_stay_with_it() -> None:
    grouped = pools([line("n1", "131016", 5, tender="t1"), line("n2", "131024", 7, tender="t1"),
                     line("n3", "131032", 4)])["pc"]
    assert [(g.key, g.quantity) for g in grouped] == [("tender:t1", 12), ("pc/1", 4)]
    assert grouped[0].by_prefecture() == {"13": 12}


def test_requirements_checked_against_category_attributes() -> None:
    attributes = {"os": ["windows", "chromeos"]}
    assert check_requirements({"os": ["windows"]}, attributes) == []
    assert check_requirements({"os": ["beos"], "ram": ["8"]}, attributes) == [
        "'os' values ['beos'] are not among ['chromeos', 'windows']",
        "'ram' is not an attribute of this category (known: ['os'])"]


def test_savings_by_hand_on_a_small_pool() -> None:
    group = group_compatible([line("a", "131016", 8), line("b", "131024", 7), line("c", "131032", 6)], "pc")[0]
    baselines = {"a": Baseline(1000, "list_price"), "b": Baseline(950, "current_contract"),
                 "c": Baseline(980, "standalone_quote")}
    rows = pool_rows(group, PoolPricing(CURVE, "test curve", 100_000), baselines)
    # Q = 21 -> P(Q) = 800; alone each buys < 10 at 1000.
    assert [(r.key, r.price_savings.amount_yen, r.pooling_uplift.amount_yen) for r in rows] == [
        ("131016", (1000 - 800) * 8, (1000 - 800) * 8),
        ("131024", (950 - 800) * 7, (1000 - 800) * 7),
        ("131032", (980 - 800) * 6, (1000 - 800) * 6)]
    awarded = pool_rows(group, PoolPricing(CURVE, "test curve", 100_000, awarded_unit_price_yen=850), baselines)
    assert [r.realised_savings.amount_yen for r in awarded] == [(1000 - 850) * 8, (950 - 850) * 7, (980 - 850) * 6]
    # Only the baselines the caller may see produce rows, but Q still counts everyone.
    only_b = pool_rows(group, PoolPricing(CURVE, "test curve", 100_000), {"b": baselines["b"]})
    assert [(r.key, r.pooled_quantity) for r in only_b] == [("131024", 21)]


def test_several_needs_of_one_municipality_keep_their_own_baselines() -> None:
    group = group_compatible([line("a1", "131016", 12), line("a2", "131016", 10)], "pc")[0]
    rows = pool_rows(group, PoolPricing(CURVE, "c", 0),
                     {"a1": Baseline(1000, "list_price"), "a2": Baseline(850, "current_contract")})
    # Q = q_m = 22 -> 800 both pooled and alone: no uplift for a municipality pooling with itself.
    assert rows[0].price_savings.amount_yen == (1000 - 800) * 12 + (850 - 800) * 10
    assert rows[0].price_savings.baseline_source == "current_contract, list_price"
    assert rows[0].pooling_uplift.amount_yen == 0


def test_report_rolls_up_and_counts_process_savings() -> None:
    pc = pools([line("a", "131016", 8, tender="t1"), line("b", "131024", 7, tender="t1"),
                line("s", "111007", 6, tender="t1")])["pc"][0]
    rows = report([PoolInput(pc, PoolPricing(CURVE, "c", 100_000, 850, tender_status="awarded"))],
                  {"a": Baseline(1000, "list_price"), "b": Baseline(950, "list_price"),
                   "s": Baseline(900, "list_price")})
    by = {(r.level, r.key): r for r in rows}
    assert by[("prefecture", "13")].price_savings.amount_yen == (1000 - 800) * 8 + (950 - 800) * 7
    assert by[("prefecture", "11")].price_savings.amount_yen == (900 - 800) * 6
    assert by[("total", "total")].process_savings.amount_yen == (3 - 1) * 100_000
    assert by[("category", "pc")].participants == 3


def test_what_if_k_join() -> None:
    group = group_compatible([line("a", "131016", 8), line("b", "131024", 7)], "pc")[0]
    result = what_if(group, PoolPricing(CURVE, "c", 0), {"a": Baseline(1000, "list_price")}, k=2, q=3,
                     list_price_yen=1000)
    assert (result.pooled_quantity_now, result.pooled_quantity_then) == (15, 21)
    assert (result.unit_price_now_yen, result.unit_price_then_yen) == (900, 800)
    assert [(r.who, r.savings_now_yen, r.savings_then_yen) for r in result.rows] == [
        ("131016", (1000 - 900) * 8, (1000 - 800) * 8), ("each of 2 joining", None, (1000 - 800) * 3)]


def test_tender_lifecycle() -> None:
    assert transition_error("planned", "active") is None
    assert transition_error("active", "awarded") is None
    assert transition_error("awarded", "contracted") is None
    assert "final" in (transition_error("contracted", "cancelled") or "")
    assert "can become active, cancelled" in (transition_error("planned", "contracted") or "")
    assert "not a tender status" in (transition_error("planned", "done") or "")


def test_csv_parse_reports_every_bad_row() -> None:
    text = ("category_code,quantity,requirements,baseline_unit_price_yen,baseline_source,budget_status\n"
            "pc,3,os=windows|chromeos;memory_gb=16,150000,current_contract,approved\n"
            "pc,x,,150000,current_contract,approved\n"
            "pc,3,,150000,guess,approved\n")
    with pytest.raises(csvio.CsvRejected) as caught:
        csvio.parse_needs(text)
    assert [n for n, _ in caught.value.rows] == [3, 4]
    good = csvio.parse_needs(text.rsplit("\n", 3)[0] + "\n")
    assert good[0][1].requirements == {"os": ["windows", "chromeos"], "memory_gb": ["16"]}
    with pytest.raises(csvio.CsvRejected, match="1 rows"):
        csvio.parse_needs("category,quantity\npc,1\n")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_cells_cannot_start_a_formula(start: str) -> None:
    import csv
    import io

    text = f"{start}HYPERLINK(\"https://evil.example\",\"x\")"
    rendered = csvio.render([{"name": text, "note": "plain", "amount": -500, "price": 1.5, "empty": None}],
                            ["name", "note", "amount", "price", "empty"])
    header, row = list(csv.reader(io.StringIO(rendered)))
    assert header == ["name", "note", "amount", "price", "empty"]
    assert row == ["'" + text, "plain", "-500", "1.5", ""]
