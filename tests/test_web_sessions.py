"""Web map sessions (sql/057_web_sessions.sql, registry/auth/sessions.py): a bearer key traded once for an
HttpOnly, SameSite=Strict cookie kept server-side, ended by sign-out, expiry or revoking the key; writes
made with the cookie need the CSRF token and a same-origin Origin; bearer keys work as before."""

from __future__ import annotations

import hashlib

import msgspec
from litestar.testing import AsyncTestClient

from registry.app import create_app
from tests.assets_fixture import CHIYODA
from tests.conftest import assert_problem

APPLICATION = {"asset_ids": ["00000000-0000-4000-8000-000000000000"], "purpose": "5G", "starts_on": "2030-04-01"}


async def _sign_in(client: AsyncTestClient, headers: dict[str, str]) -> tuple[str, dict]:
    r = await client.post("/v1/session", headers=headers)
    assert r.status_code == 201, r.text
    cookie = r.headers["set-cookie"]
    token = r.cookies["kyodo_session"]
    client.cookies.clear()  # each request below names the cookie it sends
    return token, {"cookie": cookie, **r.json()}


async def test_a_key_becomes_an_httponly_strict_cookie_stored_hashed(client: AsyncTestClient, make_key,
                                                                     owner) -> None:
    headers = await make_key("municipality", CHIYODA)
    token, answer = await _sign_in(client, headers)
    attributes = [a.strip().lower() for a in answer["cookie"].split(";")]
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert "secure" not in attributes  # plain http here; see the https test below
    assert "max-age=28800" in attributes  # 8 hours, KYODO_SESSION_HOURS' default
    assert answer["principal"]["tenant_code"] == CHIYODA and len(answer["csrf_token"]) == 64
    stored = await owner.fetch("select token_hash, expires_at - created_at as life from web_sessions")
    assert [bytes(r["token_hash"]) for r in stored] == [hashlib.sha256(token.encode()).digest()]
    assert stored[0]["life"].total_seconds() == 8 * 3600
    me = await client.get("/v1/me", cookies={"kyodo_session": token})
    assert me.status_code == 200 and me.json()["tenant_code"] == CHIYODA
    again = await client.get("/v1/session", cookies={"kyodo_session": token})
    assert again.json()["csrf_token"] == answer["csrf_token"]
    # Bearer keys keep working, and a bearer request has no session or CSRF token.
    bearer = await client.get("/v1/session", headers=headers)
    assert bearer.status_code == 200 and bearer.json().get("csrf_token") is None


async def test_writes_with_the_cookie_need_the_csrf_token_and_this_origin(client: AsyncTestClient,
                                                                          make_key) -> None:
    token, answer = await _sign_in(client, await make_key("carrier", "docomo"))
    jar = {"kyodo_session": token}
    assert_problem(await client.post("/v1/applications", json=APPLICATION, cookies=jar), 403)
    wrong = {"X-CSRF-Token": "0" * 64}
    assert_problem(await client.post("/v1/applications", json=APPLICATION, cookies=jar, headers=wrong), 403)
    foreign = {"X-CSRF-Token": answer["csrf_token"], "Origin": "https://evil.example"}
    assert_problem(await client.post("/v1/applications", json=APPLICATION, cookies=jar, headers=foreign), 403)
    # With the token (and no Origin, or this server's), the write reaches the route: the asset does not
    # exist, so the route itself answers 422 or 404, not the CSRF check's 403.
    good = {"X-CSRF-Token": answer["csrf_token"], "Origin": "http://testserver.local"}
    r = await client.post("/v1/applications", json=APPLICATION, cookies=jar, headers=good)
    assert r.status_code in (404, 422), r.text
    # Reads need no token.
    assert (await client.get("/v1/applications", cookies=jar)).status_code == 200


async def test_sign_out_expiry_and_key_revocation_end_the_session(client: AsyncTestClient, make_key,
                                                                  owner) -> None:
    headers = await make_key("carrier", "docomo")
    token, answer = await _sign_in(client, headers)
    jar = {"kyodo_session": token}
    csrf = {"X-CSRF-Token": answer["csrf_token"]}
    out = await client.delete("/v1/session", cookies=jar, headers=csrf)
    assert out.status_code == 200 and "max-age=0" in out.headers["set-cookie"].lower()
    assert_problem(await client.get("/v1/me", cookies=jar), 401)
    assert await owner.fetchval("select revoked_at is not null from web_sessions") is True

    token, _ = await _sign_in(client, headers)
    await owner.execute("update web_sessions set created_at = now() - interval '9 hours', "
                        "expires_at = now() - interval '1 hour' where revoked_at is null")
    assert_problem(await client.get("/v1/me", cookies={"kyodo_session": token}), 401)

    token, _ = await _sign_in(client, headers)
    assert (await client.get("/v1/me", cookies={"kyodo_session": token})).status_code == 200
    key_id = (await client.get("/v1/me", headers=headers)).json()["key_id"]
    await owner.execute("update api_keys set revoked_at = now() where key_id = $1::uuid", key_id)
    assert_problem(await client.get("/v1/me", cookies={"kyodo_session": token}), 401)


async def test_a_session_cannot_open_another_and_anonymous_gets_401(client: AsyncTestClient, make_key) -> None:
    token, answer = await _sign_in(client, await make_key("carrier", "docomo"))
    assert_problem(await client.post("/v1/session", cookies={"kyodo_session": token},
                                     headers={"X-CSRF-Token": answer["csrf_token"]}), 400)
    assert_problem(await client.post("/v1/session"), 401)
    assert_problem(await client.get("/v1/session", cookies={"kyodo_session": "kys_docomo_" + "0" * 64}), 401)


async def test_tenants_see_only_their_own_sessions(client: AsyncTestClient, make_key, api_conn) -> None:
    from registry.principal import Principal
    from tests.conftest import as_principal

    await _sign_in(client, await make_key("carrier", "docomo"))
    await _sign_in(client, await make_key("carrier", "kddi"))
    docomo = Principal("00000000-0000-4000-8000-000000000001", "carrier", "docomo", None, "t")
    seen = await as_principal(api_conn, docomo, "select tenant_code from web_sessions")
    assert [r["tenant_code"] for r in seen] == ["docomo"]


async def test_the_cookie_is_secure_on_https(settings, make_key) -> None:
    https = msgspec.structs.replace(settings, public_base_url="https://registry.example.lg.jp")
    async with AsyncTestClient(app=create_app(https)) as client:
        r = await client.post("/v1/session", headers=await make_key("carrier", "docomo"))
        assert r.status_code == 201
        assert "secure" in [a.strip().lower() for a in r.headers["set-cookie"].split(";")]


async def test_pages_are_open_and_map_sends_strangers_to_sign_in(client: AsyncTestClient) -> None:
    landing = await client.get("/")
    assert landing.status_code in (200, 503)  # 503 only when web/dist was not built
    r = await client.get("/map", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?next=map"
    r = await client.get("/map", cookies={"kyodo_session": "kys_docomo_" + "0" * 64}, follow_redirects=False)
    assert r.status_code == 303
