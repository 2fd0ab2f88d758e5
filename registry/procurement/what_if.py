"""What if k more municipalities join a pool with quantity q each: each participant's savings now and then,
on the catalogue curve. Pure. Answered only while the pool's tender can still change (issue 16)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from registry.i18n import tr
from registry.problems import Conflict
from registry.procurement.aggregate import Group
from registry.procurement.pricing import price_at
from registry.procurement.savings import METHOD_VERSION, SETTLED, WHAT_IF_METHOD, Baseline, PoolPricing, sources


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


def check_can_change(group: Group, pricing: PoolPricing) -> None:
    """A what-if describes a pool whose quantity can still move; a settled tender's cannot (409 says why)."""
    if pricing.tender_status in SETTLED:
        raise Conflict(tr("Tender {tender_id} is {status}: its participants and its price can no longer change, "
                          "so a what-if would describe nothing that can happen. The savings report gives its "
                          "figures on the winning bid.", tender_id=group.tender_id, status=pricing.tender_status))


def what_if(group: Group, pricing: PoolPricing, baselines: Mapping[str, Baseline], k: int, q: int,
            list_price_yen: int) -> WhatIf:
    """If k more municipalities join with quantity q each, what each visible participant saves (catalogue)."""
    check_can_change(group, pricing)
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
                              sources(b.source for b, _ in own)))
    if k:
        alone = price_at(pricing.tiers, q)
        rows.append(WhatIfRow(f"each of {k} joining", q, alone, p_then, None, (list_price_yen - p_then) * q, None,
                              "list_price"))
    return WhatIf(group.key, group.category_code, k, q, now_q, then_q, p_now, p_then, WHAT_IF_METHOD,
                  METHOD_VERSION, f"{pricing.basis} (catalogue)", rows)
