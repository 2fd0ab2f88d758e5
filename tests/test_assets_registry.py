"""Municipal staff manage their assets: create, read, update with If-Match, withdraw, audit."""

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.assets_fixture import CHIYODA, SHINJUKU
from tests.conftest import assert_problem

ROOFTOP = {
    "source_id": "R-001", "category": "rooftop", "name": "千代田区役所 屋上", "address": "千代田区九段南1-2-1",
    "geometry": {"type": "Polygon", "coordinates": [[[139.7530, 35.6935], [139.7540, 35.6935], [139.7540, 35.6942],
                                                     [139.7530, 35.6942], [139.7530, 35.6935]]]},
    "height_m": 45.0, "mountable_height_m": 40.0, "spare_load_kg": 800, "power": "yes", "fibre_distance_m": 20,
    "area_m2": 900, "availability": "offered", "max_tenants": 2, "constraints": ["landscape ordinance"],
    "permit_type": "use_permit", "contact": "情報政策課", "last_verified": "2026-10-01",
}


async def test_create_read_update_withdraw(client: AsyncTestClient, make_key, owner: asyncpg.Connection) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    r = await client.post("/v1/assets", json=ROOFTOP, headers=chiyoda)
    assert r.status_code == 201, r.text
    created = r.json()
    asset_id = created["id"]
    assert r.headers["etag"] == '"1"' and r.headers["location"] == f"/v1/assets/{asset_id}"
    assert created["geometry"]["type"] == "Polygon" and created["properties"]["municipality_code"] == CHIYODA

    got = await client.get(f"/v1/assets/{asset_id}", headers=chiyoda)
    assert got.headers["content-type"].startswith("application/geo+json")
    assert got.json()["properties"]["constraints"] == ["landscape ordinance"]

    url = f"/v1/assets/{asset_id}"
    assert_problem(await client.patch(url, json={"height_m": 50}, headers=chiyoda), 428)
    r = await client.patch(url, json={"height_m": 50, "address": None}, headers={**chiyoda, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["height_m"] == 50 and r.json()["properties"]["address"] is None
    assert r.json()["properties"]["name"] == ROOFTOP["name"] and r.headers["etag"] == '"2"'
    assert_problem(await client.patch(url, json={"height_m": 51}, headers={**chiyoda, "If-Match": '"1"'}), 412)
    # A change that breaks a rule of the whole asset is refused and changes nothing.
    assert_problem(await client.patch(url, json={"height_m": 10}, headers={**chiyoda, "If-Match": '"2"'}), 422)

    r = await client.delete(url, headers={**chiyoda, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["properties"]["status"] == "withdrawn"
    assert_problem(await client.delete(url, headers={**chiyoda, "If-Match": '"3"'}), 409)

    audit = await owner.fetch("select op, version, actor_role, actor_tenant, before is null as first "
                              "from asset_audit where asset_id = $1 order by audit_id", asset_id)
    assert [(a["op"], a["version"]) for a in audit] == [("create", 1), ("update", 2), ("withdraw", 3)]
    assert all(a["actor_tenant"] == CHIYODA and a["actor_role"] == "municipality" for a in audit)
    assert audit[0]["first"] and not audit[1]["first"]

    history = (await client.get(f"{url}/history", headers=chiyoda)).json()["versions"]
    assert [(v["version"], v["op"]) for v in history] == [(1, "create"), (2, "update"), (3, "withdraw")]
    assert [v["state"]["height_m"] for v in history] == [45.0, 50.0, 50.0]
    assert [v["state"]["address"] for v in history] == [ROOFTOP["address"], None, None]
    assert [v["state"]["status"] for v in history] == ["published", "published", "withdrawn"]
    shinjuku = await make_key("municipality", SHINJUKU)
    assert_problem(await client.get(f"{url}/history", headers=shinjuku), 404)
    assert_problem(await client.get(f"{url}/history", headers=await make_key("carrier", "docomo")), 403)


async def test_audit_log_is_append_only(owner: asyncpg.Connection, make_key, client: AsyncTestClient) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    await client.post("/v1/assets", json=ROOFTOP, headers=chiyoda)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await owner.execute("update asset_audit set op = 'update'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await owner.execute("delete from asset_audit")
    assert await owner.fetchval("select count(*) from asset_audit") == 1


async def test_idempotency_key(client: AsyncTestClient, make_key, owner: asyncpg.Connection) -> None:
    chiyoda = {**(await make_key("municipality", CHIYODA)), "Idempotency-Key": "a8f1c0de-1"}
    first = await client.post("/v1/assets", json=ROOFTOP, headers=chiyoda)
    again = await client.post("/v1/assets", json=ROOFTOP, headers=chiyoda)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"] and again.headers["location"] == first.headers["location"]
    assert await owner.fetchval("select count(*) from assets") == 1
    different = {**ROOFTOP, "name": "another"}
    body = assert_problem(await client.post("/v1/assets", json=different, headers=chiyoda), 422)
    assert "Idempotency-Key" in body["detail"]
    # Without the key, the same body is a conflict on the owner's id, not a second asset.
    plain = {k: v for k, v in chiyoda.items() if k != "Idempotency-Key"}
    assert "R-001" in assert_problem(await client.post("/v1/assets", json=ROOFTOP, headers=plain), 409)["detail"]
    assert await owner.fetchval("select count(*) from assets") == 1


async def test_tenants_cannot_touch_each_others_assets(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    shinjuku = await make_key("municipality", SHINJUKU)
    carrier = await make_key("carrier", "docomo")
    osaka = await make_key("prefecture", "270008")
    draft = {**ROOFTOP, "status": "draft"}
    asset_id = (await client.post("/v1/assets", json=draft, headers=chiyoda)).json()["id"]
    url = f"/v1/assets/{asset_id}"
    for headers in (shinjuku, carrier, osaka):
        assert_problem(await client.get(url, headers=headers), 404)
    assert_problem(await client.patch(url, json={"name": "x"}, headers={**shinjuku, "If-Match": '"1"'}), 404)
    assert_problem(await client.delete(url, headers={**shinjuku, "If-Match": '"1"'}), 404)
    assert_problem(await client.patch(url, json={"name": "x"}, headers={**carrier, "If-Match": '"1"'}), 403)
    assert_problem(await client.post("/v1/assets", json=ROOFTOP, headers=carrier), 403)
    assert_problem(await client.post("/v1/assets", json={**ROOFTOP, "municipality_code": CHIYODA},
                                     headers=shinjuku), 403)
    assert_problem(await client.get(f"/v1/municipalities/{CHIYODA}/assets", headers=shinjuku), 404)
    assert_problem(await client.get(f"/v1/municipalities/{CHIYODA}/assets", headers=carrier), 403)
    tokyo = await make_key("prefecture", "130001")
    own = (await client.get(f"/v1/municipalities/{CHIYODA}/assets?status=draft", headers=tokyo)).json()
    assert [f["id"] for f in own["features"]] == [asset_id]


BAD_GEOMETRIES = {
    "self-intersecting": {"type": "Polygon", "coordinates": [[[139.753, 35.693], [139.754, 35.694],
                                                              [139.754, 35.693], [139.753, 35.694],
                                                              [139.753, 35.693]]]},
    "pacific": {"type": "Point", "coordinates": [150.5, 30.0]},
    "outside japan": {"type": "Point", "coordinates": [-150.5, 30.0]},
    "swapped": {"type": "Point", "coordinates": [35.6938, 139.7536]},
    "unclosed": {"type": "Polygon", "coordinates": [[[139.753, 35.693], [139.754, 35.693], [139.754, 35.694],
                                                     [139.753, 35.6941]]]},
    "line": {"type": "LineString", "coordinates": [[139.753, 35.693], [139.754, 35.693]]},
    "one coordinate": {"type": "Point", "coordinates": [139.7]},
}


@pytest.mark.parametrize("case", list(BAD_GEOMETRIES))
async def test_bad_geometry_is_422(client: AsyncTestClient, make_key, owner: asyncpg.Connection, case: str) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    body = assert_problem(await client.post("/v1/assets", json={**ROOFTOP, "geometry": BAD_GEOMETRIES[case]},
                                            headers=chiyoda), 422)
    assert "geometry" in body["detail"]
    if case == "swapped":
        assert "longitude first" in body["detail"]
    if case == "self-intersecting":
        assert "Self-intersection" in body["detail"]
    if case == "pacific":
        assert "km from the town hall" in body["detail"]
    assert await owner.fetchval("select count(*) from assets") == 0


async def test_huge_polygons_are_refused(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    import math

    def circle(n: int) -> dict:
        ring = [[139.7536 + 0.001 * math.cos(2 * math.pi * i / n), 35.6938 + 0.001 * math.sin(2 * math.pi * i / n)]
                for i in range(n)]
        return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}

    many = await client.post("/v1/assets", json={**ROOFTOP, "geometry": circle(6000)}, headers=chiyoda)
    assert "vertices" in assert_problem(many, 422)["detail"]
    ten_mb = await client.post("/v1/assets", json={**ROOFTOP, "geometry": circle(300_000)}, headers=chiyoda)
    assert_problem(ten_mb, 413)


async def test_polygons_only_for_land_and_rooftops(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    body = assert_problem(await client.post("/v1/assets", json={**ROOFTOP, "category": "streetlight"},
                                            headers=chiyoda), 422)
    assert "Point" in body["detail"]
