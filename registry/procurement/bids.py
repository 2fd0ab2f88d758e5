"""Sealed bids: what a bid must offer, and how opened bids are ranked and a lot is won. Pure.

Evaluation (docs/procurement.md, "Bids and evaluation"): per lot, every submitted bid is priced at the
lot's pooled quantity Q (a curve by P(Q), a unit price as it is). One supplier serves a whole lot, so
a bid is compliant for the lot only if its price is within every buyer's `max_unit_price_yen` (a
buyer without one accepts any price); a bid over a buyer's maximum is not compliant for that buyer and
so cannot win the lot, and the ranking says for which buyers. The lowest compliant price wins; a tie
goes to the bid whose final version came in first (its `updated_at`), then the lower corporate number,
so the same bids always give the same winner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from registry.i18n import message_of, tr
from registry.problems import Conflict, FieldError, Unprocessable, invalid_field
from registry.procurement.bid_models import Bid, BidSubmit, LotEvaluation, RankedBid
from registry.procurement.pricing import CurveError, PriceTier, check_curve, price_at
from registry.procurement.rules import sentence

METHOD = ("lowest compliant price per lot at the pooled quantity; compliant = within every buyer's maximum "
          "unit price; ties to the earliest final bid")


@dataclass(frozen=True)
class BuyerLine:
    """One need of a lot as the organiser sees it: who, how many, and the most it will pay per unit."""

    municipality_code: str
    lot_id: str
    quantity: int
    max_unit_price_yen: int | None


def check_bid(data: BidSubmit, requirements: Mapping[str, Sequence[str]]) -> tuple[int | None, list[PriceTier] | None]:
    """The bid's price (a unit price or a checked curve); 422 naming every requirement it does not meet."""
    if (data.unit_price_yen is None) == (data.price_curve is None):
        raise invalid_field("unit_price_yen", tr("give either unit_price_yen or price_curve, not both and not "
                                                 "neither"))
    problems = []
    for attribute, allowed in sorted(requirements.items()):
        offered = data.offer.get(attribute)
        if offered is None:
            problems.append(FieldError(f"offer.{attribute}", tr("the tender requires {attribute} in {allowed}; say "
                                                                "which value you offer",
                                                                attribute=attribute, allowed=list(allowed))))
        elif offered not in allowed:
            problems.append(FieldError(f"offer.{attribute}", tr("{offered} does not meet the requirement: "
                                                                "{attribute} must be one of {allowed}",
                                                                offered=f"{offered!r}", attribute=attribute,
                                                                allowed=list(allowed))))
    if problems:
        raise Unprocessable(tr("The bid does not meet every requirement of the tender: {problems}.",
                               problems=sentence(problems)), errors=problems)
    if data.price_curve is None:
        return data.unit_price_yen, None
    try:
        return None, check_curve(data.price_curve)
    except CurveError as exc:
        raise invalid_field("price_curve", message_of(exc)) from exc


def require_before_deadline(now: datetime, deadline: datetime, action: Literal["ask", "submit", "withdraw"]) -> None:
    """One whole sentence per action, so that each reads naturally in Japanese too."""
    if now < deadline:
        return
    when = deadline.isoformat()
    if action == "ask":
        raise Conflict(tr("The bid deadline ({deadline}) has passed; bids can no longer be asked about.",
                          deadline=when))
    if action == "submit":
        raise Conflict(tr("The bid deadline ({deadline}) has passed; bids can no longer be submitted or replaced.",
                          deadline=when))
    raise Conflict(tr("The bid deadline ({deadline}) has passed; bids can no longer be withdrawn.", deadline=when))


def check_notice(deadline: datetime, now: datetime) -> None:
    if deadline.tzinfo is None:
        raise invalid_field("bid_deadline", tr("give a time zone, e.g. 2026-06-01T17:00:00+09:00"))
    if deadline <= now:
        raise invalid_field("bid_deadline", tr("must lie in the future: suppliers need time to bid"))


def bid_price(bid: Bid, quantity: int) -> tuple[int, str]:
    """(unit price, how it was found) of a bid for a lot of `quantity` pooled units."""
    if bid.price_curve:
        return price_at(bid.price_curve, quantity), f"bid curve at Q={quantity}"
    assert bid.unit_price_yen is not None  # the table allows exactly one of the two
    return bid.unit_price_yen, "unit price"


def evaluate_lot(lot_id: str, lines: Sequence[BuyerLine], bids: Sequence[Bid], names: Mapping[str, str]
                 ) -> LotEvaluation:
    quantity = sum(line.quantity for line in lines)
    buyers = sorted({line.municipality_code for line in lines})
    ceilings: dict[str, int] = {}
    for line in lines:
        if line.max_unit_price_yen is not None:
            ceilings[line.municipality_code] = min(ceilings.get(line.municipality_code, line.max_unit_price_yen),
                                                   line.max_unit_price_yen)
    priced = []
    for bid in bids:
        if bid.status != "submitted" or bid.lot_id != lot_id:
            continue
        price, basis = bid_price(bid, quantity)
        reasons = [f"¥{price:,} is over {code}'s maximum unit price ¥{ceiling:,}"
                   for code, ceiling in sorted(ceilings.items()) if price > ceiling]
        priced.append((not reasons, price, bid, basis, reasons))
    priced.sort(key=lambda x: (not x[0], x[1], x[2].updated_at, x[2].supplier_code))
    ranked = [RankedBid(i, bid.bid_id, bid.supplier_code, names.get(bid.supplier_code, bid.supplier_code), price,
                        basis, ok, reasons)
              for i, (ok, price, bid, basis, reasons) in enumerate(priced, start=1)]
    winner = ranked[0] if ranked and ranked[0].compliant else None
    return LotEvaluation(lot_id, quantity, len(buyers), winner.bid_id if winner else None,
                         _explain(ranked, winner, quantity), ranked)


def _explain(ranked: Sequence[RankedBid], winner: RankedBid | None, quantity: int) -> str:
    """English in the evaluation's answer; a tr(...) Message so that a 409 quoting it (winners) is said in the
    request's language."""
    if not ranked:
        return tr("No bid for this lot: mark the tender unsuccessful or cancel it.")
    if winner is None:
        return tr("No compliant bid among {count}: each is over at least one buyer's maximum unit price "
                  "(see reasons). Mark the tender unsuccessful or cancel it.", count=len(ranked))
    text: str = tr("Lowest compliant price: ¥{unit_price_yen} per unit at the pooled quantity {quantity}, "
                   "{supplier_name} ({supplier_code}).", unit_price_yen=f"{winner.unit_price_yen:,}",
                   quantity=f"{quantity:,}", supplier_name=winner.supplier_name,
                   supplier_code=winner.supplier_code)
    tied = [r for r in ranked[1:] if r.compliant and r.unit_price_yen == winner.unit_price_yen]
    if tied:
        text = tr("{text} Tied with {suppliers} at the same price: the bid whose final version came in first "
                  "wins.", text=text, suppliers=", ".join(r.supplier_code for r in tied))
    dropped = [r for r in ranked if not r.compliant]
    if dropped:
        text = tr("{text} {count} bid(s) not compliant, whatever their price (see reasons).",
                  text=text, count=len(dropped))
    return text


def winners(evaluations: Sequence[LotEvaluation]) -> dict[str, RankedBid]:
    """The winning bid of every lot; 409 naming the lots nobody can win."""
    missing = [e for e in evaluations if e.winner_bid_id is None]
    if missing:
        said: str = tr("{field}: {message}", field=missing[0].lot_id, message=missing[0].explanation)
        for e in missing[1:]:
            said = tr("{first} {rest}", first=said, rest=tr("{field}: {message}", field=e.lot_id,
                                                             message=e.explanation))
        raise Conflict(tr("No award from bids: {lots}", lots=said))
    return {e.lot_id: next(b for b in e.bids if b.bid_id == e.winner_bid_id) for e in evaluations}


def headline_lot(evaluations: Sequence[LotEvaluation]) -> str:
    """The lot whose winner the tender row names (the largest; ties by lot id): one name and price for
    lists and savings, while each lot's own winner and price are in the lot awards and contracts."""
    return min(evaluations, key=lambda e: (-e.pooled_quantity, e.lot_id)).lot_id
