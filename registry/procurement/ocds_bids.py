"""What the OCDS bids extension shows of a round's opened bids and lot awards. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from registry.procurement import ocds
from registry.procurement.bid_models import Bid, LotAward
from registry.procurement.bids import bid_price
from registry.procurement.demand import RoundPools


def bid_facts(rp: RoundPools, opened: Sequence[tuple[Bid, str]]) -> dict[str, list[ocds.BidFact]]:
    """Per tender, each opened bid with its total: the bid's unit price at its lot's pooled quantity × that
    quantity (what the buyers of the lot would have paid in all had the bid won)."""
    out: dict[str, list[ocds.BidFact]] = {}
    for bid, name in opened:
        group = rp.tender_group(bid.tender_id) if bid.tender_id in rp.tenders else None
        quantity = sum(line.quantity for line in (group.lines if group else []) if line.lot_id == bid.lot_id)
        amount = bid_price(bid, quantity)[0] * quantity if quantity else 0
        out.setdefault(bid.tender_id, []).append(ocds.BidFact(bid.bid_id, bid.lot_id, bid.supplier_code, name,
                                                              bid.status, amount, bid.updated_at))
    return out


def winners(awards: Sequence[LotAward]) -> dict[str, dict[str, ocds.LotWinner]]:
    out: dict[str, dict[str, ocds.LotWinner]] = {}
    for a in awards:
        out.setdefault(a.tender_id, {})[a.lot_id] = ocds.LotWinner(a.supplier_code, a.supplier_name, a.bid_id)
    return out
