"""Which language a problem is written in: Accept-Language with its q-values, else the key's `lang`
(sql/120), else English (issue 14)."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from registry.i18n import negotiate
from tests.conftest import KeyFactory, assert_problem

KANA = re.compile(r"[\u3040-\u30ff]")
CHIYODA, MINATO = "131016", "131032"
MISSING = "/v1/assets/00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(("header", "expected"), [
    ("ja", "ja"), ("ja-JP", "ja"), ("JA-jp", "ja"), ("en-US,en;q=0.9,ja;q=0.8", "en"),
    ("fr, ja;q=0.5", "ja"), ("ja;q=0.1, en;q=0.9", "en"), ("en;q=0.5, ja", "ja"),
    ("ja;q=0, en;q=0.1", "en"), ("ja;q=0", None), ("de, fr;q=0.5", None), ("*", None), ("", None),
    ("ja;q=abc, en", "en"),
])
def test_negotiation_honours_q_values(header: str, expected: str | None) -> None:
    assert negotiate(header) == expected


async def _language(client: AsyncTestClient, headers: dict[str, str]) -> str:
    r = await client.get(MISSING, headers=headers)
    body = assert_problem(r, 404)
    said = "ja" if KANA.search(body["detail"]) else "en"
    assert r.headers["content-language"] == said
    assert "accept-language" in [v.strip().lower() for v in r.headers.get("vary", "").split(",")]
    return said


async def test_a_keys_lang_is_used_without_accept_language(client: AsyncTestClient, make_key: KeyFactory) -> None:
    admin = await make_key("admin", "admin")
    made = await client.post("/v1/keys", json={"role": "municipality", "tenant": CHIYODA, "name": "batch",
                                               "lang": "ja"}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["info"]["lang"] == "ja"
    batch = {"Authorization": f"Bearer {made.json()['key']}"}
    assert await _language(client, batch) == "ja"
    # The request's own Accept-Language wins over the key's setting; one the server does not offer does not.
    assert await _language(client, {**batch, "Accept-Language": "en"}) == "en"
    assert await _language(client, {**batch, "Accept-Language": "de"}) == "ja"
    # A key without a setting: English unless the request asks.
    plain = await make_key("municipality", CHIYODA)
    assert await _language(client, plain) == "en"
    assert await _language(client, {**plain, "Accept-Language": "ja-JP, en;q=0.5"}) == "ja"


async def test_a_key_holder_sets_the_language(client: AsyncTestClient, make_key: KeyFactory) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    me = (await client.get("/v1/me", headers=chiyoda)).json()
    r = await client.patch(f"/v1/keys/{me['key_id']}", json={"lang": "ja"}, headers=chiyoda)
    assert r.status_code == 200, r.text
    assert r.json()["lang"] == "ja"
    assert await _language(client, chiyoda) == "ja"
    listed = (await client.get("/v1/keys", headers=chiyoda)).json()["items"]
    assert [k["lang"] for k in listed if k["key_id"] == me["key_id"]] == ["ja"]
    r = await client.patch(f"/v1/keys/{me['key_id']}", json={"lang": None}, headers=chiyoda)
    assert r.status_code == 200 and r.json()["lang"] is None
    assert await _language(client, chiyoda) == "en"
    bad = assert_problem(await client.patch(f"/v1/keys/{me['key_id']}", json={"lang": "fr"}, headers=chiyoda), 422)
    assert bad["errors"][0]["field"] == "lang"


async def test_another_tenants_key_is_out_of_reach(client: AsyncTestClient, make_key: KeyFactory, owner) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    minato = await make_key("municipality", MINATO)
    theirs = (await client.get("/v1/me", headers=minato)).json()["key_id"]
    r = await client.patch(f"/v1/keys/{theirs}", json={"lang": "ja"}, headers=chiyoda)
    assert_problem(r, 404)
    assert await owner.fetchval("select lang from api_keys where key_id = $1::uuid", theirs) is None
    admin = await make_key("admin", "admin")
    assert (await client.patch(f"/v1/keys/{theirs}", json={"lang": "ja"}, headers=admin)).status_code == 200
    assert await owner.fetchval("select lang from api_keys where key_id = $1::uuid", theirs) == "ja"
