"""Demo data for joint procurement: a finished round over the five seed categories, tendered and awarded,
and one pool too small to tender."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from registry.procurement import queries, service
from registry.procurement.demand import RoundPools
from registry.procurement.models import NeedFields, TenderForm
from registry.procurement.pricing import price_at
from registry.procurement.savings import headline, report

# Per seed category: quantity range per municipality, baseline as a share of list price, and the
# hard requirements a municipality typically states.
_PROFILES: dict[str, tuple[tuple[int, int], tuple[float, float], dict[str, list[str]]]] = {
    "rpa": ((2, 15), (0.95, 1.05), {"lgwan": ["yes"]}),
    "ai-ocr": ((5_000, 60_000), (0.9, 1.05), {"deployment": ["lgwan-asp"]}),
    "ai-minutes": ((2, 12), (0.95, 1.1), {"lgwan": ["yes"]}),
    "e-learning": ((100, 1_500), (0.9, 1.0), {"language": ["ja"]}),
    "pc": ((30, 600), (0.9, 1.03), {"os": ["windows"], "form": ["laptop"]}),
}
_SOURCES = ("current_contract", "current_contract", "standalone_quote", "list_price")


async def seed_demo(conn: asyncpg.Connection, prefecture_code: str, municipality_codes: list[str],
                    seed: int) -> dict[str, Any]:
    """Create a firm round, its needs, one tender per category and the awards; deterministic for a seed.

    Runs as the caller's principal (an admin, inside its transaction) so every row meets the same
    policies as through the API. The round lies in the past, so nothing is left open for editing.
    """
    rng = random.Random(seed)
    categories = await queries.get_categories(conn, list(_PROFILES))
    now = datetime.now(UTC).replace(microsecond=0)
    prefectures = sorted({prefecture_code[:2], *(code[:2] for code in municipality_codes)})
    r = await queries.insert_round(conn, prefecture_code, f"Joint procurement demo {seed}", prefectures,
                                   sorted(_PROFILES), now - timedelta(days=60), now - timedelta(days=30),
                                   now - timedelta(days=7), 2, 1)
    lines = []
    for code in municipality_codes:
        for category_code, ((low, high), (cheap, dear), requirements) in _PROFILES.items():
            category = categories[category_code]
            source = rng.choice(_SOURCES)
            baseline = (category.list_price_yen if source == "list_price"
                        else max(1, round(category.list_price_yen * rng.uniform(cheap, dear))))
            lines.append((code, category_code, NeedFields(
                quantity=rng.randint(low, high), baseline_unit_price_yen=baseline, baseline_source=source,
                budget_status=rng.choice(("requested", "approved", "approved")), requirements=requirements,
                delivery_date=(now + timedelta(days=rng.randint(60, 180))).date(),
                contact_name="情報政策課", contact_email=f"joint-procurement@{code}.example.lg.jp")))
    # One need no one else shares (a design office's Mac desktops): a pool of one municipality, below the
    # round's two participants, so it never goes to tender and shows in the savings report's own section.
    pc = categories["pc"]
    lines.append((municipality_codes[0], "pc", NeedFields(
        quantity=12, baseline_unit_price_yen=round(pc.list_price_yen * 0.97), baseline_source="standalone_quote",
        budget_status="approved", requirements={"os": ["macos"], "form": ["desktop"]},
        delivery_date=(now + timedelta(days=120)).date(), contact_name="情報政策課",
        contact_email=f"joint-procurement@{municipality_codes[0]}.example.lg.jp")))
    await queries.insert_needs(conn, r.organiser_code, r.round_id, lines)
    tender_ids = []
    for category_code in sorted(_PROFILES):
        formed = await service.form_tenders(conn, r, TenderForm(category_code, lot_scheme="prefecture"))
        tender_ids += [t.tender_id for t in formed.tenders]
    rp = await RoundPools.load(conn, r)
    for tender_id in tender_ids:
        tender = rp.tenders[tender_id]
        group = rp.tender_group(tender_id)
        if group is None:
            continue
        active = await queries.set_tender_status(conn, r.organiser_code, tender_id, tender.version, "active")
        # A winning bid a little under the catalogue curve at the pooled quantity.
        curve_price = price_at(rp.categories[tender.category_code].price_tiers, group.quantity)
        unit_price = max(1, round(curve_price * rng.uniform(0.93, 0.99)))
        awarded = await queries.award_tender(conn, r.organiser_code, tender_id, active.version if active else 0,
                                             f"Demo Supplier {rng.randint(1, 9)} KK", None, unit_price, None)
        if awarded is not None:
            await service.write_contracts(conn, awarded, group, unit_price)
    rp = await RoundPools.load(conn, r)
    rows = report(rp.inputs(), await queries.visible_baselines(conn, r.organiser_code, r.round_id))
    total = next(row for row in rows if row.level == "total")
    quoted = headline(rows)
    return {
        "round_id": r.round_id,
        "tender_id": tender_ids[0] if tender_ids else None,
        "tender_ids": tender_ids,
        "needs": len(lines),
        "price_savings_yen": total.price_savings.amount_yen if total.price_savings else 0,
        "realised_savings_yen": total.realised_savings.amount_yen if total.realised_savings else 0,
        "process_savings_yen": total.process_savings.amount_yen if total.process_savings else 0,
        "total_savings_yen": quoted.amount_yen,
        "headline": quoted.text,
        "untendered_pools": quoted.untendered_pools_excluded,
    }
