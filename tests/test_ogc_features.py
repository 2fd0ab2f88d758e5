"""OGC API - Features under /ogc: the same catalogue, masking and tenants as /v1/assets, in any offered CRS."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from pyproj import Transformer

from tests.assets_fixture import CHIYODA, OSAKA_CITY, SHINJUKU, fixture_assets, publish
from tests.conftest import assert_problem

EXACT = [139.7581234, 35.6912345]
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


async def _publish_fixture(client: AsyncTestClient, make_key, n: int = 12) -> dict[str, list[dict]]:
    """Every third asset restricted; returns the published features by municipality."""
    out: dict[str, list[dict]] = {}
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU, OSAKA_CITY)}
    for i, asset in enumerate(fixture_assets(n)):
        code = asset["municipality_code"]
        body = {**asset, "visibility": "restricted" if i % 3 == 0 else "public"}
        out.setdefault(code, []).append(await publish(client, keys[code], body))
    return out


async def _all_items(client: AsyncTestClient, headers: dict, params: dict, limit: int = 5) -> list[dict]:
    """Every feature, following next links."""
    features: list[dict] = []
    r = await client.get("/ogc/collections/assets/items", params={**params, "limit": limit}, headers=headers)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["numberReturned"] == len(body["features"]) <= limit
        features += body["features"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return features
        r = await client.get(nxt[0], headers=headers)


async def _all_v1(client: AsyncTestClient, headers: dict, params: dict) -> list[dict]:
    r = await client.get("/v1/assets", params={**params, "limit": 1000}, headers=headers)
    assert r.status_code == 200 and "next" not in r.json()
    return r.json()["features"]


async def test_anonymous_gets_401(client: AsyncTestClient) -> None:
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/assets/items"):
        assert_problem(await client.get(path), 401)


async def test_landing_conformance_and_collections(client: AsyncTestClient, make_key) -> None:
    headers = await make_key("carrier", "docomo")
    landing = (await client.get("/ogc", headers=headers)).json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert (await client.get(rels["service-desc"], headers=headers)).status_code == 200
    conf = (await client.get("/ogc/conformance", headers=headers)).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    found = (await client.get("/ogc/collections", headers=headers)).json()["collections"]
    assert {c["id"] for c in found} == {"assets", "priority-areas", "municipalities", "coverage-gaps"}
    one = (await client.get("/ogc/collections/assets", headers=headers)).json()
    assert EPSG + "6677" in one["crs"] and len([c for c in one["crs"] if c.startswith(EPSG + "66")]) == 20
    assert_problem(await client.get("/ogc/collections/nothing", headers=headers), 404)


async def test_plane_rectangular_output_matches_pyproj(client: AsyncTestClient, make_key, owner) -> None:
    headers = await make_key("municipality", CHIYODA)
    for asset in fixture_assets(10)[:10]:
        await publish(client, headers, asset)
    r = await client.get("/ogc/collections/assets/items", headers=headers,
                         params={"municipality": CHIYODA, "crs": EPSG + "6677", "limit": 100})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.headers["content-crs"] == f"<{EPSG}6677>"
    stored = {row["id"]: (row["lon"], row["lat"]) for row in await owner.fetch(
        "select asset_id::text as id, ST_X(geom) as lon, ST_Y(geom) as lat from assets where municipality_code = $1",
        CHIYODA)}
    # Authority axis order: EPSG:4326 takes latitude first, EPSG:6677 gives X (northing) first.
    to_plane = Transformer.from_crs("EPSG:4326", "EPSG:6677")
    features = r.json()["features"]
    assert len(features) == len(stored) == 10
    for f in features:
        lon, lat = stored[f["id"]]
        north, east = to_plane.transform(lat, lon)
        x, y = f["geometry"]["coordinates"]
        assert abs(x - north) < 0.01 and abs(y - east) < 0.01, (f["id"], x, y, north, east)
    one = (await client.get(f"/ogc/collections/assets/items/{features[0]['id']}", headers=headers,
                            params={"crs": EPSG + "6677"})).json()
    assert one["geometry"] == features[0]["geometry"]


async def test_bbox_in_another_crs_and_epsg4326_axis_order(client: AsyncTestClient, make_key, owner) -> None:
    headers = await make_key("municipality", CHIYODA)
    for asset in fixture_assets(15)[:15]:
        await publish(client, headers, asset)
    to_plane = Transformer.from_crs("EPSG:4326", "EPSG:6677")
    s, w = to_plane.transform(35.685, 139.745)
    n, e = to_plane.transform(35.705, 139.765)
    box = f"{s},{w},{n},{e}"  # northing first, as EPSG:6677 orders its axes
    got = await _all_items(client, headers, {"bbox": box, "bbox-crs": EPSG + "6677"})
    # A plane box is a slightly curved box in degrees: compare away from its edges only.
    inner = await owner.fetchval("select count(*) from assets where geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)",
                                 139.7452, 35.6852, 139.7648, 35.7048)
    outer = await owner.fetchval("select count(*) from assets where geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)",
                                 139.7448, 35.6848, 139.7652, 35.7052)
    assert inner <= len(got) <= outer and len(got) > 0
    latlon = (await client.get("/ogc/collections/assets/items", headers=headers,
                               params={"crs": EPSG + "4326", "limit": 1})).json()["features"][0]
    lon, lat = await owner.fetchrow("select ST_X(geom), ST_Y(geom) from assets where asset_id = $1", latlon["id"])
    assert latlon["geometry"]["coordinates"] == [round(lat, 7), round(lon, 7)]


async def test_restricted_asset_is_masked_for_carriers(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    carrier = await make_key("carrier", "docomo")
    body = {"source_id": "S-1", "category": "streetlight", "name": "light", "address": "千代田区 秘密の場所 1-1",
            "geometry": {"type": "Point", "coordinates": EXACT}, "visibility": "restricted"}
    asset_id = (await client.post("/v1/assets", json=body, headers=chiyoda)).json()["id"]
    shown_v1 = (await client.get(f"/v1/assets/{asset_id}", headers=carrier)).json()["geometry"]["coordinates"]
    listed = (await client.get("/ogc/collections/assets/items", params={"municipality": CHIYODA},
                               headers=carrier)).json()["features"]
    one = (await client.get(f"/ogc/collections/assets/items/{asset_id}", headers=carrier)).json()
    for feature in (listed[0], one):
        assert feature["geometry"]["coordinates"] != EXACT
        assert feature["geometry"]["coordinates"] == shown_v1
        assert feature["properties"]["address"] is None and feature["properties"]["coarse_location"]
    tiny = f"{EXACT[0] - 1e-5},{EXACT[1] - 1e-5},{EXACT[0] + 1e-5},{EXACT[1] + 1e-5}"
    hidden = await client.get("/ogc/collections/assets/items", params={"bbox": tiny}, headers=carrier)
    assert hidden.json()["features"] == []
    own = (await client.get(f"/ogc/collections/assets/items/{asset_id}", headers=chiyoda)).json()
    assert own["geometry"]["coordinates"] == EXACT
    found = (await client.get("/ogc/collections/assets/items", params={"bbox": tiny}, headers=chiyoda)).json()
    assert [f["id"] for f in found["features"]] == [asset_id]


@pytest.mark.parametrize(("role", "tenant"), [("carrier", "kddi"), ("municipality", OSAKA_CITY),
                                              ("prefecture", "270008"), ("municipality", SHINJUKU)])
async def test_everyone_sees_what_v1_shows_them(client: AsyncTestClient, make_key, role: str, tenant: str) -> None:
    await _publish_fixture(client, make_key)
    headers = await make_key(role, tenant)
    for code in (CHIYODA, SHINJUKU, OSAKA_CITY):
        ogc = await _all_items(client, headers, {"municipality": code})
        v1 = await _all_v1(client, headers, {"municipality": code})
        assert {(f["id"], tuple(f["geometry"]["coordinates"])) for f in ogc} == \
            {(f["id"], tuple(f["geometry"]["coordinates"])) for f in v1}
        assert len(ogc) == len(v1) == 12


async def test_paging_forward_and_back_and_count(client: AsyncTestClient, make_key) -> None:
    await _publish_fixture(client, make_key)
    headers = await make_key("carrier", "docomo")
    forward = await _all_items(client, headers, {}, limit=7)
    assert len(forward) == 36 == len({f["id"] for f in forward})
    counted = (await client.get("/ogc/collections/assets/items", params={"count": "true", "limit": 1},
                                headers=headers)).json()
    assert counted["numberMatched"] == 36
    # From the last page back to the first by prev links: the same features in the same order.
    r = await client.get("/ogc/collections/assets/items", params={"limit": 7}, headers=headers)
    pages = [r.json()]
    while nxt := [link["href"] for link in pages[-1]["links"] if link["rel"] == "next"]:
        pages.append((await client.get(nxt[0], headers=headers)).json())
    back, page = [pages[-1]["features"]], pages[-1]
    while prev := [link["href"] for link in page["links"] if link["rel"] == "prev"]:
        page = (await client.get(prev[0], headers=headers)).json()
        back.append(page["features"])
    assert len(back) == len(pages) == 6
    assert [f["id"] for page in reversed(back) for f in page] == [f["id"] for f in forward]


async def test_datetime_filters_on_updated_at(client: AsyncTestClient, make_key, owner) -> None:
    headers = await make_key("municipality", CHIYODA)
    for asset in fixture_assets(4)[:4]:
        await publish(client, headers, asset)
    await owner.execute("update assets set updated_at = '2024-01-01T00:00:00Z' where source_id like '%-000'")
    old = await _all_items(client, headers, {"datetime": "../2024-06-01T00:00:00Z"})
    new = await _all_items(client, headers, {"datetime": "2024-06-01T00:00:00Z/.."})
    expected_old = {r[0] for r in await owner.fetch(
        "select asset_id::text from assets where updated_at <= '2024-06-01T00:00:00Z'")}
    assert {f["id"] for f in old} == expected_old and len(expected_old) == 1
    assert len(new) == 3
    assert_problem(await client.get("/ogc/collections/assets/items", params={"datetime": "yesterday"},
                                    headers=headers), 422)


async def test_municipalities_are_town_halls_with_kana(client: AsyncTestClient, make_key, owner) -> None:
    headers = await make_key("carrier", "docomo")
    one = (await client.get(f"/ogc/collections/municipalities/items/{CHIYODA}", headers=headers)).json()
    row = await owner.fetchrow("select name, kana, ST_X(town_hall) as x, ST_Y(town_hall) as y from municipalities "
                               "where code = $1", CHIYODA)
    assert one["properties"]["name"] == row["name"] and one["properties"]["kana"] == row["kana"]
    assert one["geometry"]["coordinates"] == [round(row["x"], 7), round(row["y"], 7)]
    box = "139.0,35.5,140.0,36.0"
    page = (await client.get("/ogc/collections/municipalities/items", headers=headers,
                             params={"bbox": box, "count": "true", "limit": 1000})).json()
    expected = await owner.fetchval("select count(*) from municipalities where town_hall && "
                                    "ST_MakeEnvelope(139.0, 35.5, 140.0, 36.0, 4326)")
    assert page["numberMatched"] == page["numberReturned"] == expected > 20
    assert_problem(await client.get("/ogc/collections/municipalities/items/131017", headers=headers), 422)
    assert_problem(await client.get("/ogc/collections/assets/items/0", headers=headers), 422)
    # A well-formed id of the other kind names no feature of the collection.
    assert_problem(await client.get(f"/ogc/collections/assets/items/{CHIYODA}", headers=headers), 404)
    uuid = "00000000-0000-4000-8000-000000000000"
    assert_problem(await client.get(f"/ogc/collections/municipalities/items/{uuid}", headers=headers), 404)


async def test_coverage_gaps_are_areas_without_offered_assets(client: AsyncTestClient, make_key) -> None:
    tokyo = await make_key("prefecture", "130001")
    chiyoda = await make_key("municipality", CHIYODA)

    def square(lon: float, lat: float) -> dict:
        d = 0.002
        return {"type": "Polygon", "coordinates": [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                                                     [lon - d, lat + d], [lon - d, lat - d]]]}

    ids = []
    for i, (lon, lat) in enumerate([(139.75, 35.69), (139.76, 35.70)]):
        r = await client.post("/v1/priority-areas", json={"kind": "major_station", "name": f"area {i}",
                                                          "geometry": square(lon, lat)}, headers=tokyo)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    await client.post("/v1/assets", json={"source_id": "G-1", "category": "rooftop", "name": "roof",
                                          "availability": "offered",
                                          "geometry": {"type": "Point", "coordinates": [139.75, 35.69]}},
                      headers=chiyoda)
    areas = (await client.get("/ogc/collections/priority-areas/items", headers=tokyo)).json()["features"]
    gaps = (await client.get("/ogc/collections/coverage-gaps/items", headers=tokyo)).json()["features"]
    coverage = (await client.get("/v1/priority-areas/coverage", headers=tokyo)).json()
    assert {f["id"] for f in areas} == set(ids)
    assert {f["id"] for f in gaps} == {a["area_id"] for a in coverage["gaps"]} == {ids[1]}
