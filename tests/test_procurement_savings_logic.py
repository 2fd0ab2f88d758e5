"""Savings a finance officer signs (issue 16, item 5), without a database: one basis per figure, sections,
yen-only totals, the headline and the what-if refusal. Every expected figure is written out by hand from the
formulas in docs/procurement.md, never taken from the code under test."""

from __future__ import annotations

import pytest

from registry.problems import Conflict
from registry.procurement.aggregate import PoolLine, pools
from registry.procurement.pricing import PriceTier as Tier
from registry.procurement.savings import (
    METHOD_VERSION,
    SETTLED,
    Baseline,
    LotPrice,
    PoolInput,
    PoolPricing,
    headline,
    report,
)
from registry.procurement.what_if import what_if

PC = [Tier(1, 1000), Tier(10, 900), Tier(20, 800)]      # catalogue curve C of "pc"
LIC = [Tier(1, 500), Tier(50, 400)]                      # catalogue curve C of "lic"
BID = [Tier(1, 950), Tier(15, 780)]                      # the winning bid's curve W for the pc tender


def _line(need: str, muni: str, category: str, qty: int, tender: str | None = None,
          req: dict | None = None) -> PoolLine:
    return PoolLine(need, muni, category, qty, None, req or {}, tender, "LOT-1" if tender else None)


LINES = [
    _line("a", "131016", "pc", 8, "t1"), _line("b", "131024", "pc", 7, "t1"), _line("s", "111007", "pc", 6, "t1"),
    _line("c", "131016", "lic", 30, "t2"), _line("d", "131032", "lic", 25, "t2"),
    _line("e", "131032", "pc", 12, req={"os": ["macos"]}),  # never tendered
]
BASELINES = {"a": Baseline(1000, "list_price"), "b": Baseline(950, "current_contract"),
             "s": Baseline(900, "standalone_quote"), "c": Baseline(520, "current_contract"),
             "d": Baseline(480, "standalone_quote"), "e": Baseline(850, "standalone_quote")}


def _inputs(award_curve: list[Tier] | None) -> list[PoolInput]:
    grouped = pools(LINES)
    out = []
    for g in grouped["pc"] + grouped["lic"]:
        if g.tender_id == "t1":  # awarded at W(21) = 780
            pricing = PoolPricing(PC, "catalogue pc", 100_000, 780, award_curve, "winning bid", "awarded")
        elif g.tender_id == "t2":  # published, not yet awarded
            pricing = PoolPricing(LIC, "catalogue lic", 50_000, tender_status="active")
        else:
            pricing = PoolPricing(PC, "catalogue pc", 100_000)
        out.append(PoolInput(g, pricing, "H87" if g.category_code == "pc" else "C62"))
    return out


def test_sections_totals_in_yen_and_the_headline() -> None:
    rows = report(_inputs(BID), BASELINES)
    by = {(r.section, r.level, r.key + (f"/{r.pool}" if r.level == "municipality" else "")): r for r in rows}
    total = by[("tendered", "total", "total")]
    # pc, Q = 21: C(21) = 800, alone C(q_m < 10) = 1000; lic, Q = 55: C(55) = 400, alone C(< 50) = 500.
    price = (1000 - 800) * 8 + (950 - 800) * 7 + (900 - 800) * 6 + (520 - 400) * 30 + (480 - 400) * 25
    uplift = (1000 - 800) * (8 + 7 + 6) + (500 - 400) * (30 + 25)
    realised = (1000 - 780) * 8 + (950 - 780) * 7 + (900 - 780) * 6          # W(21) = 780; lic not awarded
    uplift_awarded = (950 - 780) * (8 + 7 + 6)                               # W(q_m < 15) = 950
    process = (3 - 1) * 100_000                                              # the awarded pc tender only
    assert (total.price_savings.amount_yen, total.pooling_uplift.amount_yen) == (price, uplift) == (8850, 9700)
    assert (total.realised_savings.amount_yen, total.pooling_uplift_awarded.amount_yen) == (realised, uplift_awarded)
    assert (realised, uplift_awarded) == (3670, 3570)
    assert total.process_savings.amount_yen == process
    # Yen only where units differ: total and prefecture rows have no quantity; per-category rows keep theirs.
    assert total.quantity is None and total.unit_code is None
    assert all(r.quantity is None for r in rows if r.level == "prefecture")
    assert (by[("tendered", "category", "pc")].quantity, by[("tendered", "category", "pc")].unit_code) == (21, "H87")
    assert (by[("tendered", "tender", "t2")].quantity, by[("tendered", "tender", "t2")].unit_code) == (55, "C62")
    assert by[("tendered", "prefecture", "13")].price_savings.amount_yen == 1600 + 1050 + 3600 + 2000
    # The pool never tendered (C(12) = 900 over a baseline of 850: -600 yen) is in its own section only.
    untendered = [r for r in rows if r.section == "untendered"]
    assert {(r.level, r.key) for r in untendered} == {("municipality", "131032"), ("pool", "pc/1")}
    assert [r.price_savings.amount_yen for r in untendered] == [(850 - 900) * 12] * 2
    assert by[("untendered", "pool", "pc/1")].quantity == 12 and by[("untendered", "pool", "pc/1")].unit_code == "H87"
    assert not any(r.pool == "pc/1" for r in rows if r.section == "tendered")
    h = headline(rows)
    assert (h.amount_yen, h.realised_savings_yen, h.process_savings_yen) == (realised + process, 3670, 200_000)
    assert (h.tenders_counted, h.untendered_pools_excluded, h.basis) == (1, 1, "awarded")
    assert "realised savings + process savings" in h.text and f"method {METHOD_VERSION}" in h.text
    assert "¥203,670" in h.text and METHOD_VERSION == "kyodo-savings/2.1"


def test_each_figure_keeps_one_basis_whatever_the_award_type() -> None:
    on_curve = report(_inputs(BID), BASELINES)
    on_unit_price = report(_inputs(None), BASELINES)
    chiyoda = next(r for r in on_curve if r.level == "municipality" and r.pool == "tender:t1" and r.key == "131016")
    assert (chiyoda.price_savings.basis, chiyoda.pooling_uplift.basis) == ("catalogue", "catalogue")
    assert (chiyoda.realised_savings.basis, chiyoda.pooling_uplift_awarded.basis) == ("awarded", "awarded")
    assert chiyoda.price_savings.amount_yen == (1000 - 800) * 8 and chiyoda.realised_savings.amount_yen == 1760
    # The catalogue figures do not move with the kind of award (issue 16: a curve award once re-priced them).
    for a, b in zip(on_curve, on_unit_price, strict=True):
        assert (a.price_savings, a.pooling_uplift, a.realised_savings) == (b.price_savings, b.pooling_uplift,
                                                                           b.realised_savings)
        assert b.pooling_uplift_awarded is None  # a unit price says nothing about buying alone


def test_each_buyer_is_priced_on_its_own_lots_winning_bid() -> None:
    """The pc tender split by prefecture: Tokyo's lot (Q_L = 15) won on the curve BID at W(15) = 780, Saitama's
    (Q_L = 6) by another supplier at a flat 820. The tender row names Tokyo's winner (the largest lot)."""
    lines = [PoolLine("a", "131016", "pc", 8, None, {}, "t1", "LOT-13"),
             PoolLine("b", "131024", "pc", 7, None, {}, "t1", "LOT-13"),
             PoolLine("s", "111007", "pc", 6, None, {}, "t1", "LOT-11")]
    lots = {"LOT-13": LotPrice("t1", "LOT-13", "NTA", 15, 780, BID),
            "LOT-11": LotPrice("t1", "LOT-11", "Toyota", 6, 820)}
    (group,) = pools(lines)["pc"]
    rows = report([PoolInput(group, PoolPricing(PC, "catalogue pc", 100_000, 780, BID, "winning bid of NTA", "awarded",
                                                lots), "H87")], BASELINES)
    by = {(r.level, r.key): r for r in rows}
    # r_m = (B_m - W_L(Q_L)) * q_m: Saitama at its own lot's 820, not the tender row's 780.
    assert [by[("municipality", m)].realised_savings.amount_yen for m in ("131016", "131024", "111007")] == \
        [(1000 - 780) * 8, (950 - 780) * 7, (900 - 820) * 6] == [1760, 1190, 480]
    assert (by[("municipality", "111007")].lot_id, by[("municipality", "111007")].awarded_unit_price_yen) == \
        ("LOT-11", 820)
    assert by[("municipality", "111007")].realised_savings.price_basis == \
        "LOT-11 winning bid of Toyota: 820 yen per unit at Q=6"
    # u'_m = (W_L(q_m) - W_L(Q_L)) * q_m on Tokyo's curve (W(8) = W(7) = 950); Saitama's flat price has none.
    assert [by[("municipality", m)].pooling_uplift_awarded.amount_yen for m in ("131016", "131024")] == [1360, 1190]
    assert by[("municipality", "111007")].pooling_uplift_awarded is None
    # The catalogue estimate stays on the whole pool (Q = 21, C = 800), whatever the lots.
    assert by[("municipality", "111007")].price_savings.amount_yen == (900 - 800) * 6
    # Every roll-up is the sum of its parts, and the headline the total's realised + process.
    total, tender = by[("total", "total")], by[("tender", "t1")]
    assert total.realised_savings.amount_yen == tender.realised_savings.amount_yen == 1760 + 1190 + 480
    by_prefecture = [by[("prefecture", p)].realised_savings.amount_yen for p in ("13", "11")]
    assert by_prefecture == [1760 + 1190, 480]
    assert total.pooling_uplift_awarded.amount_yen == 1360 + 1190
    h = headline(rows)
    assert (h.realised_savings_yen, h.process_savings_yen, h.amount_yen) == (3430, 200_000, 203_430)


@pytest.mark.parametrize("status", sorted(SETTLED))
def test_what_if_is_refused_once_the_tender_cannot_change(status: str) -> None:
    group = pools(LINES)["pc"][0]
    with pytest.raises(Conflict, match=f"is {status}"):
        what_if(group, PoolPricing(PC, "c", 0, tender_status=status), BASELINES, 1, 3, 1000)


@pytest.mark.parametrize("status", [None, "planned", "active"])
def test_what_if_runs_while_the_tender_can_change(status: str | None) -> None:
    group = pools(LINES)["pc"][0]
    result = what_if(group, PoolPricing(PC, "c", 0, tender_status=status), BASELINES, 1, 3, 1000)
    assert (result.pooled_quantity_now, result.pooled_quantity_then) == (21, 24)
