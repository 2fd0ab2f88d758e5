"""Joint procurement through the HTTP API, against the real database.

The savings fixture: three Tokyo municipalities (Chiyoda A, Chuo B, Minato C), two categories with
tiered prices, figures checked against arithmetic written out by hand from the savings formulas
in docs/procurement.md ("Savings"), including a withdrawal that moves the pooled quantity across a
tier.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import assert_problem

CHIYODA, CHUO, MINATO = "131016", "131024", "131032"
SAITAMA_CITY = "111007"

TABLET = {"category_code": "tablet", "name": "タブレット", "name_en": "Tablets", "unit_code": "H87",
          "unit_name": "device", "list_price_yen": 1000, "process_cost_yen": 100_000,
          "spec_attributes": {"os": ["ipados", "android", "windows"], "lte": ["yes", "no"]},
          "price_tiers": [{"min_quantity": 1, "unit_price_yen": 1000}, {"min_quantity": 10, "unit_price_yen": 900},
                          {"min_quantity": 20, "unit_price_yen": 800}]}
LICENCE = {"category_code": "licence", "name": "ライセンス", "name_en": "Office licences", "unit_code": "C62",
           "unit_name": "licence", "list_price_yen": 500, "process_cost_yen": 100_000,
           "price_tiers": [{"min_quantity": 1, "unit_price_yen": 500}, {"min_quantity": 50, "unit_price_yen": 400}]}


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def need(category: str, quantity: int, baseline: int, source: str, **extra: Any) -> dict[str, Any]:
    return {"category_code": category, "quantity": quantity, "baseline_unit_price_yen": baseline,
            "baseline_source": source, "budget_status": "approved", **extra}


class World:
    def __init__(self, client: AsyncTestClient, keys: dict[str, dict[str, str]]) -> None:
        self.client = client
        self.keys = keys
        self.round_id = ""
        self.needs: dict[str, str] = {}

    async def post(self, who: str, path: str, body: Any, **headers: str) -> Any:
        return await self.client.post(path, json=body, headers={**self.keys[who], **headers})

    async def get(self, who: str, path: str, **headers: str) -> Any:
        return await self.client.get(path, headers={**self.keys[who], **headers})

    async def patch_round(self, **changes: str) -> dict:
        current = await self.get("tokyo", f"/v1/procurement/rounds/{self.round_id}")
        r = await self.client.patch(f"/v1/procurement/rounds/{self.round_id}", json=changes,
                                    headers={**self.keys["tokyo"], "If-Match": current.headers["etag"]})
        assert r.status_code == 200, r.text
        return r.json()

    async def close_window(self) -> dict:
        return await self.patch_round(opens_at=iso(-timedelta(hours=2)), closes_at=iso(-timedelta(hours=1)))

    async def make_firm(self) -> dict:
        return await self.patch_round(opens_at=iso(-timedelta(hours=3)), closes_at=iso(-timedelta(hours=2)),
                                      withdrawal_deadline=iso(-timedelta(minutes=1)))

    async def savings(self, who: str = "tokyo") -> dict[tuple[str, str], dict]:
        r = await self.get(who, f"/v1/procurement/rounds/{self.round_id}/savings?detail=municipality")
        assert r.status_code == 200, r.text
        body = r.json()  # the untendered section's rows are its own: (pool, key) and untendered municipality rows
        return {(row["level"], row["key"] + ("" if row["level"] != "municipality" else "/" + row["category_code"])):
                row for row in body["rows"] + body["untendered"]}


@pytest.fixture
async def world(client: AsyncTestClient, make_key) -> World:
    keys = {
        "admin": await make_key("admin", "admin"),
        "tokyo": await make_key("prefecture", "130001"),
        "saitama": await make_key("prefecture", "110001"),
        "A": await make_key("municipality", CHIYODA),
        "B": await make_key("municipality", CHUO),
        "C": await make_key("municipality", MINATO),
        "S": await make_key("municipality", SAITAMA_CITY),
    }
    w = World(client, keys)
    for body in (TABLET, LICENCE):
        r = await w.post("admin", "/v1/procurement/categories", body)
        assert r.status_code == 201, r.text
    r = await w.post("tokyo", "/v1/procurement/rounds", {
        "title": "FY2026 devices", "category_codes": ["tablet", "licence"],
        "closes_at": iso(timedelta(days=7)), "withdrawal_deadline": iso(timedelta(days=14))})
    assert r.status_code == 201, r.text
    assert r.json()["prefectures"] == ["13"] and r.json()["phase"] == "open"
    w.round_id = r.json()["round_id"]
    return w


async def submit_fixture(w: World) -> None:
    lines = [
        ("A", "tablet", need("tablet", 8, 1000, "list_price")),
        ("B", "tablet", need("tablet", 7, 950, "current_contract")),
        ("C", "tablet", need("tablet", 6, 980, "standalone_quote")),
        ("A", "licence", need("licence", 30, 520, "current_contract")),
        ("B", "licence", need("licence", 25, 480, "standalone_quote")),
        ("C", "licence", need("licence", 10, 500, "list_price")),
    ]
    for who, category, body in lines:
        r = await w.post(who, f"/v1/procurement/rounds/{w.round_id}/needs", body)
        assert r.status_code == 201, r.text
        w.needs[f"{who}/{category}"] = r.json()["need_id"]


def figures(row: dict) -> tuple:
    return (row["price_savings"]["amount_yen"], row["pooling_uplift"]["amount_yen"])


async def test_savings_match_hand_computed_values_across_a_withdrawal(world: World) -> None:
    w = world
    await submit_fixture(w)
    s = await w.savings()
    # tablet: Q = 8 + 7 + 6 = 21 >= 20, so P(Q) = 800; alone A and B (8, 7 < 10) pay 1000, C (6) pays 1000.
    assert s[("municipality", f"{CHIYODA}/tablet")]["pooled_unit_price_yen"] == 800
    assert figures(s[("municipality", f"{CHIYODA}/tablet")]) == ((1000 - 800) * 8, (1000 - 800) * 8)  # 1600, 1600
    assert figures(s[("municipality", f"{CHUO}/tablet")]) == ((950 - 800) * 7, (1000 - 800) * 7)  # 1050, 1400
    assert figures(s[("municipality", f"{MINATO}/tablet")]) == ((980 - 800) * 6, (1000 - 800) * 6)  # 1080, 1200
    # licence: Q = 30 + 25 + 10 = 65 >= 50, so P(Q) = 400; alone each (< 50) pays 500.
    assert figures(s[("municipality", f"{CHIYODA}/licence")]) == ((520 - 400) * 30, (500 - 400) * 30)  # 3600, 3000
    assert figures(s[("municipality", f"{CHUO}/licence")]) == ((480 - 400) * 25, (500 - 400) * 25)  # 2000, 2500
    assert figures(s[("municipality", f"{MINATO}/licence")]) == ((500 - 400) * 10, (500 - 400) * 10)  # 1000, 1000
    # Nothing is tendered yet: each pool is in the untendered section, and no total, headline or process counts it.
    tablet, licence = s[("pool", "tablet/1")], s[("pool", "licence/1")]
    assert tablet["price_savings"]["amount_yen"] + licence["price_savings"]["amount_yen"] == (
        1600 + 1050 + 1080 + 3600 + 2000 + 1000)
    assert tablet["pooling_uplift"]["amount_yen"] + licence["pooling_uplift"]["amount_yen"] == (
        1600 + 1400 + 1200 + 3000 + 2500 + 1000)
    assert (tablet["quantity"], tablet["section"], "process_savings" in tablet) == (21, "untendered", False)
    assert "price_savings" not in s[("total", "total")] and "quantity" not in s[("total", "total")]
    chiyoda = s[("municipality", f"{CHIYODA}/tablet")]
    assert chiyoda["price_savings"]["method"] == "s_m = (B_m - C(Q)) * q_m"
    assert chiyoda["price_savings"]["method_version"] == "kyodo-savings/2.1"
    assert chiyoda["price_savings"]["basis"] == "catalogue" and chiyoda["section"] == "untendered"
    assert chiyoda["price_savings"]["baseline_source"] == "list_price"
    assert s[("municipality", f"{CHUO}/tablet")]["price_savings"]["baseline_source"] == "current_contract"
    assert ("prefecture", "13") not in s and ("category", "tablet") not in s

    # Minato withdraws its tablets: Q = 8 + 7 = 15 falls below the 20 tier, P(Q) = 900 for the rest.
    current = await w.get("C", f"/v1/procurement/needs/{w.needs['C/tablet']}")
    r = await w.post("C", f"/v1/procurement/needs/{w.needs['C/tablet']}/withdraw", None,
                     **{"If-Match": current.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn"
    s = await w.savings()
    assert ("municipality", f"{MINATO}/tablet") not in s
    assert s[("municipality", f"{CHIYODA}/tablet")]["pooled_quantity"] == 15
    assert s[("municipality", f"{CHIYODA}/tablet")]["pooled_unit_price_yen"] == 900
    assert figures(s[("municipality", f"{CHIYODA}/tablet")]) == ((1000 - 900) * 8, (1000 - 900) * 8)  # 800, 800
    assert figures(s[("municipality", f"{CHUO}/tablet")]) == ((950 - 900) * 7, (1000 - 900) * 7)  # 350, 700
    assert s[("pool", "tablet/1")]["participants"] == 2

    # Form the tablet tender after the window closes, award after the withdrawal deadline.
    await w.close_window()
    r = await w.post("tokyo", f"/v1/procurement/rounds/{w.round_id}/tenders",
                     {"category_code": "tablet", "min_participants": 2, "min_quantity": 10})
    assert r.status_code == 201, r.text
    tender = r.json()["tenders"][0]
    assert (tender["participants"], tender["pooled_quantity"], tender["unit_price_yen"]) == (2, 15, 900)
    tender_id = tender["tender_id"]
    r = await w.post("tokyo", f"/v1/procurement/tenders/{tender_id}/status", {"status": "active"},
                     **{"If-Match": f'"{tender["version"]}"'})
    assert r.status_code == 200, r.text
    award = {"supplier_name": "Kanda Devices KK", "unit_price_yen": 850}
    early = await w.post("tokyo", f"/v1/procurement/tenders/{tender_id}/award", award,
                         **{"If-Match": r.headers["etag"]})
    assert_problem(early, 409)
    await w.make_firm()
    r = await w.post("tokyo", f"/v1/procurement/tenders/{tender_id}/award", award, **{"If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "awarded"
    contracts = (await w.get("tokyo", f"/v1/procurement/tenders/{tender_id}/contracts")).json()["items"]
    assert [(c["municipality_code"], c["quantity"], c["amount_yen"]) for c in contracts] == [
        (CHIYODA, 8, 8 * 850), (CHUO, 7, 7 * 850)]  # 6800, 5950

    s = await w.savings()
    chiyoda = s[("municipality", f"{CHIYODA}/tablet")]
    assert chiyoda["realised_savings"]["amount_yen"] == (1000 - 850) * 8  # 1200
    assert chiyoda["realised_savings"]["method"] == "r_m = (B_m - W_L(Q_L)) * q_m"
    assert (chiyoda["realised_savings"]["basis"], chiyoda["price_savings"]["basis"]) == ("awarded", "catalogue")
    assert s[("municipality", f"{CHUO}/tablet")]["realised_savings"]["amount_yen"] == (950 - 850) * 7  # 700
    assert s[("tender", tender_id)]["realised_savings"]["amount_yen"] == 1200 + 700
    assert s[("tender", tender_id)]["process_savings"]["amount_yen"] == (2 - 1) * 100_000
    total = s[("total", "total")]  # the tablet tender only: licences were never tendered
    assert total["price_savings"]["amount_yen"] == 800 + 350
    assert total["pooling_uplift"]["amount_yen"] == 800 + 700
    assert total["realised_savings"]["amount_yen"] == 1200 + 700
    assert total["process_savings"]["amount_yen"] == (2 - 1) * 100_000
    assert s[("pool", "licence/1")]["price_savings"]["amount_yen"] == 3600 + 2000 + 1000

    # Municipalities see only their own rows; the pooled quantity still counts everyone.
    own = await w.savings("B")
    assert {k for k in own if k[0] == "municipality"} == {("municipality", f"{CHUO}/tablet"),
                                                          ("municipality", f"{CHUO}/licence")}
    assert own[("municipality", f"{CHUO}/licence")]["pooled_quantity"] == 65

    r = await w.get("tokyo", f"/v1/procurement/rounds/{w.round_id}/savings?detail=municipality", Accept="text/csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0].startswith("level,key,section,category_code")
    assert lines[1].startswith("headline,realised savings + process savings,tendered") and ",101900," in lines[1]
    assert any(line.startswith(f"municipality,{CHIYODA},tendered,tablet") and ",1200," in line for line in lines)


async def test_bid_curve_award_prices_every_contract_at_the_pooled_quantity(world: World) -> None:
    w = world
    await submit_fixture(w)
    await w.close_window()
    r = await w.post("tokyo", f"/v1/procurement/rounds/{w.round_id}/tenders",
                     {"category_code": "licence", "lot_scheme": "prefecture"})
    tender = r.json()["tenders"][0]
    assert [lot["lot_id"] for lot in tender["lots"]] == ["LOT-13"]
    r = await w.post("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/status", {"status": "active"},
                     **{"If-Match": '"1"'})
    await w.make_firm()
    curve = [{"min_quantity": 1, "unit_price_yen": 450}, {"min_quantity": 60, "unit_price_yen": 380}]
    r = await w.post("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/award",
                     {"supplier_name": "Soft KK", "bid_curve": curve}, **{"If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["awarded_unit_price_yen"] == 380  # Q = 65 >= 60
    contracts = (await w.get("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/contracts")).json()["items"]
    assert [c["amount_yen"] for c in contracts] == [30 * 380, 25 * 380, 10 * 380]
    s = await w.savings()
    # Estimates stay on the catalogue (C(65) = 400, C(30) = 500); the winning curve gives the awarded figures.
    chiyoda = s[("municipality", f"{CHIYODA}/licence")]
    assert figures(chiyoda) == ((520 - 400) * 30, (500 - 400) * 30)
    assert chiyoda["realised_savings"]["amount_yen"] == (520 - 380) * 30
    assert chiyoda["pooling_uplift_awarded"]["amount_yen"] == (450 - 380) * 30
    refused = assert_problem(await w.get("tokyo", f"/v1/procurement/rounds/{w.round_id}/what-if?pool="
                                                  f"{tender['tender_id']}&k=1&q=1"), 409)
    assert "awarded" in refused["detail"] and "no longer change" in refused["detail"]
    bad = await w.post("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/status", {"status": "planned"},
                       **{"If-Match": r.headers["etag"]})
    assert_problem(bad, 422)
    done = await w.post("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/status", {"status": "contracted"},
                        **{"If-Match": r.headers["etag"]})
    assert done.status_code == 200, done.text
    again = await w.post("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/status", {"status": "cancelled"},
                         **{"If-Match": done.headers["etag"]})
    assert "final" in assert_problem(again, 409)["detail"]


async def test_tender_rules_and_incompatible_specs_are_explained(world: World) -> None:
    w = world
    for who, os_ in (("A", ["ipados"]), ("B", ["ipados", "android"]), ("C", ["windows"])):
        r = await w.post(who, f"/v1/procurement/rounds/{w.round_id}/needs",
                         need("tablet", 10, 1000, "list_price", requirements={"os": os_}))
        assert r.status_code == 201, r.text
    agg = (await w.get("tokyo", f"/v1/procurement/rounds/{w.round_id}/aggregate")).json()
    tablet = next(c for c in agg["categories"] if c["category_code"] == "tablet")
    assert tablet["quantity"] == 30 and tablet["participants"] == 3
    pools = {p["pool"]: p for p in tablet["pools"]}
    assert pools["tablet/1"]["requirements"] == {"os": ["ipados"]}
    assert pools["tablet/1"]["by_municipality"] == {CHIYODA: 10, CHUO: 10}
    assert pools["tablet/1"]["pooled_unit_price_yen"] == 800
    assert pools["tablet/2"]["quantity"] == 10
    assert "os must be one of ['windows']" in pools["tablet/2"]["separated_because"][0]
    bad = await w.post("A", f"/v1/procurement/rounds/{w.round_id}/needs",
                       need("tablet", 1, 1000, "list_price", requirements={"colour": ["red"]}))
    assert "colour" in assert_problem(bad, 422)["detail"]
    early = await w.post("tokyo", f"/v1/procurement/rounds/{w.round_id}/tenders", {"category_code": "tablet"})
    assert_problem(early, 409)
    await w.close_window()
    r = await w.post("tokyo", f"/v1/procurement/rounds/{w.round_id}/tenders", {"category_code": "tablet"})
    assert r.status_code == 201, r.text
    assert len(r.json()["tenders"]) == 1
    assert r.json()["not_formed"][0]["pool"] == "tablet/2"
    assert "fewer than the minimum 2" in r.json()["not_formed"][0]["reason"]
    denied = await w.post("A", f"/v1/procurement/rounds/{w.round_id}/tenders", {"category_code": "tablet"})
    assert_problem(denied, 403)


async def test_idempotent_need_submission(world: World) -> None:
    w = world
    path = f"/v1/procurement/rounds/{w.round_id}/needs"
    key = str(uuid.uuid4())
    body = need("tablet", 5, 990, "current_contract")
    first = await w.post("A", path, body, **{"Idempotency-Key": key})
    second = await w.post("A", path, body, **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json()["need_id"] == second.json()["need_id"]
    assert second.headers.get("idempotent-replayed") == "true"
    listed = (await w.get("A", path)).json()["items"]
    assert len(listed) == 1
    other = await w.post("A", path, {**body, "quantity": 6}, **{"Idempotency-Key": key})
    assert_problem(other, 422)
    assert len((await w.get("A", path)).json()["items"]) == 1


async def test_edit_until_the_window_closes_then_409_naming_the_deadline(world: World) -> None:
    w = world
    r = await w.post("A", f"/v1/procurement/rounds/{w.round_id}/needs", need("tablet", 5, 990, "current_contract"))
    need_id, etag = r.json()["need_id"], r.headers["etag"]
    changed = need("tablet", 9, 990, "current_contract", quantity_max=12)
    changed.pop("category_code")
    missing = await w.client.put(f"/v1/procurement/needs/{need_id}", json=changed, headers=w.keys["A"])
    assert_problem(missing, 428)
    r = await w.client.put(f"/v1/procurement/needs/{need_id}", json=changed,
                           headers={**w.keys["A"], "If-Match": etag})
    assert r.status_code == 200, r.text
    assert (r.json()["quantity"], r.json()["version"]) == (9, 2)
    stale = await w.client.put(f"/v1/procurement/needs/{need_id}", json=changed,
                               headers={**w.keys["A"], "If-Match": etag})
    assert_problem(stale, 412)
    closed = await w.close_window()
    late = await w.client.put(f"/v1/procurement/needs/{need_id}", json={**changed, "quantity": 10},
                              headers={**w.keys["A"], "If-Match": r.headers["etag"]})
    body = assert_problem(late, 409)
    assert closed["closes_at"] in body["detail"]
    late_new = await w.post("A", f"/v1/procurement/rounds/{w.round_id}/needs", need("tablet", 1, 990, "list_price"))
    assert_problem(late_new, 409)
    versions = (await w.get("A", f"/v1/procurement/needs/{need_id}/versions")).json()["items"]
    assert [(v["version"], v["change"], v["snapshot"]["quantity"]) for v in versions] == [
        (1, "created", 5), (2, "updated", 9)]
    # Still before the withdrawal deadline: withdrawing works; after it, 409 naming it.
    r = await w.post("A", f"/v1/procurement/needs/{need_id}/withdraw", None, **{"If-Match": '"2"'})
    assert r.status_code == 200, r.text
    r2 = await w.post("B", f"/v1/procurement/rounds/{w.round_id}/needs", need("tablet", 1, 990, "list_price"))
    assert_problem(r2, 409)
    firm = await w.make_firm()
    versions = (await w.get("A", f"/v1/procurement/needs/{need_id}/versions")).json()["items"]
    assert [v["change"] for v in versions] == ["created", "updated", "withdrawn"]
    assert firm["phase"] == "firm"


async def test_withdrawal_after_the_deadline_is_refused(world: World) -> None:
    w = world
    r = await w.post("A", f"/v1/procurement/rounds/{w.round_id}/needs", need("tablet", 5, 990, "current_contract"))
    need_id = r.json()["need_id"]
    firm = await w.make_firm()
    late = await w.post("A", f"/v1/procurement/needs/{need_id}/withdraw", None, **{"If-Match": '"1"'})
    assert firm["withdrawal_deadline"] in assert_problem(late, 409)["detail"]


async def test_tenant_isolation_of_needs_prices_and_rounds(world: World) -> None:
    w = world
    await submit_fixture(w)
    # Another municipality's need (and so its baseline price) is not found.
    other = await w.get("B", f"/v1/procurement/needs/{w.needs['A/tablet']}")
    assert_problem(other, 404)
    assert_problem(await w.get("B", f"/v1/procurement/needs/{w.needs['A/tablet']}/versions"), 404)
    current = await w.get("A", f"/v1/procurement/needs/{w.needs['A/tablet']}")
    sneaky = await w.client.put(f"/v1/procurement/needs/{w.needs['A/tablet']}",
                                json={k: v for k, v in need("tablet", 1, 1, "current_contract").items()
                                      if k != "category_code"},
                                headers={**w.keys["B"], "If-Match": current.headers["etag"]})
    assert_problem(sneaky, 404)
    listed = (await w.get("B", f"/v1/procurement/rounds/{w.round_id}/needs")).json()["items"]
    assert {n["municipality_code"] for n in listed} == {CHUO}
    # ...but the pooled totals are shared, without the other municipalities' detail.
    agg = (await w.get("B", f"/v1/procurement/rounds/{w.round_id}/aggregate")).json()
    tablet = next(c for c in agg["categories"] if c["category_code"] == "tablet")
    assert (tablet["quantity"], tablet["participants"]) == (21, 3)
    assert tablet["pools"][0]["own_quantity"] == 7
    assert "by_municipality" not in tablet["pools"][0]
    assert "950" not in str(agg) and "980" not in str(agg)
    savings_text = (await w.get("B", f"/v1/procurement/rounds/{w.round_id}/savings?detail=municipality")).text
    assert CHIYODA not in savings_text and MINATO not in savings_text
    # The prefecture sees its municipalities' detail.
    tokyo = (await w.get("tokyo", f"/v1/procurement/rounds/{w.round_id}/needs")).json()["items"]
    assert len(tokyo) == 6
    assert (await w.get("tokyo", f"/v1/procurement/needs/{w.needs['A/tablet']}")).status_code == 200
    # Another prefecture, and its municipalities, see nothing of Tokyo's round.
    for who in ("saitama", "S"):
        assert_problem(await w.get(who, f"/v1/procurement/rounds/{w.round_id}"), 404)
        assert_problem(await w.get(who, f"/v1/procurement/rounds/{w.round_id}/aggregate"), 404)
        assert_problem(await w.get(who, f"/v1/procurement/rounds/{w.round_id}/savings"), 404)
        assert_problem(await w.get(who, f"/v1/procurement/needs/{w.needs['A/tablet']}"), 404)
        assert_problem(await w.get(who, f"/v1/ocds/rounds/{w.round_id}"), 404)
        assert (await w.get(who, "/v1/procurement/rounds")).json()["items"] == []
    joined = await w.post("S", f"/v1/procurement/rounds/{w.round_id}/needs", need("tablet", 1, 990, "list_price"))
    assert_problem(joined, 404)


async def test_cross_prefecture_round_shows_each_prefecture_its_own_detail(world: World) -> None:
    w = world
    r = await w.post("tokyo", "/v1/procurement/rounds", {
        "title": "Kanto PCs", "category_codes": ["tablet"], "prefectures": ["13", "110001"],
        "closes_at": iso(timedelta(days=7)), "withdrawal_deadline": iso(timedelta(days=8))})
    assert r.status_code == 201, r.text
    round_id = r.json()["round_id"]
    assert r.json()["prefectures"] == ["11", "13"]
    for who in ("A", "S"):
        r = await w.post(who, f"/v1/procurement/rounds/{round_id}/needs", need("tablet", 10, 990, "current_contract"))
        assert r.status_code == 201, r.text
    saitama = (await w.get("saitama", f"/v1/procurement/rounds/{round_id}/aggregate")).json()
    pool = saitama["categories"][0]["pools"][0]
    assert pool["quantity"] == 20 and pool["by_municipality"] == {SAITAMA_CITY: 10}
    assert pool["by_prefecture"] == {"11": 10, "13": 10}
    tokyo = (await w.get("tokyo", f"/v1/procurement/rounds/{round_id}/aggregate")).json()
    assert tokyo["categories"][0]["pools"][0]["by_municipality"] == {SAITAMA_CITY: 10, CHIYODA: 10}
    needs = (await w.get("saitama", f"/v1/procurement/rounds/{round_id}/needs")).json()["items"]
    assert [n["municipality_code"] for n in needs] == [SAITAMA_CITY]
    # Saitama may read the round but not change it.
    assert_problem(await w.client.patch(f"/v1/procurement/rounds/{round_id}", json={"title": "x"},
                                        headers={**w.keys["saitama"], "If-Match": '"1"'}), 403)


async def test_bulk_csv_with_one_bad_row_among_1000_stores_nothing(world: World) -> None:
    w = world
    header = "category_code,quantity,requirements,baseline_unit_price_yen,baseline_source,budget_status,delivery_date"
    rows = [f"tablet,{1 + i % 9},os=ipados|android,{900 + i % 50},current_contract,approved,2026-04-01"
            for i in range(1000)]
    rows[636] = "tablet,3,os=ipados,950,current_contract,maybe,2026-04-01"
    path = f"/v1/procurement/rounds/{w.round_id}/needs.csv"
    r = await w.client.post(path, content="\n".join([header, *rows]).encode(),
                            headers={**w.keys["A"], "Content-Type": "text/csv"})
    body = assert_problem(r, 422)
    # The header is row 1, so the 637th data line is row 638.
    assert [e["field"] for e in body["errors"]] == ["row 638"]
    assert "budget_status" in body["errors"][0]["message"]
    assert "nothing was stored" in body["detail"]
    assert (await w.get("A", f"/v1/procurement/rounds/{w.round_id}/needs")).json()["items"] == []

    rows[636] = rows[635]
    rows[10] = "pc,3,,950,current_contract,approved,"
    rows[20] = "tablet,3,os=linux,950,current_contract,approved,"
    r = await w.client.post(path, content="\n".join([header, *rows]).encode(),
                            headers={**w.keys["A"], "Content-Type": "text/csv"})
    body = assert_problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["row 12", "row 22"]
    rows[10] = rows[20] = rows[0]
    r = await w.client.post(path, content="\n".join([header, *rows]).encode(),
                            headers={**w.keys["A"], "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 1000
    page = (await w.get("A", f"/v1/procurement/rounds/{w.round_id}/needs?limit=1000")).json()
    assert len(page["items"]) == 1000


async def test_catalogue_seeds_and_admin_changes(world: World) -> None:
    w = world
    codes = {c["category_code"]: c for c in (await w.get("A", "/v1/procurement/categories")).json()["items"]}
    assert {"rpa", "ai-ocr", "ai-minutes", "e-learning", "pc"} <= set(codes)
    assert codes["pc"]["unit_code"] == "H87"
    denied = await w.post("tokyo", "/v1/procurement/categories", {**TABLET, "category_code": "phones"})
    assert_problem(denied, 403)
    rising = await w.post("admin", "/v1/procurement/categories", {
        **TABLET, "category_code": "phones",
        "price_tiers": [{"min_quantity": 1, "unit_price_yen": 100}, {"min_quantity": 5, "unit_price_yen": 120}]})
    assert "must not rise" in assert_problem(rising, 422)["detail"]
    unknown = await w.post("admin", "/v1/procurement/categories", {**TABLET, "category_code": "phones", "x": 1})
    assert_problem(unknown, 422)
    current = await w.get("admin", "/v1/procurement/categories/tablet")
    update = {k: v for k, v in TABLET.items() if k not in ("category_code", "unit_code")}
    update["price_tiers"] = [{"min_quantity": 1, "unit_price_yen": 1000}, {"min_quantity": 5, "unit_price_yen": 700}]
    r = await w.client.put("/v1/procurement/categories/tablet", json=update,
                           headers={**w.keys["admin"], "If-Match": current.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2


async def test_what_if_more_municipalities_join(world: World) -> None:
    w = world
    await submit_fixture(w)
    # C withdraws its tablets: Q = 15 at 900. If 2 more join with 3 each, Q = 21 -> 800.
    current = await w.get("C", f"/v1/procurement/needs/{w.needs['C/tablet']}")
    await w.post("C", f"/v1/procurement/needs/{w.needs['C/tablet']}/withdraw", None,
                 **{"If-Match": current.headers["etag"]})
    r = await w.get("tokyo", f"/v1/procurement/rounds/{w.round_id}/what-if?pool=tablet/1&k=2&q=3")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["pooled_quantity_then"], body["unit_price_then_yen"]) == (15 + 2 * 3, 800)
    rows = {row["who"]: row for row in body["rows"]}
    assert (rows[CHIYODA]["savings_now_yen"], rows[CHIYODA]["savings_then_yen"]) == ((1000 - 900) * 8,
                                                                                   (1000 - 800) * 8)
    assert rows[CHUO]["change_yen"] == (950 - 800) * 7 - (950 - 900) * 7
    assert rows["each of 2 joining"]["savings_then_yen"] == (1000 - 800) * 3
    csv = await w.get("B", f"/v1/procurement/rounds/{w.round_id}/what-if?pool=tablet/1&k=2&q=3",
                      Accept="text/csv")
    assert csv.status_code == 200 and CHIYODA not in csv.text and CHUO in csv.text
    assert_problem(await w.get("tokyo", f"/v1/procurement/rounds/{w.round_id}/what-if?pool=nope&k=1&q=1"), 404)


async def test_ocds_export_of_a_round_validates(world: World) -> None:
    from tests.test_procurement_ocds import errors

    w = world
    await submit_fixture(w)
    await w.close_window()
    r = await w.post("tokyo", f"/v1/procurement/rounds/{w.round_id}/tenders",
                     {"category_code": "tablet", "lot_scheme": "prefecture"})
    tender = r.json()["tenders"][0]
    r = await w.post("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/status", {"status": "active"},
                     **{"If-Match": '"1"'})
    await w.make_firm()
    r = await w.post("tokyo", f"/v1/procurement/tenders/{tender['tender_id']}/award",
                     {"supplier_name": "Kanda Devices KK", "supplier_id": "1010001000001", "unit_price_yen": 790},
                     **{"If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    package = (await w.get("tokyo", f"/v1/ocds/rounds/{w.round_id}")).json()
    assert errors(package) == []
    plans = [x for x in package["releases"] if x["tag"] == ["planning"]]
    contracting = [x for x in package["releases"] if "tender" in x["tag"]]
    assert len(plans) == 3 and len(contracting) == 1
    release = contracting[0]
    assert release["tag"] == ["tender", "award", "contract"]
    assert release["tender"]["procuringEntity"]["id"] == "JP-LGCODE-130001"
    assert sorted(c["buyer"]["id"][-6:] for c in release["contracts"]) == [CHIYODA, CHUO, MINATO]
    assert {rp["identifier"] for rp in release["relatedProcesses"]} == {p["ocid"] for p in plans}
    assert sum(c["value"]["amount"] for c in release["contracts"]) == (8 + 7 + 6) * 790
    # A municipality's export holds its own plan only, and still validates.
    own = (await w.get("B", f"/v1/ocds/rounds/{w.round_id}")).json()
    assert errors(own) == []
    assert [x["buyer"]["id"] for x in own["releases"] if x["tag"] == ["planning"]] == [f"JP-LGCODE-{CHUO}"]
    broken = copy.deepcopy(package)
    broken["releases"][0]["tag"] = ["plan"]
    assert errors(broken)


async def test_seed_demo_is_deterministic_and_visible_through_the_api(world: World, settings) -> None:
    from registry.db.admin import admin_session
    from registry.procurement.demo import seed_demo

    codes = [CHIYODA, CHUO, MINATO]
    first = await admin_session(settings, lambda db: seed_demo(db, "130001", codes, 7))
    second = await admin_session(settings, lambda db: seed_demo(db, "130001", codes, 7))
    assert first["round_id"] != second["round_id"]
    assert {k: v for k, v in first.items() if "_id" not in k} == {k: v for k, v in second.items() if "_id" not in k}
    assert len(first["tender_ids"]) == 5 and first["needs"] == 15 + 1 and first["untendered_pools"] == 1
    assert first["realised_savings_yen"] > 0 and first["process_savings_yen"] == sum(
        (3 - 1) * cost for cost in (1_200_000, 900_000, 900_000, 600_000, 1_500_000))
    r = await world.get("tokyo", f"/v1/procurement/rounds/{first['round_id']}/savings")
    total = next(row for row in r.json()["rows"] if row["level"] == "total")
    assert total["realised_savings"]["amount_yen"] == first["realised_savings_yen"]
    package = (await world.get("tokyo", f"/v1/ocds/rounds/{first['round_id']}")).json()
    from tests.test_procurement_ocds import errors

    assert errors(package) == [] and len(package["releases"]) == 3 + 5


async def test_a_malformed_id_is_422_naming_the_parameter(world: World) -> None:
    w = world
    for path, field in (("/v1/procurement/rounds/not-a-round", "round_id"),
                        ("/v1/procurement/rounds/not-a-round/savings", "round_id"),
                        ("/v1/ocds/rounds/not-a-round", "round_id"),
                        ("/v1/procurement/needs/not-a-need", "need_id"),
                        ("/v1/procurement/needs/not-a-need/versions", "need_id"),
                        ("/v1/procurement/tenders/not-a-tender", "tender_id"),
                        ("/v1/procurement/tenders/not-a-tender/contracts", "tender_id")):
        body = assert_problem(await w.get("tokyo", path), 422)
        assert [e["field"] for e in body["errors"]] == [field], path
    # A well-formed id that names nothing the caller may see is still 404.
    assert_problem(await w.get("tokyo", f"/v1/procurement/needs/{uuid.uuid4()}"), 404)


async def test_admins_name_the_municipality_a_need_is_for(world: World) -> None:
    w = world
    path = f"/v1/procurement/rounds/{w.round_id}/needs"
    missing = assert_problem(await w.post("admin", path, need("tablet", 1, 990, "current_contract")), 422)
    assert [e["field"] for e in missing["errors"]] == ["municipality_code"]
    made = await w.post("admin", path, need("tablet", 1, 990, "current_contract", municipality_code=CHUO))
    assert made.status_code == 201, made.text
    assert made.json()["municipality_code"] == CHUO
    other = await w.post("A", path, need("tablet", 1, 990, "current_contract", municipality_code=CHUO))
    assert_problem(other, 403)
    bad = await w.post("A", path, need("tablet", 1, 1000, "list_price", quantity_max=0))
    assert_problem(bad, 422)
    wrong = assert_problem(await w.post("A", path, need("tablet", 3, 999, "list_price", quantity_max=2)), 422)
    assert sorted(e["field"] for e in wrong["errors"]) == ["baseline_unit_price_yen", "quantity_max"]


async def test_savings_format_by_f_by_the_deprecated_format_and_by_accept(world: World) -> None:
    w = world
    await submit_fixture(w)
    path = f"/v1/procurement/rounds/{w.round_id}/savings"
    as_json = (await w.get("tokyo", path)).json()
    for query, headers in (("?f=csv", {}), ("?format=csv", {}), ("", {"Accept": "text/csv"})):
        r = await w.get("tokyo", path + query, **headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), query
        # The header, the headline, then one CSV line per JSON row of either section.
        assert len(r.text.splitlines()) == 2 + len(as_json["rows"]) + len(as_json["untendered"]), query
    assert (await w.get("tokyo", path + "?f=json", Accept="text/csv")).json()["rows"] == as_json["rows"]
    assert [e["field"] for e in assert_problem(await w.get("tokyo", path + "?f=xml"), 422)["errors"]] == ["f"]
    assert [e["field"] for e in assert_problem(await w.get("tokyo", path + "?format=xml"), 422)["errors"]] == [
        "format"]


async def test_savings_csv_has_one_charset_and_negative_figures_stay_numbers(world: World) -> None:
    import csv
    import io

    w = world
    # Chiyoda already pays 500 a tablet; the pool of 1 is priced at the 1000 tier: (500 - 1000) * 1 = -500.
    r = await w.post("A", f"/v1/procurement/rounds/{w.round_id}/needs", need("tablet", 1, 500, "current_contract"))
    assert r.status_code == 201, r.text
    for path in (f"/v1/procurement/rounds/{w.round_id}/savings?f=csv",
                 f"/v1/procurement/rounds/{w.round_id}/what-if?pool=tablet/1&k=1&q=1&f=csv"):
        r = await w.get("tokyo", path)
        assert r.status_code == 200, r.text
        content_type = r.headers["content-type"]
        assert content_type.startswith("text/csv") and content_type.count("charset") == 1, content_type
        assert r.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.DictReader(io.StringIO((await w.get(
        "tokyo", f"/v1/procurement/rounds/{w.round_id}/savings?f=csv&detail=municipality")).text)))
    chiyoda = next(row for row in rows if row["level"] == "municipality" and row["key"] == CHIYODA)
    assert chiyoda["price_savings_yen"] == str((500 - 1000) * 1)
    assert all(not value.startswith("'") for row in rows for value in row.values())


async def test_a_crafted_cursor_is_422_not_500(world: World) -> None:
    import base64
    import json

    w = world

    def cursor(values: list) -> str:
        return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()

    assert cursor(["x", "y"]) == "WyJ4IiwgInkiXQ=="  # the cursor named in issue 10
    needs = f"/v1/procurement/rounds/{w.round_id}/needs"
    for path in ("/v1/procurement/rounds?after=WyJ4IiwgInkiXQ==",
                 f"/v1/procurement/rounds?after={cursor([1, 'y'])}",
                 f"/v1/procurement/rounds?after={cursor(['2026-04-01T09:00:00+00:00', str(uuid.uuid4())])}",
                 f"{needs}?after={cursor(['131016', 'y'])}",
                 f"{needs}?after={cursor([131016, str(uuid.uuid4())])}",
                 f"{needs}?after=not-base64!"):
        body = assert_problem(await w.get("tokyo", path), 422)
        assert [e["field"] for e in body["errors"]] == ["after"], path


async def test_rounds_page_through_their_next_links(world: World) -> None:
    w = world
    for n in range(3):
        r = await w.post("tokyo", "/v1/procurement/rounds", {
            "title": f"Round {n}", "category_codes": ["tablet"],
            "closes_at": iso(timedelta(days=7)), "withdrawal_deadline": iso(timedelta(days=14))})
        assert r.status_code == 201, r.text
    everyone = (await w.get("tokyo", "/v1/procurement/rounds")).json()["items"]
    assert len(everyone) == 4
    seen, path = [], "/v1/procurement/rounds?limit=1"
    while path:
        page = (await w.get("tokyo", path)).json()
        seen += [r["round_id"] for r in page["items"]]
        path = page["next"]
    assert seen == [r["round_id"] for r in everyone]
    assert_problem(await w.get("tokyo", "/v1/procurement/rounds?limit=0"), 422)
