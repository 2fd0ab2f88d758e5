"""Price curves: unit price by pooled quantity. Pure; yen are integers throughout.

`PriceTier` is the one shape of a tier: in request bodies, in the catalogue and bid-curve columns
(decoded straight into it by `queries`) and in the arithmetic here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Annotated

import msgspec

from registry.i18n import tr

Yen = Annotated[int, msgspec.Meta(ge=0, le=10**13, description="integer yen")]
PositiveYen = Annotated[int, msgspec.Meta(ge=1, le=10**13, description="integer yen")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]


class CurveError(ValueError):
    """A price curve a supplier or admin sent that cannot be used; the message says how to fix it."""


class PriceTier(msgspec.Struct, frozen=True, order=True, forbid_unknown_fields=True):
    """From `min_quantity` units of pooled demand on, every unit costs `unit_price_yen`."""

    min_quantity: Quantity
    unit_price_yen: PositiveYen


def check_curve(tiers: Sequence[PriceTier]) -> list[PriceTier]:
    """Tiers sorted by breakpoint; the first must start at 1 and prices must not rise with quantity.

    All-units pricing: the price of the highest breakpoint reached applies to every unit, which is how
    volume tiers in Japanese framework contracts (単価契約) are usually written.
    """
    if not tiers:
        raise CurveError(tr("a price curve needs at least one tier"))
    ordered = sorted(tiers)
    if ordered[0].min_quantity != 1:
        raise CurveError(tr("the first tier must start at min_quantity 1 so that every quantity has a "
                            "price"))
    for before, after in itertools.pairwise(ordered):
        if before.min_quantity == after.min_quantity:
            raise CurveError(tr("two tiers start at min_quantity {min_quantity}", min_quantity=after.min_quantity))
        if after.unit_price_yen > before.unit_price_yen:
            raise CurveError(tr("the unit price rises from {unit_price_yen} to {unit_price_yen2} yen at "
                                "min_quantity {min_quantity}; a volume curve must not rise",
                                unit_price_yen=before.unit_price_yen, unit_price_yen2=after.unit_price_yen,
                                min_quantity=after.min_quantity))
    for tier in ordered:
        if tier.unit_price_yen <= 0:
            raise CurveError(tr("unit prices must be positive yen"))
    return ordered


def price_at(tiers: Sequence[PriceTier], quantity: int) -> int:
    """P(Q): the unit price at pooled quantity Q (Q >= 1)."""
    if quantity < 1:
        raise CurveError(tr("the quantity must be at least 1"))
    price = None
    for tier in sorted(tiers):
        if tier.min_quantity <= quantity:
            price = tier.unit_price_yen
    if price is None:
        raise CurveError(tr("no tier covers quantity {quantity}", quantity=quantity))
    return price


def next_breakpoint(tiers: Sequence[PriceTier], quantity: int) -> PriceTier | None:
    """The next tier above Q, to tell participants how far the pool is from a lower price."""
    for tier in sorted(tiers):
        if tier.min_quantity > quantity:
            return tier
    return None

