"""Realised savings of a tender split into lots (issue 16): a PC tender for Tokyo and Saitama, lot_scheme
'prefecture', Tokyo's lot won on a curve by one supplier and Saitama's at a flat price by another. Each buyer's
realised savings must be on its own lot's price, not on the tender row's (the winner of the largest lot).

The oracle is computed here from the bids as opened (each lot's lowest price at its pooled quantity, read off the
bids' curves and unit prices) and checked against the contracts; realised savings = (baseline - that price) x
quantity per buyer, from the needs as the API lists them; every roll-up and the headline are sums of those.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

NTA, TOYOTA = "7000012050002", "1180301018771"  # published 法人番号 of two real organisations
# All-units curve: cheap for a large lot only. The flat price beats it below 600 PCs.
CURVE = [{"min_quantity": 1, "unit_price_yen": 170_000}, {"min_quantity": 300, "unit_price_yen": 150_000},
         {"min_quantity": 600, "unit_price_yen": 130_000}]
FLAT = 145_000
OFFER = {"os": "windows", "form": "laptop"}


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def curve_price(tiers: list[dict[str, int]], quantity: int) -> int:
    return [t["unit_price_yen"] for t in tiers if t["min_quantity"] <= quantity][-1]


def bid_price(bid: dict[str, Any], quantity: int) -> int:
    return curve_price(bid["price_curve"], quantity) if bid.get("price_curve") else bid["unit_price_yen"]


async def test_each_buyer_saves_on_its_own_lots_winning_price(client: AsyncTestClient, make_key,
                                                               owner: asyncpg.Connection) -> None:
    keys = {"admin": await make_key("admin", "admin"), "nta": await make_key("supplier", NTA),
            "toyota": await make_key("supplier", TOYOTA)}

    async def call(who: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
        r = await client.request(method, path, json=body, headers={**keys[who], **headers})
        assert r.status_code < 300, r.text
        return r

    r = await call("admin", "POST", "/v1/procurement/rounds", {
        "title": "FY2026 PCs, Tokyo and Saitama", "category_codes": ["pc"], "prefectures": ["13", "11"],
        "closes_at": iso(timedelta(days=7)), "withdrawal_deadline": iso(timedelta(days=14))})
    round_id = r.json()["round_id"]
    rng = random.Random(16)
    buyers = {}
    for prefecture, count, low, high in (("13", 12, 50, 90), ("11", 6, 10, 40)):
        codes = [row[0] for row in await owner.fetch(
            "select code::text from municipalities where code like $1 and kind = 'municipality' order by code",
            f"{prefecture}%")]
        buyers.update({code: rng.randint(low, high) for code in rng.sample(codes, count)})
    for code, quantity in buyers.items():
        await call("admin", "POST", f"/v1/procurement/rounds/{round_id}/needs", {
            "category_code": "pc", "quantity": quantity, "baseline_unit_price_yen": rng.randint(160, 185) * 1000,
            "baseline_source": "current_contract", "budget_status": "approved", "municipality_code": code,
            "requirements": {"os": ["windows"], "form": ["laptop"]}})
    etag = (await call("admin", "GET", f"/v1/procurement/rounds/{round_id}")).headers["etag"]
    await call("admin", "PATCH", f"/v1/procurement/rounds/{round_id}", {
        "opens_at": iso(-timedelta(hours=3)), "closes_at": iso(-timedelta(hours=2)),
        "withdrawal_deadline": iso(-timedelta(minutes=1))}, **{"If-Match": etag})
    r = await call("admin", "POST", f"/v1/procurement/rounds/{round_id}/tenders",
                   {"category_code": "pc", "lot_scheme": "prefecture"})
    (tender,) = r.json()["tenders"]
    t = f"/v1/procurement/tenders/{tender['tender_id']}"
    assert sorted(lot["lot_id"] for lot in tender["lots"]) == ["LOT-11", "LOT-13"]

    await call("admin", "POST", f"{t}/notice", {"bid_deadline": iso(timedelta(days=10))})
    for lot in ("LOT-13", "LOT-11"):
        await call("nta", "PUT", f"{t}/lots/{lot}/bid", {"offer": OFFER, "price_curve": CURVE})
        await call("toyota", "PUT", f"{t}/lots/{lot}/bid", {"offer": OFFER, "unit_price_yen": FLAT})
    await owner.execute("update procurement_tender_notices set published_at = now() - interval '2 days', "
                        "bid_deadline = now() - interval '1 minute' where tender_id = $1::uuid", tender["tender_id"])
    await call("admin", "POST", f"{t}/opening")
    opened = (await call("admin", "GET", f"{t}/bids")).json()["items"]
    needs = (await call("admin", "GET", f"/v1/procurement/rounds/{round_id}/needs?limit=100")).json()["items"]
    lot_of = {code: f"LOT-{code[:2]}" for code in buyers}
    lot_q = {lot: sum(q for code, q in buyers.items() if lot_of[code] == lot) for lot in ("LOT-13", "LOT-11")}
    # Each lot's price: the lowest bid at the lot's Q (no buyer has a maximum, so every bid is compliant).
    won = {lot: min((bid_price(b, q), b["supplier_code"], b) for b in opened if b["lot_id"] == lot)
           for lot, q in lot_q.items()}
    assert {lot: (w[0], w[1]) for lot, w in won.items()} == {"LOT-13": (130_000, NTA), "LOT-11": (FLAT, TOYOTA)}
    etag = (await call("admin", "GET", t)).headers["etag"]
    awarded = (await call("admin", "POST", f"{t}/award-from-bids", **{"If-Match": etag})).json()
    assert awarded["awarded_unit_price_yen"] == 130_000  # the tender row: the largest lot's winner
    contracts = (await call("admin", "GET", f"{t}/contracts")).json()["items"]
    assert {c["municipality_code"]: c["unit_price_yen"] for c in contracts} == \
        {code: won[lot_of[code]][0] for code in buyers}

    baseline = {n["municipality_code"]: n["baseline_unit_price_yen"] for n in needs}
    realised = {c["municipality_code"]: (baseline[c["municipality_code"]] - c["unit_price_yen"]) * c["quantity"]
                for c in contracts}
    # The winning curve's uplift, on Tokyo's lot only: (W(q_m) - W(Q_L)) * q_m; a flat price has none.
    uplift = {code: (curve_price(CURVE, q) - won["LOT-13"][0]) * q for code, q in buyers.items()
              if lot_of[code] == "LOT-13"}
    process = (len(buyers) - 1) * tender["process_cost_yen"]

    async def report() -> dict[str, Any]:
        return (await call("admin", "GET", f"/v1/procurement/rounds/{round_id}/savings?detail=municipality")).json()

    body = await report()
    rows = {r["key"]: r for r in body["rows"] if r["level"] == "municipality"}
    assert {code: r["realised_savings"]["amount_yen"] for code, r in rows.items()} == realised
    assert {code: (r["lot_id"], r["awarded_unit_price_yen"]) for code, r in rows.items()} == \
        {code: (lot_of[code], won[lot_of[code]][0]) for code in buyers}
    assert {code: r["pooling_uplift_awarded"]["amount_yen"] for code, r in rows.items()
            if "pooling_uplift_awarded" in r} == uplift
    by_level = {(r["level"], r["key"]): r for r in body["rows"]}
    for level, key, codes in (("tender", tender["tender_id"], buyers), ("total", "total", buyers),
                              ("prefecture", "13", [c for c in buyers if c[:2] == "13"]),
                              ("prefecture", "11", [c for c in buyers if c[:2] == "11"])):
        assert by_level[(level, key)]["realised_savings"]["amount_yen"] == sum(realised[c] for c in codes), key
    assert by_level[("total", "total")]["pooling_uplift_awarded"]["amount_yen"] == sum(uplift.values())
    headline = body["headline"]
    assert (headline["realised_savings_yen"], headline["process_savings_yen"], headline["amount_yen"]) == \
        (sum(realised.values()), process, sum(realised.values()) + process)
    # What the tender row's price would have given Saitama's buyers: the defect this test is for.
    saitama = [c for c in buyers if c[:2] == "11"]
    assert sum(realised[c] for c in saitama) != sum((baseline[c] - 130_000) * buyers[c] for c in saitama)

    # A corrected lot award is a new version of the round's figures: the cached report does not survive it.
    await owner.execute("update procurement_lot_awards set unit_price_yen = $2 where tender_id = $1::uuid "
                        "and lot_id = 'LOT-11'", tender["tender_id"], FLAT - 1000)
    rows = {r["key"]: r for r in (await report())["rows"] if r["level"] == "municipality"}
    assert {c: rows[c]["realised_savings"]["amount_yen"] for c in saitama} == \
        {c: realised[c] + 1000 * buyers[c] for c in saitama}
