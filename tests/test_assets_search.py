"""Catalogue search, checked against shapely and pyproj on the same fixture points."""

import io
import json
import subprocess
from collections import Counter

import geopandas as gpd
import pandas as pd
import pytest
from litestar.testing import AsyncTestClient
from pyproj import Geod
from shapely.geometry import Point, box, shape

from tests.assets_fixture import CHIYODA, OSAKA_CITY, SHINJUKU, fixture_assets, publish
from tests.conftest import assert_problem

GEOD = Geod(ellps="WGS84")


@pytest.fixture
async def published(client: AsyncTestClient, make_key) -> list[dict]:
    assets = fixture_assets()
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU, OSAKA_CITY)}
    for a in assets:
        await publish(client, keys[a["municipality_code"]], a)
    return assets


async def _all_ids(client: AsyncTestClient, headers: dict, url: str, params: dict | None = None) -> list[str]:
    """Follow `next` links to the end; return the source ids in the order served."""
    ids: list[str] = []
    r = await client.get(url, params=params or {}, headers=headers)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [f["properties"]["source_id"] for f in body["features"]]
        if not body.get("next"):
            return ids
        r = await client.get(body["next"], headers=headers)


def _expected(assets: list[dict], keep) -> set[str]:
    return {a["source_id"] for a in assets if keep(a)}


async def test_bbox_matches_shapely(client: AsyncTestClient, make_key, published: list[dict]) -> None:
    carrier = await make_key("carrier", "docomo")
    bounds = (139.70, 35.68, 139.75, 35.70)
    got = await _all_ids(client, carrier, "/v1/assets", {"bbox": ",".join(map(str, bounds)), "limit": 7})
    area = box(*bounds)
    expected = _expected(published, lambda a: area.intersects(shape(a["geometry"])))
    assert len(got) == len(set(got)) and set(got) == expected and 0 < len(expected) < len(published)


async def test_bbox_with_no_hits(client: AsyncTestClient, make_key, published: list[dict]) -> None:
    carrier = await make_key("carrier", "docomo")
    r = await client.get("/v1/assets", params={"bbox": "141.0,43.0,141.1,43.1"}, headers=carrier)
    assert r.status_code == 200 and r.json()["features"] == [] and r.json()["type"] == "FeatureCollection"


async def test_radius_across_a_municipal_border_matches_geodesic_distance(
        client: AsyncTestClient, make_key, published: list[dict]) -> None:
    carrier = await make_key("carrier", "kddi")
    # Halfway between the Chiyoda and Shinjuku town halls: the circle takes in assets of both.
    lon, lat, radius = 139.7286, 35.6939, 2500
    r = await client.get("/v1/assets", params={"near": f"{lon},{lat}", "radius": radius, "limit": 1000},
                         headers=carrier)
    features = r.json()["features"]

    def distance(a: dict) -> float:
        x, y = a["geometry"]["coordinates"]
        return GEOD.inv(lon, lat, x, y)[2]

    expected = _expected(published, lambda a: distance(a) <= radius)
    got = [f["properties"]["source_id"] for f in features]
    assert set(got) == expected
    assert {a[:6] for a in expected} == {CHIYODA, SHINJUKU}
    served = [f["properties"]["distance_m"] for f in features]
    assert served == sorted(served)
    by_id = {a["source_id"]: a for a in published}
    for f in features:
        assert f["properties"]["distance_m"] == pytest.approx(distance(by_id[f["properties"]["source_id"]]), abs=1.0)
    # Paging through the same circle three at a time gives the same order.
    paged = await _all_ids(client, carrier, "/v1/assets", {"near": f"{lon},{lat}", "radius": radius, "limit": 3})
    assert paged == got


async def test_within_polygon_get_and_post(client: AsyncTestClient, make_key, published: list[dict]) -> None:
    tokyo = await make_key("prefecture", "130001")
    polygon = {"type": "Polygon", "coordinates": [[[139.68, 35.68], [139.76, 35.69], [139.74, 35.71],
                                                   [139.69, 35.705], [139.68, 35.68]]]}
    expected = _expected(published, lambda a: shape(polygon).intersects(shape(a["geometry"])))
    got = await _all_ids(client, tokyo, "/v1/assets", {"within": json.dumps(polygon), "limit": 1000})
    assert set(got) == expected and expected
    r = await client.post("/v1/assets/search", json={"within": polygon, "limit": 1000}, headers=tokyo)
    assert {f["properties"]["source_id"] for f in r.json()["features"]} == expected


@pytest.mark.parametrize(("params", "keep"), [
    ({"category": "rooftop,bus_stop"}, lambda a: a["category"] in ("rooftop", "bus_stop")),
    ({"availability": "offered"}, lambda a: a["availability"] == "offered"),
    ({"min_height": 30}, lambda a: a["height_m"] >= 30),
    ({"power": "yes"}, lambda a: a["power"] == "yes"),
    ({"max_fibre_distance": 250}, lambda a: a["fibre_distance_m"] <= 250),
    ({"municipality": SHINJUKU}, lambda a: a["municipality_code"] == SHINJUKU),
    ({"prefecture": "27"}, lambda a: a["municipality_code"].startswith("27")),
    ({"prefecture": "130001", "power": "no", "min_height": 10},
     lambda a: a["municipality_code"].startswith("13") and a["power"] == "no" and a["height_m"] >= 10),
])
async def test_attribute_filters(client: AsyncTestClient, make_key, published: list[dict], params, keep) -> None:
    carrier = await make_key("carrier", "softbank")
    got = await _all_ids(client, carrier, "/v1/assets", {**params, "limit": 1000})
    expected = _expected(published, keep)
    assert set(got) == expected and expected


async def test_count_and_updated_since(client: AsyncTestClient, make_key, published: list[dict], owner) -> None:
    carrier = await make_key("carrier", "docomo")
    # Osaka's assets were last changed years ago; only Tokyo's count as recent.
    await owner.execute("update assets set updated_at = '2020-01-01' where municipality_code = $1", OSAKA_CITY)
    recent = await _all_ids(client, carrier, "/v1/assets", {"updated_since": "2021-01-01T00:00:00Z", "limit": 1000})
    assert set(recent) == _expected(published, lambda a: a["municipality_code"] != OSAKA_CITY)
    r = await client.get("/v1/assets", params={"count": "true", "limit": 5, "prefecture": "13"}, headers=carrier)
    assert r.json()["numberMatched"] == 60 and r.json()["numberReturned"] == 5
    assert 'rel="next"' in r.headers["link"]
    r = await client.get("/v1/assets", params={"updated_since": "2999-01-01T00:00:00Z"}, headers=carrier)
    assert r.json()["features"] == []


async def test_geojson_answer_is_a_valid_layer(client: AsyncTestClient, make_key, published: list[dict],
                                               tmp_path) -> None:
    carrier = await make_key("carrier", "docomo")
    r = await client.get("/v1/assets", params={"prefecture": "13", "limit": 1000}, headers=carrier)
    assert r.headers["content-type"].startswith("application/geo+json")
    path = tmp_path / "assets.geojson"
    path.write_bytes(r.content)
    frame = gpd.read_file(path)
    assert len(frame) == 60 and frame.crs.to_epsg() == 4326 and frame.geometry.is_valid.all()
    info = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True)  # noqa: ASYNC221
    assert "Feature Count: 60" in info.stdout and "Point" in info.stdout


async def test_csv_opens_in_pandas_in_utf8_and_cp932(client: AsyncTestClient, make_key, published: list[dict]
                                                     ) -> None:
    carrier = await make_key("carrier", "docomo")
    r = await client.get("/v1/assets", params={"prefecture": "13", "limit": 1000},
                         headers={**carrier, "Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv") and r.content.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig", dtype={"municipality_code": str})
    assert list(frame.columns[:8]) == ["asset_id", "municipality_code", "source_id", "category", "name", "address",
                                       "longitude", "latitude"]
    assert len(frame) == 60 and set(frame["municipality_code"]) == {CHIYODA, SHINJUKU}
    by_id = {a["source_id"]: a for a in fixture_assets()}
    for row in frame.itertuples():
        assert [row.longitude, row.latitude] == pytest.approx(by_id[row.source_id]["geometry"]["coordinates"])
    r = await client.get("/v1/assets", params={"prefecture": "13", "f": "csv", "encoding": "cp932"}, headers=carrier)
    frame = pd.read_csv(io.BytesIO(r.content), encoding="cp932")
    assert len(frame) == 60


async def test_stats_match_the_fixture(client: AsyncTestClient, make_key, published: list[dict]) -> None:
    tokyo = await make_key("prefecture", "130001")
    r = (await client.get("/v1/stats/assets", params={"group_by": "prefecture"}, headers=tokyo)).json()
    assert {g["key"]: g["count"] for g in r["groups"]} == {"13": 60, "27": 30} and r["total"] == 90
    assert {g["label"] for g in r["groups"]} == {"東京都", "大阪府"}
    r = (await client.get("/v1/stats/assets", params={"group_by": "category"}, headers=tokyo)).json()
    assert {g["key"]: g["count"] for g in r["groups"]} == dict(Counter(a["category"] for a in published))
    r = (await client.get("/v1/stats/assets", params={"group_by": "municipality", "prefecture": "13"},
                          headers=tokyo)).json()
    assert {g["key"]: g["count"] for g in r["groups"]} == {CHIYODA: 30, SHINJUKU: 30}
    assert_problem(await client.get("/v1/stats/assets", params={"group_by": "colour"}, headers=tokyo), 422)


@pytest.mark.parametrize(("params", "needle"), [
    ({"bbox": "139.7,35.6,139.8"}, "4 comma-separated"),
    ({"bbox": "139.8,35.6,139.7,35.7"}, "min < max"),
    ({"bbox": "35.6,139.7,35.7,139.8"}, "latitude"),
    ({"bbox": "a,b,c,d"}, "not a number"),
    ({"near": "139.7,35.6", "radius": 0}, "1 to 50,000"),
    ({"near": "139.7,35.6", "radius": 1_000_000}, "1 to 50,000"),
    ({"near": "139.7,35.6"}, "required"),
    ({"near": "35.6,139.7", "radius": 100}, "longitude first"),
    ({"radius": 100}, "goes with near"),
    ({"bbox": "139.7,35.6,139.8,35.7", "near": "139.7,35.6", "radius": 5}, "not bbox and near"),
    ({"category": "antenna"}, "unknown value"),
    ({"within": '{"type":"Point","coordinates":[139,35]}'}, "Polygon"),
    ({"municipality": "131017"}, "131016"),
    ({"limit": 5000}, "between 1 and 1000"),
    ({"after": "bogus"}, "cursor"),
    ({"f": "csv", "encoding": "latin-1"}, "cp932"),
])
async def test_bad_search_parameters(client: AsyncTestClient, make_key, params: dict, needle: str) -> None:
    carrier = await make_key("carrier", "docomo")
    body = assert_problem(await client.get("/v1/assets", params=params, headers=carrier), 422)
    assert needle in body["detail"], body["detail"]


async def test_within_polygon_too_large(client: AsyncTestClient, make_key) -> None:
    carrier = await make_key("carrier", "docomo")
    ring = [[139.7 + i * 1e-5, 35.6 + (i % 2) * 1e-3] for i in range(12_000)] + [[139.7, 35.6]]
    body = {"within": {"type": "Polygon", "coordinates": [ring]}}
    assert "vertices" in assert_problem(await client.post("/v1/assets/search", json=body, headers=carrier),
                                        422)["detail"]


def test_fixture_is_spread_over_three_municipalities() -> None:
    assets = fixture_assets()
    assert Counter(a["municipality_code"] for a in assets) == {CHIYODA: 30, SHINJUKU: 30, OSAKA_CITY: 30}
    assert all(Point(a["geometry"]["coordinates"]).is_valid for a in assets)


async def test_bbox_is_exact_at_its_edges(client: AsyncTestClient, make_key) -> None:
    """Points a few centimetres either side of each edge: the answer is exactly those shapely puts in the box.

    PostGIS's && alone compares float4 boxes, rounded outwards, and let points up to ~3 m outside through."""
    chiyoda = await make_key("municipality", CHIYODA)
    bounds = (139.7512345, 35.6912345, 139.7587654, 35.6987654)
    minx, miny, maxx, maxy = bounds
    positions = []
    for offset in (-3e-5, -1e-6, -1e-7, 0.0, 1e-7, 1e-6, 3e-5):  # 1e-7 degrees is about a centimetre
        for x, y in ((minx + offset, (miny + maxy) / 2), (maxx + offset, (miny + maxy) / 2),
                     ((minx + maxx) / 2, miny + offset), ((minx + maxx) / 2, maxy + offset)):
            positions.append((round(x, 7), round(y, 7)))
    positions += [(minx, miny), (maxx, maxy), (round(maxx + 1e-7, 7), round(maxy + 1e-7, 7))]
    for i, (x, y) in enumerate(positions):
        r = await client.post("/v1/assets", headers=chiyoda, json={
            "source_id": f"edge-{i}", "category": "streetlight", "name": f"edge {i}",
            "geometry": {"type": "Point", "coordinates": [x, y]}, "visibility": "public"})
        assert r.status_code == 201, r.text
    carrier = await make_key("carrier", "docomo")
    got = await _all_ids(client, carrier, "/v1/assets", {"bbox": ",".join(map(str, bounds)), "limit": 5})
    area = box(*bounds)
    expected = {f"edge-{i}" for i, (x, y) in enumerate(positions) if area.intersects(Point(x, y))}
    assert len(got) == len(set(got)) and set(got) == expected
    assert 0 < len(expected) < len(positions)


async def test_search_json_is_the_feature_the_asset_route_writes(client: AsyncTestClient, make_key,
                                                                 published: list[dict]) -> None:
    """The search's features are written by PostgreSQL; GET /v1/assets/{id} still encodes a Struct. Both
    must read the same, key for key, in the same order and with the same strings (near adds distance_m).
    One difference is allowed: PostgreSQL writes a whole float as 121 where msgspec writes 121.0, the
    same JSON number; both are read with every number as a float."""
    carrier = await make_key("carrier", "docomo")
    for params in ({"bbox": "139.70,35.67,139.78,35.71", "limit": 1000},
                   {"near": "139.7536,35.6939", "radius": 3000, "limit": 1000}):
        r = await client.get("/v1/assets", params=params, headers=carrier)
        features = json.loads(r.text, parse_int=float)["features"]
        assert len(features) > 10
        for f in features:
            one = json.loads((await client.get(f"/v1/assets/{f['id']}", headers=carrier)).text, parse_int=float)
            distance = f["properties"].pop("distance_m")
            assert (distance is None) == ("near" not in params)
            one["properties"].pop("distance_m", None)
            assert json.dumps(f) == json.dumps(one), (f, one)
