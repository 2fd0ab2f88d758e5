"""The HTTP shell and tenant rules of the foundation, through the real app and database."""

from litestar.testing import AsyncTestClient

from tests.conftest import assert_problem

CHIYODA, SHINJUKU, OSAKA_CITY = "131016", "131041", "271004"


async def test_tokyo_has_62_municipalities(client: AsyncTestClient, make_key) -> None:
    headers = await make_key("prefecture", "130001")
    r = await client.get("/v1/municipalities", params={"prefecture": "13"}, headers=headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 62 and r.json()["next"] is None
    assert items[0]["code"] == CHIYODA and items[0]["town_hall"]["type"] == "Point"


async def test_municipality_pages_follow_next_links(client: AsyncTestClient, make_key) -> None:
    headers = await make_key("carrier", "docomo")
    seen: list[str] = []
    url = "/v1/municipalities?prefecture=130001&limit=25&count=true"
    while url:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200
        body = r.json()
        seen += [m["code"] for m in body["items"]]
        url = body["next"]
    assert len(seen) == 62 == len(set(seen)) and seen == sorted(seen)


async def test_prefectures_and_wards(client: AsyncTestClient, make_key) -> None:
    headers = await make_key("admin", "admin")
    r = await client.get("/v1/prefectures", headers=headers)
    assert len(r.json()["items"]) == 47
    r = await client.get("/v1/municipalities", params={"prefecture": "22", "include_wards": "true", "limit": 2000},
                         headers=headers)
    wards = [m["name"] for m in r.json()["items"] if m["parent_code"] == "221309"]
    assert sorted(wards) == ["浜松市 中央区", "浜松市 天竜区", "浜松市 浜名区"]


async def test_wrong_check_digit_answers_422_with_the_right_digit(client: AsyncTestClient, make_key) -> None:
    headers = await make_key("carrier", "kddi")
    body = assert_problem(await client.get("/v1/municipalities/131017", headers=headers), 422)
    assert "131016" in body["detail"] and body["errors"][0]["field"] == "code"
    assert_problem(await client.get("/v1/municipalities?prefecture=99", headers=headers), 422)
    assert_problem(await client.get("/v1/municipalities/12345678", headers=headers), 422)


async def test_authentication(client: AsyncTestClient, make_key) -> None:
    assert_problem(await client.get("/v1/prefectures"), 401)
    assert_problem(await client.get("/v1/prefectures", headers={"Authorization": "Basic abc"}), 401)
    fake = {"Authorization": "Bearer kyd_131016_" + "0" * 48}
    assert_problem(await client.get("/v1/prefectures", headers=fake), 401)
    r = await client.get("/v1/prefectures", headers={"Authorization": "Bearer nonsense"})
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_revoked_key_gets_401(client: AsyncTestClient, make_key) -> None:
    headers = await make_key("municipality", CHIYODA)
    me = (await client.get("/v1/me", headers=headers)).json()
    assert me["role"] == "municipality" and me["tenant_code"] == CHIYODA and me["prefecture_code"] == "130001"
    r = await client.delete(f"/v1/keys/{me['key_id']}", headers=headers)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_problem(await client.get("/v1/me", headers=headers), 401)


async def test_keys_are_tenant_scoped(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    shinjuku = await make_key("municipality", SHINJUKU)
    admin = await make_key("admin", "admin")
    shinjuku_id = (await client.get("/v1/me", headers=shinjuku)).json()["key_id"]
    listed = (await client.get("/v1/keys", headers=chiyoda)).json()["items"]
    assert {k["tenant_code"] for k in listed} == {CHIYODA}
    # Another tenant's key is not found, not forbidden, and stays valid.
    assert_problem(await client.delete(f"/v1/keys/{shinjuku_id}", headers=chiyoda), 404)
    assert (await client.get("/v1/me", headers=shinjuku)).status_code == 200
    # Nobody escalates: a municipality cannot mint an admin key or a key for a neighbour.
    for body in ({"role": "admin", "tenant": "admin", "name": "x"},
                 {"role": "municipality", "tenant": SHINJUKU, "name": "x"}):
        assert_problem(await client.post("/v1/keys", json=body, headers=chiyoda), 403)
    r = await client.post("/v1/keys", json={"role": "municipality", "tenant": CHIYODA, "name": "rotation"},
                          headers=chiyoda)
    assert r.status_code == 201 and r.json()["key"].startswith("kyd_131016_")
    assert (await client.get("/v1/me", headers={"Authorization": f"Bearer {r.json()['key']}"})).status_code == 200
    everyone = (await client.get("/v1/keys", headers=admin)).json()["items"]
    assert {k["tenant_code"] for k in everyone} >= {CHIYODA, SHINJUKU, "admin"}
    assert all("hash" not in k and "key" not in k for k in everyone)


async def test_municipality_cannot_read_or_change_another_municipality(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    r = await client.get(f"/v1/municipalities/{CHIYODA}/settings", headers=chiyoda)
    assert r.status_code == 200 and r.headers["etag"] == '"0"'
    assert_problem(await client.get(f"/v1/municipalities/{SHINJUKU}/settings", headers=chiyoda), 404)
    body = {"decision_days": 20}
    assert_problem(await client.put(f"/v1/municipalities/{SHINJUKU}/settings", json=body,
                                    headers={**chiyoda, "If-Match": '"0"'}), 404)
    shinjuku = await make_key("municipality", SHINJUKU)
    r = await client.get(f"/v1/municipalities/{SHINJUKU}/settings", headers=shinjuku)
    assert r.json()["version"] == 0


async def test_settings_need_if_match_and_reject_stale_versions(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    url = f"/v1/municipalities/{CHIYODA}/settings"
    assert_problem(await client.put(url, json={"decision_days": 20}, headers=chiyoda), 428)
    r = await client.put(url, json={"decision_days": 20}, headers={**chiyoda, "If-Match": '"0"'})
    assert r.status_code == 200 and r.json()["decision_days"] == 20 and r.headers["etag"] == '"1"'
    stale = assert_problem(await client.put(url, json={"decision_days": 25}, headers={**chiyoda, "If-Match": '"0"'}),
                           412)
    assert "version 1" in stale["detail"]
    r = await client.put(url, json={"decision_days": 25}, headers={**chiyoda, "If-Match": '"1"'})
    assert r.json()["version"] == 2


async def test_prefecture_sees_only_its_own_prefecture(client: AsyncTestClient, make_key) -> None:
    tokyo = await make_key("prefecture", "130001")
    osaka_city = await make_key("municipality", OSAKA_CITY)
    assert (await client.put(f"/v1/municipalities/{OSAKA_CITY}/settings", json={"decision_days": 14},
                             headers={**osaka_city, "If-Match": '"0"'})).status_code == 200
    assert (await client.get(f"/v1/municipalities/{CHIYODA}/settings", headers=tokyo)).status_code == 200
    assert_problem(await client.get(f"/v1/municipalities/{OSAKA_CITY}/settings", headers=tokyo), 404)
    # Prefectures read their municipalities' settings but do not edit them.
    assert_problem(await client.put(f"/v1/municipalities/{CHIYODA}/settings", json={"decision_days": 9},
                                    headers={**tokyo, "If-Match": '"0"'}), 403)


async def test_carrier_cannot_reach_municipality_routes(client: AsyncTestClient, make_key) -> None:
    carrier = await make_key("carrier", "docomo")
    body = assert_problem(await client.get(f"/v1/municipalities/{CHIYODA}/settings", headers=carrier), 403)
    assert "carrier" in body["detail"]
    assert_problem(await client.put(f"/v1/municipalities/{CHIYODA}/settings", json={},
                                    headers={**carrier, "If-Match": '"0"'}), 403)
    assert_problem(await client.post("/v1/carriers", json={"carrier_code": "x1", "name": "x"}, headers=carrier), 403)


async def test_admins_manage_carriers(client: AsyncTestClient, make_key) -> None:
    admin = await make_key("admin", "admin")
    r = await client.post("/v1/carriers", json={"carrier_code": "rakuten", "name": "楽天モバイル"}, headers=admin)
    assert r.status_code == 201
    assert_problem(await client.post("/v1/carriers", json={"carrier_code": "rakuten", "name": "again"},
                                     headers=admin), 409)
    assert_problem(await client.post("/v1/carriers", json={"carrier_code": "Bad Code", "name": "x"},
                                     headers=admin), 422)
    r = await client.post("/v1/keys", json={"role": "carrier", "tenant": "rakuten", "name": "ops"}, headers=admin)
    carrier = {"Authorization": f"Bearer {r.json()['key']}"}
    assert (await client.get("/v1/carriers/rakuten", headers=carrier)).json()["name"] == "楽天モバイル"


async def test_bad_input_is_4xx_problem_json_never_500(client: AsyncTestClient, make_key) -> None:
    chiyoda = {**(await make_key("municipality", CHIYODA)), "If-Match": '"0"'}
    url = f"/v1/municipalities/{CHIYODA}/settings"
    malformed = await client.put(url, content=b'{"decision_days": ', headers={**chiyoda,
                                                                             "Content-Type": "application/json"})
    assert "not valid JSON" in assert_problem(malformed, 400)["detail"]
    wrong_type = assert_problem(await client.put(url, json={"decision_days": "soon"}, headers=chiyoda), 422)
    assert wrong_type["errors"][0]["field"] == "decision_days"
    unknown = assert_problem(await client.put(url, json={"decision_dayz": 3}, headers=chiyoda), 422)
    assert "decision_dayz" in unknown["detail"]
    out_of_range = assert_problem(await client.put(url, json={"decision_days": 0}, headers=chiyoda), 422)
    assert out_of_range["errors"][0]["field"] == "decision_days"
    huge = b'{"contact_name": "' + b"x" * 13_000_000 + b'"}'
    assert_problem(await client.put(url, content=huge, headers={**chiyoda, "Content-Type": "application/json"}), 413)
    assert_problem(await client.get("/v1/municipalities?limit=0", headers=chiyoda), 422)
    assert_problem(await client.get("/v1/municipalities?limit=ten", headers=chiyoda), 422)
    assert_problem(await client.get("/v1/municipalities?after=!!", headers=chiyoda), 422)
    assert_problem(await client.delete("/v1/keys/not-a-uuid", headers=chiyoda), 422)
    assert_problem(await client.get("/v1/nowhere", headers=chiyoda), 404)
    assert_problem(await client.patch("/v1/prefectures", headers=chiyoda), 405)
    # Nothing was written by any of the failed requests.
    assert (await client.get(url, headers=chiyoda)).json()["version"] == 0


async def test_health_and_request_ids(client: AsyncTestClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}  # no versions for anyone to read
    r = await client.get("/v1/prefectures", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123" and r.json()["request_id"] == "abc-123"


async def test_docs_page_needs_no_third_party_host(client: AsyncTestClient) -> None:
    page = await client.get("/schema/docs")
    assert page.status_code == 200
    scripts = [s for s in page.text.split('"') if s.endswith((".js", ".css"))]
    assert scripts and all(s.startswith("/schema/assets/") for s in scripts), scripts
    for asset in scripts:
        assert (await client.get(asset)).status_code == 200
    assert "cdn." not in page.text and "unpkg" not in page.text
    assert (await client.get("/schema/openapi.json")).json()["info"]["title"] == "Kyodo Registry"
