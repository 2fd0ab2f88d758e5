"""The savings report of the demo round (issue 16, "What it must show"): the registry's own procurement demo
for Tokyo's 62 municipalities, seeded as `registry demo` seeds it (loaders/demo.py: seed 2024, organiser 130001).

The oracle is written here from the rows a finance officer can check one by one, never from the report's code:
the needs (baselines and quantities), the tenders and their contracts (quantities and unit prices) and the
catalogue curves, read through the API. From them: realised savings = sum over contracts of
(baseline - contract unit price) * quantity, process savings = sum over awarded tenders of
(buyers - 1) * the tender's process cost, catalogue price savings = (baseline - C(Q)) * q with C read off the
category's tiers here. The headline must equal realised + process; the total row must carry no quantity;
the pool never tendered must appear in the untendered section and nowhere else.
"""

from __future__ import annotations

import csv
import io

from registry.db.admin import admin_session
from registry.procurement.demo import seed_demo
from tests.conftest import assert_problem
from tests.test_procurement_api import World, world  # noqa: F401  (the fixture)

TOKYO, SEED = "130001", 2024  # as loaders/demo.py seeds the demo round


def _curve_price(tiers: list[dict], quantity: int) -> int:
    """C(Q): the price of the highest breakpoint reached (all-units tiers), read from the catalogue's JSON."""
    return [t["unit_price_yen"] for t in sorted(tiers, key=lambda t: t["min_quantity"])
            if t["min_quantity"] <= quantity][-1]


async def _seeded(w: World, settings) -> tuple[str, list[str]]:
    async def work(db):
        codes = [r[0] for r in await db.fetch(
            "select code::text from municipalities where prefecture_code = $1 and kind = 'municipality' order by code",
            TOKYO)]
        return (await seed_demo(db, TOKYO, codes, SEED))["round_id"], codes

    return await admin_session(settings, work)


async def test_demo_round_savings_add_up_in_yen_with_untendered_pools_apart(world: World, settings  # noqa: F811
                                                                            ) -> None:
    w = world
    round_id, codes = await _seeded(w, settings)
    assert len(codes) == 62
    needs = (await w.get("tokyo", f"/v1/procurement/rounds/{round_id}/needs?limit=1000")).json()["items"]
    categories = {c["category_code"]: c for c in (await w.get("tokyo", "/v1/procurement/categories")).json()["items"]}
    tenders = (await w.get("tokyo", f"/v1/procurement/rounds/{round_id}/tenders")).json()["items"]
    assert len(tenders) == 5 and {t["status"] for t in tenders} == {"awarded"}

    realised = process = price = 0
    tendered_needs: set[str] = set()
    for t in tenders:
        contracts = (await w.get("tokyo", f"/v1/procurement/tenders/{t['tender_id']}/contracts")).json()["items"]
        pooled = sum(c["quantity"] for c in contracts)
        c_q = _curve_price(categories[t["category_code"]]["price_tiers"], pooled)
        for c in contracts:
            # The buyer's need in this tender: its category, and the tender's (merged) requirements.
            own = [n for n in needs if n["municipality_code"] == c["municipality_code"]
                   and n["category_code"] == t["category_code"] and n["requirements"] == t["requirements"]]
            assert len(own) == 1 and own[0]["quantity"] == c["quantity"]
            tendered_needs.add(own[0]["need_id"])
            realised += (own[0]["baseline_unit_price_yen"] - c["unit_price_yen"]) * c["quantity"]
            price += (own[0]["baseline_unit_price_yen"] - c_q) * c["quantity"]
        process += (len({c["municipality_code"] for c in contracts}) - 1) * t["process_cost_yen"]
    left_out = [n for n in needs if n["need_id"] not in tendered_needs]
    assert len(left_out) == 1  # the one pool too small to tender (a single municipality's Mac desktops)
    alone = left_out[0]

    body = (await w.get("tokyo", f"/v1/procurement/rounds/{round_id}/savings?detail=municipality")).json()
    headline = body["headline"]
    assert (headline["realised_savings_yen"], headline["process_savings_yen"]) == (realised, process)
    assert headline["amount_yen"] == realised + process > 0
    assert headline["label"] == "realised savings + process savings" and headline["basis"] == "awarded"
    assert "method kyodo-savings/2.1" in headline["text"] and f"¥{realised + process:,}" in headline["text"]
    assert (headline["tenders_counted"], headline["untendered_pools_excluded"]) == (5, 1)

    total = next(r for r in body["rows"] if r["level"] == "total")
    assert "quantity" not in total and "unit_code" not in total
    assert all("quantity" not in r for r in body["rows"] if r["level"] == "prefecture")
    assert total["realised_savings"]["amount_yen"] + total["process_savings"]["amount_yen"] == headline["amount_yen"]
    assert total["price_savings"]["amount_yen"] == price and total["price_savings"]["basis"] == "catalogue"
    for r in body["rows"]:
        if r["level"] in ("category", "tender"):  # one category, one unit: its quantity is in that unit
            assert r["unit_code"] == categories[r["category_code"]]["unit_code"] and r["quantity"] > 0

    # The untendered pool: its own section, a negative catalogue estimate, and in no tendered row.
    pool = next(r for r in body["untendered"] if r["level"] == "pool")
    assert [r["level"] for r in body["untendered"]] == ["municipality", "pool"]
    assert (pool["quantity"], pool["category_code"], pool["participants"]) == (alone["quantity"], "pc", 1)
    c_alone = _curve_price(categories["pc"]["price_tiers"], alone["quantity"])
    assert pool["price_savings"]["amount_yen"] == (alone["baseline_unit_price_yen"] - c_alone) * alone["quantity"] < 0
    assert all(r.get("pool") != pool["key"] for r in body["rows"])
    assert all(r["section"] == "untendered" for r in body["untendered"])

    # The CSV says the same: the headline first with its method, the untendered section after the total.
    text = (await w.get("tokyo", f"/v1/procurement/rounds/{round_id}/savings?f=csv")).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["level"] == "headline" and int(rows[0]["headline_yen"]) == realised + process
    assert "method kyodo-savings/2.1" in rows[0]["headline_method"]
    csv_total = next(r for r in rows if r["level"] == "total")
    assert csv_total["quantity"] == "" and int(csv_total["price_savings_yen"]) == price
    assert [r["level"] for r in rows if r["section"] == "untendered"] == ["pool"]
    assert rows[-1]["key"] == pool["key"]

    # What-if: refused on an awarded tender, saying why in the caller's language; the untendered pool still answers.
    what_if = f"/v1/procurement/rounds/{round_id}/what-if?k=1&q=5&pool="
    refused = assert_problem(await w.get("tokyo", what_if + tenders[0]["tender_id"], **{"Accept-Language": "ja"}), 409)
    assert "awarded の状態です" in refused["detail"] and "変わらない" in refused["detail"]
    answered = await w.get("tokyo", what_if + pool["key"])
    assert answered.status_code == 200 and answered.json()["pooled_quantity_then"] == alone["quantity"] + 5
