"""Tender notices, private questions with anonymised published answers, and the checks on bids (issue 16):
three Tokyo municipalities pool PCs; suppliers 国税庁 (NTA) and Toyota (published 法人番号)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from registry.principal import Principal
from tests.conftest import as_principal, assert_problem

NTA, TOYOTA = "7000012050002", "1180301018771"
BUYERS = {"131016": 40, "131024": 25, "131032": 35}
OFFER = {"os": "windows"}


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


class World:
    def __init__(self, client: AsyncTestClient, keys: dict[str, dict[str, str]]) -> None:
        self.client, self.keys, self.t = client, keys, ""

    async def call(self, who: str, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return await self.client.request(method, path, json=body, headers={**self.keys[who], **headers})


@pytest.fixture
async def world(client: AsyncTestClient, make_key) -> World:
    keys = {"admin": await make_key("admin", "admin"), "tokyo": await make_key("prefecture", "130001"),
            "saitama": await make_key("prefecture", "110001"), "chiyoda": await make_key("municipality", "131016"),
            "nta": await make_key("supplier", NTA), "toyota": await make_key("supplier", TOYOTA)}
    w = World(client, keys)
    r = await w.call("tokyo", "POST", "/v1/procurement/rounds", {
        "title": "PCs", "category_codes": ["pc"], "closes_at": iso(timedelta(days=7)),
        "withdrawal_deadline": iso(timedelta(days=14))})
    round_id = r.json()["round_id"]
    for code, quantity in BUYERS.items():
        r = await w.call("admin", "POST", f"/v1/procurement/rounds/{round_id}/needs", {
            "category_code": "pc", "quantity": quantity, "baseline_unit_price_yen": 170_000,
            "baseline_source": "current_contract", "budget_status": "approved", "municipality_code": code,
            "requirements": {"os": ["windows"]}, "max_unit_price_yen": 160_000})
        assert r.status_code == 201, r.text
    etag = (await w.call("tokyo", "GET", f"/v1/procurement/rounds/{round_id}")).headers["etag"]
    r = await w.call("tokyo", "PATCH", f"/v1/procurement/rounds/{round_id}", {
        "opens_at": iso(-timedelta(hours=3)), "closes_at": iso(-timedelta(hours=2)),
        "withdrawal_deadline": iso(-timedelta(minutes=1))}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    r = await w.call("tokyo", "POST", f"/v1/procurement/rounds/{round_id}/tenders", {"category_code": "pc"})
    w.t = f"/v1/procurement/tenders/{r.json()['tenders'][0]['tender_id']}"
    return w


async def _publish(w: World) -> None:
    r = await w.call("tokyo", "POST", f"{w.t}/notice", {"bid_deadline": iso(timedelta(days=5))})
    assert r.status_code == 201, r.text


async def _pass_deadline(owner: asyncpg.Connection, w: World) -> None:
    await owner.execute("update procurement_tender_notices set published_at = now() - interval '2 days', "
                        "bid_deadline = now() - interval '1 minute' where tender_id = $1::uuid", w.t.split("/")[-1])


async def test_questions_private_answers_published_without_the_asker(
        world: World, owner: asyncpg.Connection, api_conn: asyncpg.Connection) -> None:
    w = world
    assert_problem(await w.call("nta", "POST", f"{w.t}/questions", {"question": "?"}), 404)  # not published yet
    await _publish(w)
    asked = "国税庁です。LGWAN接続は必須ですか? (NTA asking)"
    r = await w.call("nta", "POST", f"{w.t}/questions", {"question": asked})
    assert r.status_code == 201, r.text
    qid = r.json()["question_id"]
    assert (await w.call("toyota", "GET", f"{w.t}/questions")).json()["items"] == []
    assert [q["question"] for q in (await w.call("nta", "GET", f"{w.t}/questions")).json()["items"]] == [asked]
    (seen,) = (await w.call("tokyo", "GET", f"{w.t}/questions")).json()["items"]
    assert seen["supplier_code"] == NTA
    toyota = Principal("k", "supplier", TOYOTA, None, "t")
    assert await as_principal(api_conn, toyota, "select * from procurement_tender_questions") == []
    assert (await w.call("toyota", "GET", f"{w.t}/answers")).json()["items"] == []

    answer = {"answer": "必須です。LGWAN-ASPで提供してください。", "question_as_published": "LGWAN接続は必須ですか?"}
    assert_problem(await w.call("saitama", "POST", f"/v1/procurement/questions/{qid}/answer", answer), 404)
    assert_problem(await w.call("toyota", "POST", f"/v1/procurement/questions/{qid}/answer", answer), 403)
    assert_problem(await w.call("tokyo", "POST", f"/v1/procurement/questions/{qid}/answer", {"answer": ""}), 422)
    r = await w.call("tokyo", "POST", f"/v1/procurement/questions/{qid}/answer", answer)
    assert r.status_code == 200 and r.json()["answered_at"]
    for who in ("toyota", "nta", "chiyoda"):
        r = await w.call(who, "GET", f"{w.t}/answers")
        (published,) = r.json()["items"]
        assert set(published) == {"question_id", "question", "answer", "answered_at"}
        assert published["question"] == answer["question_as_published"]
        assert NTA not in r.text and "国税庁" not in r.text
    # Another prefecture does not see Tokyo's tender, its notice or its answers.
    for path in (f"{w.t}/notice", f"{w.t}/answers", f"{w.t}/questions", f"{w.t}/bids"):
        assert_problem(await w.call("saitama", "GET", path), 404)
    await _pass_deadline(owner, w)
    assert_problem(await w.call("toyota", "POST", f"{w.t}/questions", {"question": "late"}), 409)


async def test_bids_meet_every_requirement_and_stop_with_the_tender(world: World) -> None:
    w = world
    lot = f"{w.t}/lots/LOT-1/bid"
    assert_problem(await w.call("nta", "PUT", lot, {"offer": OFFER, "unit_price_yen": 150_000}), 404)
    assert_problem(await w.call("saitama", "POST", f"{w.t}/notice", {"bid_deadline": iso(timedelta(days=5))}), 404)
    for deadline in (iso(-timedelta(hours=1)), "2030-01-01T00:00:00"):
        assert_problem(await w.call("tokyo", "POST", f"{w.t}/notice", {"bid_deadline": deadline}), 422)
    await _publish(w)
    assert_problem(await w.call("tokyo", "POST", f"{w.t}/notice", {"bid_deadline": iso(timedelta(days=5))}), 409)
    notices = (await w.call("toyota", "GET", "/v1/procurement/notices?open_only=true")).json()["items"]
    assert [(n["lots"][0]["quantity"], n["lots"][0]["buyers"]) for n in notices] == [(sum(BUYERS.values()), 3)]

    missing = assert_problem(await w.call("nta", "PUT", lot, {"unit_price_yen": 150_000}), 422)
    assert [e["field"] for e in missing["errors"]] == ["offer.os"]
    wrong = assert_problem(await w.call("nta", "PUT", lot, {"offer": {"os": "macos"}, "unit_price_yen": 1}), 422)
    assert "must be one of ['windows']" in wrong["detail"]
    both = {"offer": OFFER, "unit_price_yen": 1, "price_curve": [{"min_quantity": 1, "unit_price_yen": 1}]}
    assert_problem(await w.call("nta", "PUT", lot, both), 422)
    rising = [{"min_quantity": 1, "unit_price_yen": 100}, {"min_quantity": 50, "unit_price_yen": 120}]
    assert_problem(await w.call("nta", "PUT", lot, {"offer": OFFER, "price_curve": rising}), 422)
    assert_problem(await w.call("nta", "PUT", f"{w.t}/lots/LOT-9/bid", {"offer": OFFER, "unit_price_yen": 1}), 404)
    assert_problem(await w.call("chiyoda", "PUT", lot, {"offer": OFFER, "unit_price_yen": 1}), 403)
    assert (await w.call("nta", "GET", f"{w.t}/bids")).json()["items"] == []  # none of the refusals left a bid

    assert (await w.call("nta", "PUT", lot, {"offer": OFFER, "unit_price_yen": 150_000})).status_code == 201
    r = await w.call("nta", "DELETE", lot)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert_problem(await w.call("nta", "DELETE", lot), 404)
    assert_problem(await w.call("toyota", "DELETE", lot), 404)
    r = await w.call("nta", "PUT", lot, {"offer": OFFER, "unit_price_yen": 149_000})
    assert (r.status_code, r.json()["status"], r.json()["version"]) == (200, "submitted", 3)

    # A cancelled tender takes no bid: row security refuses it (bidding_open), answered as 409.
    etag = (await w.call("tokyo", "GET", w.t)).headers["etag"]
    r = await w.call("tokyo", "POST", f"{w.t}/status", {"status": "cancelled"}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert_problem(await w.call("toyota", "PUT", lot, {"offer": OFFER, "unit_price_yen": 100_000}), 409)
    assert [b["version"] for b in (await w.call("nta", "GET", f"{w.t}/bids")).json()["items"]] == [3]


async def test_a_tie_goes_to_the_earliest_final_bid(world: World, owner: asyncpg.Connection) -> None:
    w = world
    await _publish(w)
    lot = f"{w.t}/lots/LOT-1/bid"
    assert (await w.call("toyota", "PUT", lot, {"offer": OFFER, "unit_price_yen": 155_000})).status_code == 201
    assert (await w.call("nta", "PUT", lot, {"offer": OFFER, "unit_price_yen": 150_000})).status_code == 201
    # Toyota matches the price later: its final version came in after NTA's.
    assert (await w.call("toyota", "PUT", lot, {"offer": OFFER, "unit_price_yen": 150_000})).status_code == 200
    assert_problem(await w.call("saitama", "POST", f"{w.t}/opening"), 404)
    await _pass_deadline(owner, w)
    assert (await w.call("tokyo", "POST", f"{w.t}/opening")).status_code == 200
    assert_problem(await w.call("saitama", "GET", f"{w.t}/evaluation"), 404)
    (lot_eval,) = (await w.call("tokyo", "GET", f"{w.t}/evaluation")).json()["lots"]
    assert [(b["supplier_code"], b["rank"]) for b in lot_eval["bids"]] == [(NTA, 1), (TOYOTA, 2)]
    assert f"Tied with {TOYOTA}" in lot_eval["explanation"]
    etag = (await w.call("tokyo", "GET", w.t)).headers["etag"]
    assert (await w.call("tokyo", "POST", f"{w.t}/award-from-bids", **{"If-Match": etag})).status_code == 200
    contracts = (await w.call("tokyo", "GET", f"{w.t}/contracts")).json()["items"]
    assert {c["municipality_code"]: c["amount_yen"] for c in contracts} == {m: q * 150_000 for m, q in BUYERS.items()}
