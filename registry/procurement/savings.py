"""Savings from pooling, each figure with its basis, method and baseline. Pure.

For municipality m with quantity q_m in a pool of quantity Q = sum of q_m, the catalogue's price curve
C, m's own baseline unit price B_m (current contract, stand-alone quote or list price) and, once the
tender is awarded, the winning bid W_L of m's lot L with the lot's pooled quantity Q_L (a tender of one lot,
or one awarded by hand: the tender's winning bid and Q_L = Q):

- price savings        s_m = (B_m - C(Q)) * q_m        basis: catalogue (the estimate, before and after award)
- pooling uplift       u_m = (C(q_m) - C(Q)) * q_m     basis: catalogue (what joining saved over buying alone)
- realised savings     r_m = (B_m - W_L(Q_L)) * q_m    basis: awarded (price savings on m's lot's winning bid)
- awarded uplift       (W_L(q_m) - W_L(Q_L)) * q_m     basis: awarded, only when that winning bid is a curve
- process savings      (N - 1) * cost of running one procurement, for an awarded tender of N municipalities

W_L(Q_L) is the price m pays: its lot award's unit price, which is also its contract's (the award from bids
writes both in one transaction). Issue 16 found a tender split by prefecture priced every buyer at the
tender row's price, the winner of its largest lot: another lot's buyers got the wrong winner's price.

Issue 16 found the basis switching with the award type (a bid-curve award re-priced the estimates on the
bid, a unit-price award did not), so each figure now keeps one basis and both are shown side by side.

Sections: pools that went to tender roll up by tender, category, prefecture and in total; pools that
never did (one round showed -2,520,000 yen of "price savings" from them) are rows of their own section
and count in no roll-up. Quantities are summed only within one category, so in one unit (the total
once added PCs, licences, OCR pages and seats: 2,079,233 "units"); prefecture and total rows carry yen only.

The headline is realised savings + process savings of awarded tenders: both are on the awarded basis,
neither is an estimate. Every amount is integer yen: curves and baselines are integer yen per unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from registry.procurement.aggregate import Group, PoolLine
from registry.procurement.pricing import PriceTier, price_at

# 2.1 (issue 16): realised savings and the awarded uplift on each buyer's own lot's winning bid (2.0 used the
# tender row's, the winner of the largest lot, for every lot).
METHOD_VERSION = "kyodo-savings/2.1"
PRICE_METHOD = "s_m = (B_m - C(Q)) * q_m"
UPLIFT_METHOD = "u_m = (C(q_m) - C(Q)) * q_m"
REALISED_METHOD = "r_m = (B_m - W_L(Q_L)) * q_m"
AWARDED_UPLIFT_METHOD = "u'_m = (W_L(q_m) - W_L(Q_L)) * q_m"
PROCESS_METHOD = "(N - 1) * cost of running one procurement, for an awarded tender"
WHAT_IF_METHOD = "s_m' = (B_m - C(Q + k * q)) * q_m; joiners: (list price - C(Q + k * q)) * q"
HEADLINE_LABEL = "realised savings + process savings"
HEADLINE_METHOD = ("sum over awarded tenders of realised savings r_m = (B_m - W_L(Q_L)) * q_m and process savings "
                   "(N - 1) * cost of one procurement; pools that did not go to tender excluded")
CATALOGUE, AWARDED, PROCESS = "catalogue", "awarded", "procurements avoided"
TENDERED, UNTENDERED = "tendered", "untendered"
# A what-if moves Q; once a tender is awarded, contracted, cancelled or unsuccessful, Q no longer can.
SETTLED = frozenset({"awarded", "contracted", "cancelled", "unsuccessful"})


class Baseline(msgspec.Struct, frozen=True, gc=False):  # as aggregate.PoolLine
    unit_price_yen: int
    source: str


class LotPrice(msgspec.Struct, frozen=True):
    """What one lot's winning bid set: its unit price at the lot's pooled quantity and its curve, if any."""

    tender_id: str
    lot_id: str
    supplier_name: str
    pooled_quantity: int
    unit_price_yen: int
    curve: list[PriceTier] | None = None


class Figure(msgspec.Struct, gc=False):  # as aggregate.PoolLine
    amount_yen: int
    basis: str
    method: str
    method_version: str
    baseline_source: str
    price_basis: str


class SavingsRow(msgspec.Struct, omit_defaults=True, gc=False):  # as aggregate.PoolLine
    level: str
    key: str
    section: str = TENDERED
    category_code: str | None = None
    unit_code: str | None = None
    pool: str | None = None
    tender_id: str | None = None
    tender_status: str | None = None
    lot_id: str | None = None
    municipality_code: str | None = None
    prefecture: str | None = None
    participants: int | None = None
    participants_included: int | None = None
    quantity: int | None = None
    pooled_quantity: int | None = None
    pooled_unit_price_yen: int | None = None
    alone_unit_price_yen: int | None = None
    awarded_unit_price_yen: int | None = None
    price_savings: Figure | None = None
    pooling_uplift: Figure | None = None
    realised_savings: Figure | None = None
    pooling_uplift_awarded: Figure | None = None
    process_savings: Figure | None = None


class Headline(msgspec.Struct):
    """The one figure a round's savings are quoted by, with its parts and the method that adds them."""

    amount_yen: int
    label: str
    realised_savings_yen: int
    process_savings_yen: int
    basis: str
    method: str
    method_version: str
    tenders_counted: int
    untendered_pools_excluded: int
    text: str


@dataclass(frozen=True)
class PoolPricing:
    """How one pool is priced: the catalogue curve, and the winning bid once its tender is awarded."""

    tiers: Sequence[PriceTier]
    basis: str
    process_cost_yen: int
    awarded_unit_price_yen: int | None = None
    awarded_curve: Sequence[PriceTier] | None = None
    awarded_basis: str = "winning bid"
    tender_status: str | None = None
    lots: Mapping[str, LotPrice] | None = None  # by lot id, once awarded lot by lot (award from bids)

    def lot_award(self, lot_id: str | None, pooled: int) -> tuple[int, Sequence[PriceTier] | None, int, str] | None:
        """(W_L(Q_L), W_L's curve or None, Q_L, basis) for a line of lot `lot_id`; None before an award.

        A lot's own award when there is one; else the tender's winning bid at the pool's Q (one lot, or an
        award by hand, which awards the whole tender at one price)."""
        if self.awarded_unit_price_yen is None:
            return None
        lot = (self.lots or {}).get(lot_id or "")
        if lot is not None:
            return (lot.unit_price_yen, lot.curve, lot.pooled_quantity,
                    f"{lot.lot_id} winning bid of {lot.supplier_name}")
        return self.awarded_unit_price_yen, self.awarded_curve, pooled, self.awarded_basis

    @property
    def tiers_in_force(self) -> Sequence[PriceTier]:
        """The curve prices follow now: the winning bid's once awarded with a curve, else the catalogue's."""
        return self.awarded_curve if self.awarded_curve and self.awarded_unit_price_yen is not None else self.tiers

    @property
    def basis_in_force(self) -> str:
        return self.awarded_basis if self.tiers_in_force is not self.tiers else self.basis


@dataclass(frozen=True)
class PoolInput:
    group: Group
    pricing: PoolPricing
    unit_code: str | None = None


def sources(items: Iterable[str]) -> str:
    return ", ".join(sorted(set(items)))


def pool_rows(group: Group, pricing: PoolPricing, baselines: Mapping[str, Baseline],
              unit_code: str | None = None) -> list[SavingsRow]:
    """One row per municipality whose baselines the caller may see (`baselines` by need id)."""
    pooled = group.quantity
    # Once per pool: the property sorts every line's municipality, and asked per row it made a national round's
    # first report after a change take 9.4 s (1,741 rows x 1,741 lines per pool; bench/PROCUREMENT.md).
    participants = len(group.participants)
    c_q = price_at(pricing.tiers, pooled)
    section = TENDERED if group.tender_id else UNTENDERED
    by_municipality: dict[str, list] = {}
    for line in group.lines:
        by_municipality.setdefault(line.municipality_code, []).append(line)
    rows = []
    for code, lines in sorted(by_municipality.items()):
        if not all(line.need_id in baselines for line in lines):
            continue
        q_m = sum(line.quantity for line in lines)
        own = [(baselines[line.need_id], line.quantity) for line in lines]
        source = sources(b.source for b, _ in own)
        c_alone = price_at(pricing.tiers, q_m)
        row = SavingsRow(
            level="municipality", key=code, section=section, category_code=group.category_code,
            unit_code=unit_code, pool=group.key, tender_id=group.tender_id, tender_status=pricing.tender_status,
            municipality_code=code, prefecture=code[:2], participants=participants,
            participants_included=1, quantity=q_m, pooled_quantity=pooled, pooled_unit_price_yen=c_q,
            alone_unit_price_yen=c_alone,
            price_savings=Figure(sum((b.unit_price_yen - c_q) * q for b, q in own), CATALOGUE, PRICE_METHOD,
                                 METHOD_VERSION, source, f"{pricing.basis} at Q={pooled}"),
            pooling_uplift=Figure((c_alone - c_q) * q_m, CATALOGUE, UPLIFT_METHOD, METHOD_VERSION,
                                  f"{pricing.basis} at q_m={q_m}", f"{pricing.basis} at Q={pooled}"))
        _awarded(row, pricing, lines, baselines, pooled, source)
        rows.append(row)
    return rows


def _awarded(row: SavingsRow, pricing: PoolPricing, lines: Sequence[PoolLine], baselines: Mapping[str, Baseline],
             pooled: int, source: str) -> None:
    """The awarded figures of one municipality, each line priced on its own lot's winning bid."""
    per_lot: dict[str | None, list[PoolLine]] = {}
    for line in lines:
        per_lot.setdefault(line.lot_id, []).append(line)
    row.lot_id = next(iter(per_lot)) if len(per_lot) == 1 else None
    realised = uplift = 0
    realised_bases, uplift_bases, alone_bases, prices = [], [], [], set()
    with_curve = False
    for lot_id, in_lot in sorted(per_lot.items(), key=lambda item: item[0] or ""):
        award = pricing.lot_award(lot_id, pooled)
        if award is None:
            return
        price, curve, lot_q, basis = award
        q_l = sum(line.quantity for line in in_lot)
        prices.add(price)
        realised += sum((baselines[line.need_id].unit_price_yen - price) * line.quantity for line in in_lot)
        realised_bases.append(f"{basis}: {price} yen per unit at Q={lot_q}")
        if curve:
            with_curve = True
            uplift += (price_at(curve, q_l) - price) * q_l
            alone_bases.append(f"{basis} at q_m={q_l}")
            uplift_bases.append(f"{basis} at Q={lot_q}")
    row.awarded_unit_price_yen = next(iter(prices)) if len(prices) == 1 else None
    row.realised_savings = Figure(realised, AWARDED, REALISED_METHOD, METHOD_VERSION, source,
                                  "; ".join(realised_bases))
    if with_curve:
        row.pooling_uplift_awarded = Figure(uplift, AWARDED, AWARDED_UPLIFT_METHOD, METHOD_VERSION,
                                            "; ".join(alone_bases), "; ".join(uplift_bases))


def process_figure(participants: int, cost_yen: int, basis: str) -> Figure:
    return Figure(max(participants - 1, 0) * cost_yen, PROCESS, PROCESS_METHOD, METHOD_VERSION,
                  f"{participants} separate procurements at {cost_yen} yen each", basis)


def _sum(figures: list[Figure | None], basis: str, method: str, price_basis: str) -> Figure | None:
    present = [f for f in figures if f is not None]
    if not present:
        return None
    return Figure(sum(f.amount_yen for f in present), basis, f"sum of {method}", METHOD_VERSION,
                  sources(s for f in present for s in f.baseline_source.split(", ")), price_basis)


def roll_up(level: str, key: str, rows: list[SavingsRow], participants: int | None = None,
            process: Figure | None = None, category_code: str | None = None, tender_id: str | None = None,
            unit_code: str | None = None, section: str = TENDERED, one_unit: bool = False,
            tender_status: str | None = None) -> SavingsRow:
    """Yen add up across rows; quantities only when every row is in one unit (`one_unit`: one category)."""
    return SavingsRow(
        level=level, key=key, section=section, category_code=category_code,
        unit_code=unit_code if one_unit else None, tender_id=tender_id, tender_status=tender_status,
        participants=participants, participants_included=len({r.municipality_code for r in rows}),
        quantity=sum(r.quantity or 0 for r in rows) if one_unit else None,
        price_savings=_sum([r.price_savings for r in rows], CATALOGUE, PRICE_METHOD, "per-pool catalogue C(Q)"),
        pooling_uplift=_sum([r.pooling_uplift for r in rows], CATALOGUE, UPLIFT_METHOD,
                            "per-pool catalogue C(q_m) and C(Q)"),
        realised_savings=_sum([r.realised_savings for r in rows], AWARDED, REALISED_METHOD,
                              "each buyer's lot's winning bid"),
        pooling_uplift_awarded=_sum([r.pooling_uplift_awarded for r in rows], AWARDED, AWARDED_UPLIFT_METHOD,
                                    "each buyer's lot's winning bid curve"),
        process_savings=process)


def _process_sum(figures: list[Figure | None], basis: str) -> Figure | None:
    present = [f for f in figures if f is not None]
    if not present:
        return None
    return Figure(sum(f.amount_yen for f in present), PROCESS, f"sum over awarded tenders of {PROCESS_METHOD}",
                  METHOD_VERSION, "category process cost", basis)


def report(pools: Sequence[PoolInput], baselines: Mapping[str, Baseline]) -> list[SavingsRow]:
    """Tendered section (municipality rows, then roll-ups by tender, category, prefecture and in total),
    then the untendered section (municipality rows, then one row per pool), which no roll-up counts."""
    municipality_rows: list[SavingsRow] = []
    tender_rows: list[SavingsRow] = []
    untendered_municipality: list[SavingsRow] = []
    untendered_pools: list[SavingsRow] = []
    per_category: dict[str, list[SavingsRow]] = {}
    process_by_category: dict[str, list[Figure | None]] = {}
    participants_by_category: dict[str, set[str]] = {}
    units: dict[str, str | None] = {}
    for pool in pools:
        group, pricing = pool.group, pool.pricing
        rows = pool_rows(group, pricing, baselines, pool.unit_code)
        n = len(group.participants)
        if not group.tender_id:
            untendered_municipality.extend(rows)
            untendered_pools.append(roll_up("pool", group.key, rows, n, None, group.category_code,
                                            unit_code=pool.unit_code, section=UNTENDERED, one_unit=True))
            continue
        municipality_rows.extend(rows)
        category = group.category_code
        units[category] = pool.unit_code
        per_category.setdefault(category, []).extend(rows)
        participants_by_category.setdefault(category, set()).update(group.participants)
        process = (process_figure(n, pricing.process_cost_yen, group.key)
                   if pricing.awarded_unit_price_yen is not None else None)
        process_by_category.setdefault(category, []).append(process)
        tender_rows.append(roll_up("tender", group.tender_id, rows, n, process, category, group.tender_id,
                                   pool.unit_code, one_unit=True, tender_status=pricing.tender_status))
    category_rows = [
        roll_up("category", c, rows, len(participants_by_category[c]),
                _process_sum(process_by_category[c], "one procurement per awarded tender"), c,
                unit_code=units[c], one_unit=True)
        for c, rows in sorted(per_category.items())]
    per_prefecture: dict[str, list[SavingsRow]] = {}
    for row in municipality_rows:
        per_prefecture.setdefault(row.prefecture or "", []).append(row)
    prefecture_rows = [roll_up("prefecture", p, rows) for p, rows in sorted(per_prefecture.items())]
    everyone = set().union(*participants_by_category.values()) if participants_by_category else set()
    total = roll_up("total", "total", municipality_rows, len(everyone),
                    _process_sum([f for fs in process_by_category.values() for f in fs],
                                 "one procurement per awarded tender"))
    return [*municipality_rows, *tender_rows, *category_rows, *prefecture_rows, total,
            *untendered_municipality, *untendered_pools]


def headline_text(realised_yen: int, process_yen: int) -> str:
    """The headline as one sentence, for the demo's output and the report: each part named with its method."""
    return (f"savings ¥{realised_yen + process_yen:,} = {HEADLINE_LABEL}: realised ¥{realised_yen:,} "
            f"({REALISED_METHOD}, W_L(Q_L) the price of the winning bid of m's lot, B_m each municipality's "
            f"baseline) + process ¥{process_yen:,} "
            f"({PROCESS_METHOD}); awarded tenders only, pools not tendered excluded; method {METHOD_VERSION}")


def headline(rows: Sequence[SavingsRow]) -> Headline:
    """Realised + process savings of the total row, which counts tendered pools only."""
    total = next(r for r in rows if r.level == "total" and r.section == TENDERED)
    realised = total.realised_savings.amount_yen if total.realised_savings else 0
    process = total.process_savings.amount_yen if total.process_savings else 0
    counted = sum(1 for r in rows if r.level == "tender" and r.process_savings is not None)
    excluded = sum(1 for r in rows if r.level == "pool" and r.section == UNTENDERED)
    return Headline(realised + process, HEADLINE_LABEL, realised, process, AWARDED, HEADLINE_METHOD, METHOD_VERSION,
                    counted, excluded, headline_text(realised, process))
