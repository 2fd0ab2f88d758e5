"""Savings from pooling, each figure with the method and baseline that produced it. Pure.

For municipality m with quantity q_m in a pool of quantity Q = sum of q_m, a price curve P and m's
own baseline unit price B_m (current contract, stand-alone quote or list price):

- price savings      s_m = (B_m - P(Q)) * q_m
- pooling uplift     u_m = (P(q_m) - P(Q)) * q_m   (what joining saved over buying alone)
- realised savings   r_m = (B_m - awarded unit price) * q_m
- process savings    (N - 1) * cost of running one procurement, for a pool of N municipalities

A municipality with several needs in one pool sums (B_i - P(Q)) * q_i over them, so each baseline
keeps its own source. Every amount is integer yen: curves and baselines are integer yen per unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from registry.procurement.aggregate import Group
from registry.procurement.pricing import PriceTier, price_at

METHOD_VERSION = "kyodo-savings/1.0"
PRICE_METHOD = "s_m = (B_m - P(Q)) * q_m"
UPLIFT_METHOD = "u_m = (P(q_m) - P(Q)) * q_m"
REALISED_METHOD = "r_m = (B_m - awarded unit price) * q_m"
PROCESS_METHOD = "(N - 1) * cost of running one procurement"
WHAT_IF_METHOD = "s_m' = (B_m - P(Q + k * q)) * q_m; joiners: (list price - P(Q + k * q)) * q"


class Baseline(msgspec.Struct, frozen=True):
    unit_price_yen: int
    source: str


class Figure(msgspec.Struct):
    amount_yen: int
    method: str
    method_version: str
    baseline_source: str
    price_basis: str


class SavingsRow(msgspec.Struct, omit_defaults=True):
    level: str
    key: str
    category_code: str | None = None
    pool: str | None = None
    tender_id: str | None = None
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
    process_savings: Figure | None = None


@dataclass(frozen=True)
class PoolPricing:
    """How one pool is priced: its curve (catalogue or a supplier's bid) and the award, if any."""

    tiers: Sequence[PriceTier]
    basis: str
    process_cost_yen: int
    awarded_unit_price_yen: int | None = None


def _sources(items: Iterable[str]) -> str:
    return ", ".join(sorted(set(items)))


def pool_rows(group: Group, pricing: PoolPricing, baselines: Mapping[str, Baseline]) -> list[SavingsRow]:
    """One row per municipality whose baselines the caller may see (`baselines` by need id)."""
    pooled = group.quantity
    p_q = price_at(pricing.tiers, pooled)
    participants = len(group.participants)
    by_municipality: dict[str, list] = {}
    for line in group.lines:
        by_municipality.setdefault(line.municipality_code, []).append(line)
    rows = []
    for code, lines in sorted(by_municipality.items()):
        if not all(line.need_id in baselines for line in lines):
            continue
        q_m = sum(line.quantity for line in lines)
        own = [baselines[line.need_id] for line in lines]
        source = _sources(b.source for b in own)
        p_alone = price_at(pricing.tiers, q_m)
        price = sum((b.unit_price_yen - p_q) * line.quantity for b, line in zip(own, lines, strict=True))
        row = SavingsRow(
            level="municipality", key=code, category_code=group.category_code, pool=group.key,
            tender_id=group.tender_id, municipality_code=code, prefecture=code[:2], participants=participants,
            participants_included=1, quantity=q_m, pooled_quantity=pooled, pooled_unit_price_yen=p_q,
            alone_unit_price_yen=p_alone,
            price_savings=Figure(price, PRICE_METHOD, METHOD_VERSION, source, f"{pricing.basis} at Q={pooled}"),
            pooling_uplift=Figure((p_alone - p_q) * q_m, UPLIFT_METHOD, METHOD_VERSION,
                                  f"{pricing.basis} at q_m={q_m}", f"{pricing.basis} at Q={pooled}"))
        if pricing.awarded_unit_price_yen is not None:
            award = pricing.awarded_unit_price_yen
            row.awarded_unit_price_yen = award
            row.realised_savings = Figure(
                sum((b.unit_price_yen - award) * line.quantity for b, line in zip(own, lines, strict=True)),
                REALISED_METHOD, METHOD_VERSION, source, f"awarded unit price {award} yen")
        rows.append(row)
    return rows


def process_figure(participants: int, cost_yen: int, basis: str) -> Figure:
    return Figure(max(participants - 1, 0) * cost_yen, PROCESS_METHOD, METHOD_VERSION,
                  f"{participants} separate procurements at {cost_yen} yen each", basis)


def _sum(figures: list[Figure | None], method: str, basis: str) -> Figure | None:
    present = [f for f in figures if f is not None]
    if not present:
        return None
    return Figure(sum(f.amount_yen for f in present), f"sum of {method}", METHOD_VERSION,
                  _sources(s for f in present for s in f.baseline_source.split(", ")), basis)


def roll_up(level: str, key: str, rows: list[SavingsRow], participants: int | None = None,
            process: Figure | None = None, category_code: str | None = None,
            tender_id: str | None = None) -> SavingsRow:
    return SavingsRow(
        level=level, key=key, category_code=category_code, tender_id=tender_id, participants=participants,
        participants_included=len({r.municipality_code for r in rows}),
        quantity=sum(r.quantity or 0 for r in rows),
        price_savings=_sum([r.price_savings for r in rows], PRICE_METHOD, "per-pool P(Q)"),
        pooling_uplift=_sum([r.pooling_uplift for r in rows], UPLIFT_METHOD, "per-pool P(q_m) and P(Q)"),
        realised_savings=_sum([r.realised_savings for r in rows], REALISED_METHOD, "awarded unit prices"),
        process_savings=process)


@dataclass(frozen=True)
class PoolInput:
    group: Group
    pricing: PoolPricing


def report(pools: Sequence[PoolInput], baselines: Mapping[str, Baseline]) -> list[SavingsRow]:
    """Municipality rows, then roll-ups by tender, category, prefecture and in total."""
    municipality_rows: list[SavingsRow] = []
    tender_rows: list[SavingsRow] = []
    per_category: dict[str, list[SavingsRow]] = {}
    process_by_category: dict[str, int] = {}
    participants_by_category: dict[str, set[str]] = {}
    process_total = 0
    for pool in pools:
        rows = pool_rows(pool.group, pool.pricing, baselines)
        municipality_rows.extend(rows)
        category = pool.group.category_code
        per_category.setdefault(category, []).extend(rows)
        participants_by_category.setdefault(category, set()).update(pool.group.participants)
        n = len(pool.group.participants)
        process = process_figure(n, pool.pricing.process_cost_yen, pool.group.key)
        process_by_category[category] = process_by_category.get(category, 0) + process.amount_yen
        process_total += process.amount_yen
        if pool.group.tender_id:
            tender_rows.append(roll_up("tender", pool.group.tender_id, rows, n, process, category,
                                       pool.group.tender_id))
    category_rows = [
        roll_up("category", c, rows, len(participants_by_category[c]),
                Figure(process_by_category[c], f"sum over pools of {PROCESS_METHOD}", METHOD_VERSION,
                       "category process cost", "one procurement per pool"), c)
        for c, rows in sorted(per_category.items())]
    per_prefecture: dict[str, list[SavingsRow]] = {}
    for row in municipality_rows:
        per_prefecture.setdefault(row.prefecture or "", []).append(row)
    prefecture_rows = [roll_up("prefecture", p, rows) for p, rows in sorted(per_prefecture.items())]
    everyone = set().union(*(set(p.group.participants) for p in pools)) if pools else set()
    total = roll_up("total", "total", municipality_rows, len(everyone),
                    Figure(process_total, f"sum over pools of {PROCESS_METHOD}", METHOD_VERSION,
                           "category process cost", "one procurement per pool"))
    return [*municipality_rows, *tender_rows, *category_rows, *prefecture_rows, total]


class WhatIfRow(msgspec.Struct):
    who: str
    quantity: int
    unit_price_now_yen: int
    unit_price_then_yen: int
    savings_now_yen: int | None
    savings_then_yen: int
    change_yen: int | None
    baseline_source: str


class WhatIf(msgspec.Struct):
    pool: str
    category_code: str
    joining_municipalities: int
    joining_quantity_each: int
    pooled_quantity_now: int
    pooled_quantity_then: int
    unit_price_now_yen: int
    unit_price_then_yen: int
    method: str
    method_version: str
    price_basis: str
    rows: list[WhatIfRow]


def what_if(group: Group, pricing: PoolPricing, baselines: Mapping[str, Baseline], k: int, q: int,
            list_price_yen: int) -> WhatIf:
    """If k more municipalities join with quantity q each, what each visible participant saves."""
    now_q = group.quantity
    then_q = now_q + k * q
    p_now, p_then = price_at(pricing.tiers, now_q), price_at(pricing.tiers, then_q)
    rows: list[WhatIfRow] = []
    by_municipality: dict[str, list] = {}
    for line in group.lines:
        by_municipality.setdefault(line.municipality_code, []).append(line)
    for code, lines in sorted(by_municipality.items()):
        if not all(line.need_id in baselines for line in lines):
            continue
        own = [(baselines[line.need_id], line.quantity) for line in lines]
        before = sum((b.unit_price_yen - p_now) * qty for b, qty in own)
        after = sum((b.unit_price_yen - p_then) * qty for b, qty in own)
        rows.append(WhatIfRow(code, sum(qty for _, qty in own), p_now, p_then, before, after, after - before,
                              _sources(b.source for b, _ in own)))
    if k:
        alone = price_at(pricing.tiers, q)
        rows.append(WhatIfRow(f"each of {k} joining", q, alone, p_then, None, (list_price_yen - p_then) * q, None,
                              "list_price"))
    return WhatIf(group.key, group.category_code, k, q, now_q, then_q, p_now, p_then, WHAT_IF_METHOD,
                  METHOD_VERSION, pricing.basis, rows)
