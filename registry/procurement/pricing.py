"""Price curves: unit price by pooled quantity. Pure; yen are integers throughout."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


class CurveError(ValueError):
    """A price curve a supplier or admin sent that cannot be used; the message says how to fix it."""


@dataclass(frozen=True, order=True)
class Tier:
    min_quantity: int
    unit_price_yen: int


def check_curve(tiers: Sequence[Tier]) -> list[Tier]:
    """Tiers sorted by breakpoint; the first must start at 1 and prices must not rise with quantity.

    All-units pricing: the price of the highest breakpoint reached applies to every unit, which is how
    volume tiers in Japanese framework contracts (単価契約) are usually written.
    """
    if not tiers:
        raise CurveError("a price curve needs at least one tier")
    ordered = sorted(tiers)
    if ordered[0].min_quantity != 1:
        raise CurveError("the first tier must start at min_quantity 1 so that every quantity has a price")
    for before, after in itertools.pairwise(ordered):
        if before.min_quantity == after.min_quantity:
            raise CurveError(f"two tiers start at min_quantity {after.min_quantity}")
        if after.unit_price_yen > before.unit_price_yen:
            raise CurveError(f"the unit price rises from {before.unit_price_yen} to {after.unit_price_yen} yen at "
                             f"min_quantity {after.min_quantity}; a volume curve must not rise")
    for tier in ordered:
        if tier.unit_price_yen <= 0:
            raise CurveError("unit prices must be positive yen")
    return ordered


def price_at(tiers: Sequence[Tier], quantity: int) -> int:
    """P(Q): the unit price at pooled quantity Q (Q >= 1)."""
    if quantity < 1:
        raise CurveError("the quantity must be at least 1")
    price = None
    for tier in sorted(tiers):
        if tier.min_quantity <= quantity:
            price = tier.unit_price_yen
    if price is None:
        raise CurveError(f"no tier covers quantity {quantity}")
    return price


def next_breakpoint(tiers: Sequence[Tier], quantity: int) -> Tier | None:
    """The next tier above Q, to tell participants how far the pool is from a lower price."""
    for tier in sorted(tiers):
        if tier.min_quantity > quantity:
            return tier
    return None


def tiers_from_json(items: Sequence[dict]) -> list[Tier]:
    return [Tier(int(t["min_quantity"]), int(t["unit_price_yen"])) for t in items]


def tiers_to_json(tiers: Sequence[Tier]) -> list[dict]:
    return [{"min_quantity": t.min_quantity, "unit_price_yen": t.unit_price_yen} for t in sorted(tiers)]
