"""Sealed bids end to end (issue 16): Tokyo's 62 municipalities pool PCs, two suppliers bid, nobody but the
bidder reads a bid before the deadline (not the organiser, not an admin, not the API's database role acting
for them), the opening is recorded, the lowest compliant bid wins and 62 contracts follow, each at the
price the winning curve gives for the pooled quantity; the round's OCDS validates with the bids extension.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from registry.principal import Principal
from tests.conftest import as_principal, assert_problem
from tests.test_procurement_ocds import errors

NTA, TOYOTA = "7000012050002", "1180301018771"  # published 法人番号 of two real organisations
# Winner's curve: all-units tiers. Loser: a flat unit price above one buyer's maximum.
CURVE = [{"min_quantity": 1, "unit_price_yen": 170_000}, {"min_quantity": 500, "unit_price_yen": 152_000},
         {"min_quantity": 1500, "unit_price_yen": 139_000}, {"min_quantity": 5000, "unit_price_yen": 120_000}]
FLAT = 141_000
CEILING = 140_000  # one buyer's max_unit_price_yen: FLAT is over it, the curve's price is not
OFFER = {"os": "windows", "form": "laptop"}


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def curve_price(tiers: list[dict[str, int]], quantity: int) -> int:
    """The oracle: the price of the highest breakpoint at or below the quantity, read off the list."""
    return [t["unit_price_yen"] for t in tiers if t["min_quantity"] <= quantity][-1]


class Round:
    def __init__(self, client: AsyncTestClient, keys: dict[str, dict[str, str]]) -> None:
        self.client, self.keys = client, keys
        self.round_id = self.tender_id = ""
        self.quantities: dict[str, int] = {}
        self.capped = ""

    async def call(self, who: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return await self.client.request(method, path, json=body, headers={**self.keys[who], **headers})


@pytest.fixture
async def tokyo_round(client: AsyncTestClient, make_key, owner: asyncpg.Connection) -> Round:
    keys = {"admin": await make_key("admin", "admin"), "tokyo": await make_key("prefecture", "130001"),
            "saitama": await make_key("prefecture", "110001"), "chiyoda": await make_key("municipality", "131016"),
            "nta": await make_key("supplier", NTA), "toyota": await make_key("supplier", TOYOTA)}
    w = Round(client, keys)
    r = await w.call("tokyo", "POST", "/v1/procurement/rounds", {
        "title": "FY2026 PCs", "category_codes": ["pc"], "closes_at": iso(timedelta(days=7)),
        "withdrawal_deadline": iso(timedelta(days=14))})
    assert r.status_code == 201, r.text
    w.round_id = r.json()["round_id"]
    codes = [row[0] for row in await owner.fetch(
        "select code::text from municipalities where code like '13%' and kind = 'municipality' order by code")]
    assert len(codes) == 62
    rng = random.Random(62)
    w.capped = codes[5]
    for code in codes:
        w.quantities[code] = rng.randint(10, 60)
        body = {"category_code": "pc", "quantity": w.quantities[code], "baseline_unit_price_yen": 175_000,
                "baseline_source": "current_contract", "budget_status": "approved", "municipality_code": code,
                "requirements": {"os": ["windows"], "form": ["laptop"]}}
        if code == w.capped:
            body["max_unit_price_yen"] = CEILING
        r = await w.call("admin", "POST", f"/v1/procurement/rounds/{w.round_id}/needs", body)
        assert r.status_code == 201, r.text
    # The window closes and pledges become firm (the organiser moves the round's dates into the past).
    current = await w.call("tokyo", "GET", f"/v1/procurement/rounds/{w.round_id}")
    r = await w.call("tokyo", "PATCH", f"/v1/procurement/rounds/{w.round_id}", {
        "opens_at": iso(-timedelta(hours=3)), "closes_at": iso(-timedelta(hours=2)),
        "withdrawal_deadline": iso(-timedelta(minutes=1))}, **{"If-Match": current.headers["etag"]})
    assert r.status_code == 200, r.text
    r = await w.call("tokyo", "POST", f"/v1/procurement/rounds/{w.round_id}/tenders", {"category_code": "pc"})
    assert r.status_code == 201, r.text
    (tender,) = r.json()["tenders"]
    w.tender_id = tender["tender_id"]
    assert tender["status"] == "planned" and tender["pooled_quantity"] == sum(w.quantities.values())
    return w


async def test_two_suppliers_bid_sealed_until_opened_lowest_compliant_wins(
        tokyo_round: Round, api_conn: asyncpg.Connection, owner: asyncpg.Connection) -> None:
    w = tokyo_round
    t = f"/v1/procurement/tenders/{w.tender_id}"
    pooled = sum(w.quantities.values())
    r = await w.call("tokyo", "POST", f"{t}/notice", {"bid_deadline": iso(timedelta(days=10)),
                                                      "delivery_date": "2026-10-01"})
    assert r.status_code == 201, r.text
    assert r.json()["lots"] == [{"lot_id": "LOT-1", "title": r.json()["title"], "quantity": pooled, "buyers": 62}]
    assert (await w.call("tokyo", "GET", t)).json()["status"] == "active"
    # Both suppliers read the notice; the Toyota bid is replaced once, the NTA bid is a curve.
    assert (await w.call("toyota", "GET", f"{t}/notice")).json()["requirements"] == {"os": ["windows"],
                                                                                   "form": ["laptop"]}
    r = await w.call("toyota", "PUT", f"{t}/lots/LOT-1/bid", {"offer": OFFER, "unit_price_yen": FLAT + 5000})
    assert r.status_code == 201, r.text
    r = await w.call("toyota", "PUT", f"{t}/lots/LOT-1/bid", {"offer": OFFER, "unit_price_yen": FLAT})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await w.call("nta", "PUT", f"{t}/lots/LOT-1/bid", {"offer": OFFER, "price_curve": CURVE})
    assert r.status_code == 201, r.text

    # Sealed: the bidder sees its own, the organiser and an admin nothing, through the API ...
    own = (await w.call("nta", "GET", f"{t}/bids")).json()
    assert own["sealed"] and [b["supplier_code"] for b in own["items"]] == [NTA]
    for who in ("tokyo", "admin"):
        page = (await w.call(who, "GET", f"{t}/bids")).json()
        assert page["sealed"] and page["items"] == [], who
    assert_problem(await w.call("chiyoda", "GET", f"{t}/bids"), 403)
    assert_problem(await w.call("tokyo", "POST", f"{t}/opening"), 409)
    assert_problem(await w.call("tokyo", "GET", f"{t}/evaluation"), 409)
    # ... and in the database, as the API role with the organiser's (or an admin's) principal set.
    tokyo = Principal("k", "prefecture", "130001", "130001", "t")
    admin = Principal("k", "admin", "admin", None, "t")
    for principal in (tokyo, admin, None):
        assert await as_principal(api_conn, principal, "select * from procurement_bids") == []
    supplier = Principal("k", "supplier", TOYOTA, None, "t")
    assert len(await as_principal(api_conn, supplier, "select * from procurement_bids")) == 1

    # The deadline passes (the test moves it; nothing else changes). Still sealed until the opening.
    await owner.execute("update procurement_tender_notices set published_at = now() - interval '2 days', "
                        "bid_deadline = now() - interval '1 minute' where tender_id = $1::uuid", w.tender_id)
    assert await as_principal(api_conn, tokyo, "select * from procurement_bids") == []
    r = await w.call("toyota", "PUT", f"{t}/lots/LOT-1/bid", {"offer": OFFER, "unit_price_yen": 100_000})
    assert_problem(r, 409)
    r = await w.call("tokyo", "POST", f"{t}/opening")
    assert r.status_code == 200, r.text
    assert (r.json()["bids"], r.json()["suppliers"]) == (2, 2)
    assert len(await as_principal(api_conn, tokyo, "select * from procurement_bids")) == 2
    assert len((await w.call("tokyo", "GET", f"{t}/bids")).json()["items"]) == 2

    # Evaluation: the curve at the pooled quantity is below the ceiling; the flat price is over it.
    winning = curve_price(CURVE, pooled)
    assert winning <= CEILING < FLAT
    (lot,) = (await w.call("tokyo", "GET", f"{t}/evaluation")).json()["lots"]
    assert lot["pooled_quantity"] == pooled and lot["buyers"] == 62
    first, second = lot["bids"]
    assert (first["supplier_code"], first["unit_price_yen"], first["compliant"]) == (NTA, winning, True)
    assert (second["supplier_code"], second["compliant"]) == (TOYOTA, False)
    assert second["reasons"] == [f"¥{FLAT:,} is over {w.capped}'s maximum unit price ¥{CEILING:,}"]
    assert lot["winner_bid_id"] == first["bid_id"]

    etag = (await w.call("tokyo", "GET", t)).headers["etag"]
    assert_problem(await w.call("tokyo", "POST", f"{t}/award-from-bids", **{"If-Match": '"999"'}), 412)
    r = await w.call("tokyo", "POST", f"{t}/award-from-bids", **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["supplier_id"], r.json()["awarded_unit_price_yen"]) == \
        ("awarded", NTA, winning)
    contracts = (await w.call("tokyo", "GET", f"{t}/contracts")).json()["items"]
    assert len(contracts) == 62
    assert {c["municipality_code"]: (c["quantity"], c["unit_price_yen"], c["amount_yen"]) for c in contracts} == \
        {code: (q, winning, q * winning) for code, q in w.quantities.items()}
    assert_problem(await w.call("tokyo", "POST", f"{t}/award-from-bids",
                                **{"If-Match": (await w.call("tokyo", "GET", t)).headers["etag"]}), 409)
    # A buyer sees its own contract only.
    mine = (await w.call("chiyoda", "GET", f"{t}/contracts")).json()["items"]
    assert [c["municipality_code"] for c in mine] == ["131016"]

    # The round's OCDS, as the organiser: 62 plans and the tender with both bids, valid with 0 errors.
    package = (await w.call("tokyo", "GET", f"/v1/ocds/rounds/{w.round_id}")).json()
    assert errors(package) == []
    (tender,) = [rel for rel in package["releases"] if "bids" in rel]
    assert len(package["releases"]) == 63 and len(tender["contracts"]) == 62
    amounts = {d["tenderers"][0]["id"]: d["value"]["amount"] for d in tender["bids"]["details"]}
    assert amounts == {f"JP-JCN-{NTA}": winning * pooled, f"JP-JCN-{TOYOTA}": FLAT * pooled}
    assert tender["awards"][0]["relatedBid"] == first["bid_id"]
