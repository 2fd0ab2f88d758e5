"""Evaluating opened bids, without a database (registry/procurement/bids.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from registry.i18n import render
from registry.problems import Conflict, shape_problem
from registry.procurement.bid_models import Bid, BidSubmit
from registry.procurement.bids import BuyerLine, evaluate_lot, headline_lot, winners
from registry.procurement.pricing import PriceTier

T0 = datetime(2026, 6, 1, tzinfo=UTC)
LINES = [BuyerLine("131016", "LOT-1", 30, None), BuyerLine("131024", "LOT-1", 20, 900),
         BuyerLine("131024", "LOT-1", 10, 950), BuyerLine("131032", "LOT-2", 5, None)]


def bid(supplier: str, price: int | None = None, curve: list[tuple[int, int]] | None = None, lot: str = "LOT-1",
        minutes: int = 0, status: str = "submitted") -> Bid:
    tiers = [PriceTier(q, p) for q, p in curve] if curve else None
    return Bid(f"b-{supplier}-{lot}", supplier, "t", lot, {}, price, tiers, status, 1, T0,  # type: ignore[arg-type]
               T0 + timedelta(minutes=minutes))


def lot1(*bids: Bid):
    return evaluate_lot("LOT-1", [x for x in LINES if x.lot_id == "LOT-1"], bids, {})


def test_a_curve_is_priced_at_the_lots_pooled_quantity() -> None:
    # LOT-1 pools 30 + 20 + 10 = 60 units: the curve's tier from 50 applies to all 60.
    e = lot1(bid("A", curve=[(1, 1000), (50, 880), (100, 700)]))
    assert (e.pooled_quantity, e.buyers, e.bids[0].unit_price_yen, e.bids[0].price_basis) == \
        (60, 2, 880, "bid curve at Q=60")


def test_over_a_buyers_strictest_maximum_is_not_compliant_whatever_the_price() -> None:
    # 131024 has two needs, maxima 900 and 950: the stricter, 900, decides.
    e = lot1(bid("A", 920), bid("B", 899, minutes=5), bid("C", 880, status="withdrawn"))
    assert [(b.supplier_code, b.compliant) for b in e.bids] == [("B", True), ("A", False)]
    assert e.bids[1].reasons == ["¥920 is over 131024's maximum unit price ¥900"]
    assert e.winner_bid_id == "b-B-LOT-1" and "1 bid(s) not compliant" in e.explanation


def test_no_bid_or_no_compliant_bid_wins_nothing_and_says_why() -> None:
    empty, over = lot1(), lot1(bid("A", 901), bid("B", 5000))
    assert empty.winner_bid_id is None and "No bid" in empty.explanation
    assert over.winner_bid_id is None and "No compliant bid among 2" in over.explanation
    with pytest.raises(Conflict, match="LOT-1: No compliant bid"):
        winners([over])


def test_ties_go_to_the_earliest_final_bid_then_the_lower_number() -> None:
    e = lot1(bid("Z", 800, minutes=1), bid("Y", 800, minutes=2), bid("X", 800, minutes=2))
    assert [b.supplier_code for b in e.bids] == ["Z", "X", "Y"]
    assert "Tied with X, Y" in e.explanation


def test_the_tender_row_names_the_winner_of_the_largest_lot() -> None:
    lots = [evaluate_lot(lot, [x for x in LINES if x.lot_id == lot], [bid("A", 800), bid("B", 10, lot="LOT-2")], {})
            for lot in ("LOT-1", "LOT-2")]
    assert headline_lot(lots) == "LOT-1"
    assert {lot: w.supplier_code for lot, w in winners(lots).items()} == {"LOT-1": "A", "LOT-2": "B"}


def test_a_409_from_bids_and_a_bad_offer_key_are_said_in_japanese() -> None:
    """The explanation a 409 quotes is a message (English as text, Japanese at the edge); a bad dict key in
    `offer` names the field `offer`, not the whole body (msgspec: " - at `key` in `$.offer`")."""
    over = lot1(bid("A", 901))
    with pytest.raises(Conflict) as caught:
        winners([over])
    assert str(caught.value.detail).startswith("No award from bids: LOT-1: No compliant bid among 1")
    japanese = render(caught.value.detail, "ja")
    assert "LOT-1" in japanese and "応札" in japanese and "No compliant" not in japanese
    with pytest.raises(msgspec.ValidationError) as bad:
        msgspec.json.decode(b'{"offer": {"Bad Key": "x"}, "unit_price_yen": 1}', type=BidSubmit)
    problem = shape_problem(bad.value)
    assert problem.errors and problem.errors[0].field == "offer"
    assert render(problem.detail, "ja").startswith("offer の")
