"""A round's pooled demand as the caller may see it: quantities of every participant, prices of visible needs."""

from __future__ import annotations

import asyncpg

from registry.procurement import queries
from registry.procurement.aggregate import Group, PoolLine, pools
from registry.procurement.models import Category, Round, TenderRecord
from registry.procurement.savings import LotPrice, PoolInput, PoolPricing


class RoundPools:
    """A round's pooled demand as the caller may see it: quantities for all, prices for visible needs."""

    def __init__(self, r: Round, lines: list[PoolLine], categories: dict[str, Category],
                 tenders: list[TenderRecord], lot_prices: list[LotPrice] | None = None) -> None:
        self.round = r
        self.lines = lines
        self.categories = categories
        self.tenders = {t.tender_id: t for t in tenders}
        self.lot_prices: dict[str, dict[str, LotPrice]] = {}
        for lot in lot_prices or []:
            self.lot_prices.setdefault(lot.tender_id, {})[lot.lot_id] = lot
        self.groups = pools(lines)

    @classmethod
    async def load(cls, db: asyncpg.Connection, r: Round) -> RoundPools:
        lines = await queries.pool_lines(db, r.organiser_code, r.round_id)
        categories = await queries.get_categories(db, r.category_codes)
        tenders = await queries.list_tenders(db, r.organiser_code, r.round_id)
        return cls(r, lines, categories, tenders, await queries.lot_prices(db, r.organiser_code, r.round_id))

    def pricing(self, group: Group) -> PoolPricing:
        """The catalogue curve always; once awarded, the winning bid (its curve, if any, and its price) and,
        when awarded lot by lot, each lot's own winning bid (a buyer pays its lot's price, not the tender row's)."""
        category = self.categories[group.category_code]
        tender = self.tenders.get(group.tender_id or "")
        catalogue = f"catalogue price curve {category.category_code} v{category.version}"
        if tender is None:
            return PoolPricing(category.price_tiers, catalogue, category.process_cost_yen)
        awarded = tender.awarded_unit_price_yen if tender.status in ("awarded", "contracted") else None
        return PoolPricing(category.price_tiers, catalogue, tender.process_cost_yen, awarded, tender.bid_curve,
                           f"winning bid of {tender.supplier_name}", tender.status,
                           self.lot_prices.get(tender.tender_id) if awarded is not None else None)

    def inputs(self) -> list[PoolInput]:
        return [PoolInput(g, self.pricing(g), self.categories[g.category_code].unit_code)
                for groups in self.groups.values() for g in groups]

    def group(self, key: str) -> Group | None:
        for groups in self.groups.values():
            for g in groups:
                if g.key == key or (g.tender_id and g.tender_id == key):
                    return g
        return None

    def tender_group(self, tender_id: str) -> Group | None:
        for g in self.groups.get(self.tenders[tender_id].category_code, []):
            if g.tender_id == tender_id:
                return g
        return None
