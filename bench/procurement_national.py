"""A national joint-procurement round for the benchmark: 1,741 municipalities × 20 items = 34,820 needs.

Run by hand against a migrated database (never as a test; see bench/PROCUREMENT.md):

    .venv/bin/python bench/procurement_national.py            # prints the round id and an admin key

Deterministic for a seed. The five seed categories plus fifteen `bench-NN` copies of them (created once,
reused on later runs) make the twenty items. Every municipality (kind 'municipality', not the wards of
designated cities) states one need per item; one in ten states a requirement the others do not share,
so most categories pool into two groups and `separated_because` is exercised. The five seed categories
are tendered (lots per prefecture) and awarded, so tender pricing, awards and contracts are in the
figures too; the fifteen copies stay on their catalogue curves.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import UTC, datetime, timedelta

import asyncpg

from registry.auth import queries as auth_queries
from registry.db.admin import admin_session
from registry.procurement import queries, service
from registry.procurement.demand import RoundPools
from registry.procurement.models import Category, NeedFields, TenderForm
from registry.procurement.pricing import price_at
from registry.settings import Settings

SEEDS = ("ai-minutes", "ai-ocr", "e-learning", "pc", "rpa")
# Per seed: quantity range, baseline as a share of list price, the usual requirement and the odd one out.
PROFILES = {
    "rpa": ((2, 15), (0.95, 1.05), {"lgwan": ["yes"]}, {"lgwan": ["no"]}),
    "ai-ocr": ((5_000, 60_000), (0.9, 1.05), {"deployment": ["lgwan-asp"]}, {"deployment": ["cloud"]}),
    "ai-minutes": ((2, 12), (0.95, 1.1), {"lgwan": ["yes"]}, {"lgwan": ["no"]}),
    "e-learning": ((100, 1_500), (0.9, 1.0), {"language": ["ja"]}, {"language": ["en"]}),
    "pc": ((30, 600), (0.9, 1.03), {"os": ["windows"], "form": ["laptop"]}, {"os": ["windows"], "form": ["desktop"]}),
}
SOURCES = ("current_contract", "current_contract", "standalone_quote", "list_price")


def _copy_code(seed: str, n: int) -> str:
    return f"bench-{n:02d}-{seed}"


async def _categories(conn: asyncpg.Connection) -> dict[str, tuple[str, Category]]:
    """The twenty items: code → (the seed it copies, its category)."""
    seeds = await queries.get_categories(conn, list(SEEDS))
    items: dict[str, tuple[str, Category]] = {code: (code, seeds[code]) for code in SEEDS}
    for n in range(1, 4):
        for seed in SEEDS:
            code = _copy_code(seed, n)
            found = await queries.get_category(conn, code)
            if found is None:
                base = seeds[seed]
                found = await queries.insert_category(conn, Category(
                    code, f"{base.name} ({n})", f"{base.name_en} ({n})", base.unit_code, base.unit_name,
                    base.list_price_yen, base.spec_attributes, base.price_tiers, base.process_cost_yen, 1))
            items[code] = (seed, found)
    return items


async def build(conn: asyncpg.Connection, seed: int, award: bool) -> dict[str, object]:
    rng = random.Random(seed)
    items = await _categories(conn)
    codes = [r[0] for r in await conn.fetch(
        "select code::text from municipalities where kind = 'municipality' order by code")]
    now = datetime.now(UTC).replace(microsecond=0)
    prefectures = sorted({c[:2] for c in codes})
    r = await queries.insert_round(conn, "admin", f"National joint procurement bench {seed}", prefectures,
                                   sorted(items), now - timedelta(days=60), now - timedelta(days=30),
                                   now - timedelta(days=7), 2, 1)
    lines = []
    for code in codes:
        for item, (profile, category) in items.items():
            (low, high), (cheap, dear), usual, odd = PROFILES[profile]
            source = rng.choice(SOURCES)
            baseline = (category.list_price_yen if source == "list_price"
                        else max(1, round(category.list_price_yen * rng.uniform(cheap, dear))))
            quantity = rng.randint(low, high)
            lines.append((code, item, NeedFields(
                quantity=quantity, quantity_max=quantity + rng.randint(0, 3) if rng.random() < 0.3 else None,
                baseline_unit_price_yen=baseline, baseline_source=source,
                budget_status=rng.choice(("requested", "approved", "approved")),
                requirements=odd if rng.random() < 0.1 else usual,
                delivery_date=(now + timedelta(days=rng.randint(60, 180))).date(),
                contact_name="情報政策課", contact_email=f"joint-procurement@{code}.example.lg.jp")))
    await queries.insert_needs(conn, r.organiser_code, r.round_id, lines)
    tenders = 0
    if award:
        for category_code in SEEDS:
            formed = await service.form_tenders(conn, r, TenderForm(category_code, lot_scheme="prefecture"))
            rp = await RoundPools.load(conn, r)
            for t in formed.tenders:
                group = rp.tender_group(t.tender_id)
                tender = rp.tenders[t.tender_id]
                if group is None:
                    continue
                active = await queries.set_tender_status(conn, r.organiser_code, t.tender_id, tender.version,
                                                         "active")
                curve_price = price_at(rp.categories[tender.category_code].price_tiers, group.quantity)
                unit_price = max(1, round(curve_price * rng.uniform(0.93, 0.99)))
                awarded = await queries.award_tender(conn, r.organiser_code, t.tender_id,
                                                     active.version if active else 0,
                                                     f"Bench Supplier {rng.randint(1, 9)} KK", None, unit_price, None)
                if awarded is not None:
                    await service.write_contracts(conn, awarded, group, unit_price)
                    tenders += 1
    key = (await auth_queries.create_key(conn, "admin", "admin", f"procurement bench {seed}")).key
    return {"round_id": r.round_id, "needs": len(lines), "municipalities": len(codes), "items": len(items),
            "tenders_awarded": tenders, "admin_key": key}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-award", action="store_true", help="leave every pool untendered")
    args = parser.parse_args()
    out = asyncio.run(admin_session(Settings.from_env(), lambda conn: build(conn, args.seed, not args.no_award)))
    for name, value in out.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
