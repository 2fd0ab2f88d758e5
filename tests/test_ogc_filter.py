"""OGC API - Features Part 3: queryables and CQL2 filters on /ogc items, checked against /v1/assets, GDAL's own
OAPIF driver and the masking every other path applies."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from litestar.testing import AsyncTestClient

from tests import served as served_module
from tests.assets_fixture import CHIYODA, OSAKA_CITY, SHINJUKU, fixture_assets, publish
from tests.conftest import assert_problem
from tests.served import free_port, served

ITEMS = "/ogc/collections/assets/items"
RULE = "category='rooftop' AND height_m >= 20"
RULE_JSON = {"op": "and", "args": [{"op": "=", "args": [{"property": "category"}, "rooftop"]},
                                   {"op": ">=", "args": [{"property": "height_m"}, 20]}]}


async def _publish_all(client: AsyncTestClient, make_key, n: int = 30) -> None:
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU, OSAKA_CITY)}
    for i, asset in enumerate(fixture_assets(n)):
        # rooftops often enough that the rule matches a good share, and heights on both sides of 20
        body = {**asset, "category": "rooftop" if i % 2 else asset["category"]}
        await publish(client, keys[asset["municipality_code"]], body)


async def _ids(client: AsyncTestClient, headers: dict, url: str, params: dict) -> list[str]:
    """Every id of a listing, following next links (features in /ogc, features in /v1 as well)."""
    ids: list[str] = []
    r = await client.get(url, params=params, headers=headers)
    while True:
        assert r.status_code == 200, r.text
        ids += [f["id"] for f in r.json()["features"]]
        nxt = [link["href"] for link in r.json().get("links", []) if link["rel"] == "next"]
        if not nxt:
            return ids
        r = await client.get(nxt[0], headers=headers)


async def test_filter_returns_what_v1_search_returns(client: AsyncTestClient, make_key, owner) -> None:
    await _publish_all(client, make_key)
    carrier = await make_key("carrier", "docomo")
    v1 = await _ids(client, carrier, "/v1/assets", {"category": "rooftop", "min_height": 20, "limit": 7})
    text = await _ids(client, carrier, ITEMS, {"filter": RULE, "limit": 7})
    as_json = await _ids(client, carrier, ITEMS, {"filter": json.dumps(RULE_JSON), "filter-lang": "cql2-json",
                                                  "limit": 11})
    # A third answer, from the table itself.
    table = {r[0] for r in await owner.fetch(
        "select asset_id::text from assets where status = 'published' and category = 'rooftop' and height_m >= 20")}
    assert len(table) > 10 and len(table) < 90
    assert sorted(v1) == sorted(text) == sorted(as_json)
    assert set(text) == table and len(text) == len(set(text))
    counted = (await client.get(ITEMS, params={"filter": RULE, "count": "true"}, headers=carrier)).json()
    assert counted["numberMatched"] == len(table)


async def test_filter_combines_with_bbox_datetime_and_municipality(client: AsyncTestClient, make_key, owner) -> None:
    await _publish_all(client, make_key, n=10)
    carrier = await make_key("carrier", "docomo")
    params = {"filter": "availability IN ('offered', 'partly_available') AND NOT (power = 'no')",
              "municipality": CHIYODA, "bbox": "139.70,35.66,139.80,35.72", "datetime": "2000-01-01T00:00:00Z/.."}
    found = await _ids(client, carrier, ITEMS, {**params, "limit": 3})
    expected = {r[0] for r in await owner.fetch(
        "select asset_id::text from assets where status = 'published' and municipality_code = $1 "
        "and availability in ('offered', 'partly_available') and power <> 'no' "
        "and geom && ST_MakeEnvelope(139.70, 35.66, 139.80, 35.72, 4326)", CHIYODA)}
    assert expected and set(found) == expected


async def test_queryables_describe_what_a_filter_may_name(client: AsyncTestClient, make_key) -> None:
    carrier = await make_key("carrier", "kddi")
    collection = (await client.get("/ogc/collections/assets", headers=carrier)).json()
    link = next(x for x in collection["links"] if x["rel"].endswith("/queryables"))
    r = await client.get(link["href"], headers=carrier)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
    schema = r.json()
    assert schema["properties"]["category"]["enum"][0] == "rooftop"
    assert schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    # Every queryable is a property of the features (or their geometry), so a client can filter on what it reads.
    await publish(client, await make_key("municipality", CHIYODA), fixture_assets(1)[0])
    one = (await client.get(ITEMS, headers=carrier)).json()["features"][0]
    assert set(schema["properties"]) - {"geometry"} <= set(one["properties"])
    # Every property the schema lists works in a filter (one it does not list is refused: below).
    for name in schema["properties"]:
        if name == "geometry":
            continue
        r = await client.get(ITEMS, params={"filter": f"{name} IS NULL"}, headers=carrier)
        assert r.status_code == 200, (name, r.text)
    conformance = (await client.get("/ogc/conformance", headers=carrier)).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter" in conformance
    for name in ("priority-areas", "municipalities", "coverage-gaps"):
        r = await client.get(f"/ogc/collections/{name}/queryables", headers=carrier)
        assert r.status_code == 200 and "geometry" in r.json()["properties"]


@pytest.mark.parametrize(("params", "names"), [
    ({"filter": "colour = 'red'"}, ["unknown property 'colour'", "category"]),
    ({"filter": "category = 'rooftop' AND"}, ["not valid cql2-text", "column"]),
    ({"filter": "category = 'roof'"}, ["'roof' is not a category", "rooftop"]),
    ({"filter": "height_m >= 'tall'"}, ["height_m is a number"]),
    ({"filter": "(" * 60 + "height_m > 1" + ")" * 60}, ["nested 60 deep"]),
    ({"filter": " OR ".join(f"height_m = {i}" for i in range(150))}, ["at most 200"]),
    ({"filter": "{\"op\": \"=\"", "filter-lang": "cql2-json"}, ["not valid JSON"]),
    ({"filter": "height_m > 1", "filter-lang": "ecql"}, ["filter-lang", "cql2-text"]),
    ({"filter": "height_m > 1", "filter-crs": "EPSG:6677"}, ["filter-crs", "CRS84"]),
    ({"filter": "S_INTERSECTS(geometry, POLYGON((139 35, 140 35, 140 36, 139 35.5)))"}, ["Polygon", "closed"]),
])
async def test_bad_filters_say_which_part_is_wrong(client: AsyncTestClient, make_key, params: dict,
                                                   names: list[str]) -> None:
    carrier = await make_key("carrier", "docomo")
    r = await client.get(ITEMS, params=params, headers=carrier)
    assert_problem(r, 422)
    detail = json.dumps(r.json(), ensure_ascii=False)
    for name in names:
        assert name in detail, detail


async def test_filter_on_other_collections(client: AsyncTestClient, make_key, owner) -> None:
    carrier = await make_key("carrier", "docomo")
    r = await client.get("/ogc/collections/municipalities/items",
                         params={"filter": "prefecture_code = '270008' AND kind = 'ward'", "limit": 100},
                         headers=carrier)
    assert r.status_code == 200, r.text
    wards = {f["id"] for f in r.json()["features"]}
    expected = {row[0] for row in await owner.fetch(
        "select code::text from municipalities where prefecture_code = '270008' and kind = 'ward' "
        "and town_hall is not null")}
    assert len(expected) >= 24 and wards == expected  # Osaka's 24 wards, Sakai's 7


async def test_a_restricted_asset_stays_masked_through_filters(client: AsyncTestClient, make_key) -> None:
    exact = [139.7581234, 35.6912345]
    chiyoda = await make_key("municipality", CHIYODA)
    carrier = await make_key("carrier", "docomo")
    body = {"source_id": "S-1", "category": "streetlight", "name": "light", "address": "千代田区 秘密の場所 1-1",
            "geometry": {"type": "Point", "coordinates": exact}, "visibility": "restricted", "height_m": 12.5}
    asset_id = (await client.post("/v1/assets", json=body, headers=chiyoda)).json()["id"]
    masked = (await client.get(f"/v1/assets/{asset_id}", headers=carrier)).json()["geometry"]["coordinates"]
    assert masked != exact

    def around(lon: float, lat: float, d: float = 2e-5) -> str:
        return (f"S_INTERSECTS(geometry, POLYGON(({lon - d} {lat - d}, {lon + d} {lat - d}, {lon + d} {lat + d}, "
                f"{lon - d} {lat + d}, {lon - d} {lat - d})))")

    tight = around(*exact)
    for flt in (tight, f"S_DWITHIN(geometry, POINT({exact[0]} {exact[1]}), 5)", f"{tight} AND height_m = 12.5",
                "address LIKE '%秘密%'"):
        hidden = await client.get(ITEMS, params={"filter": flt}, headers=carrier)
        assert hidden.status_code == 200 and hidden.json()["features"] == [], flt
        own = (await client.get(ITEMS, params={"filter": flt}, headers=chiyoda)).json()["features"]
        assert [f["id"] for f in own] == [asset_id], flt
        assert own[0]["geometry"]["coordinates"] == exact
    # Around the mesh centre the carrier finds it, still at the mesh centre and without its address.
    shown = (await client.get(ITEMS, params={"filter": around(*masked)}, headers=carrier)).json()["features"]
    assert [f["id"] for f in shown] == [asset_id]
    assert shown[0]["geometry"]["coordinates"] == masked and shown[0]["properties"]["address"] is None


def _served_at_public_url(settings, monkeypatch):
    port = free_port()
    monkeypatch.setattr(served_module, "free_port", lambda: port)
    return served(settings, KYODO_PUBLIC_URL=f"http://127.0.0.1:{port}")


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed")
async def test_gdal_sends_the_filter_and_gets_what_v1_returns(client: AsyncTestClient, make_key, settings,
                                                              monkeypatch) -> None:
    await _publish_all(client, make_key)
    carrier = await make_key("carrier", "docomo")
    v1 = await _ids(client, carrier, "/v1/assets", {"category": "rooftop", "min_height": 20, "limit": 100})
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: {carrier['Authorization']}"}
    with _served_at_public_url(settings, monkeypatch) as base:
        out = subprocess.run(["ogrinfo", "-ro", "--config", "CPL_CURL_VERBOSE", "YES",  # noqa: ASYNC221
                              "-oo", "PAGE_SIZE=9",
                              f"OAPIF:{base}/ogc", "assets", "-where", "category = 'rooftop' AND height_m >= 20"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    listed = re.findall(r"^  asset_id \(String\) = (\S+)$", out.stdout, flags=re.MULTILINE)
    assert sorted(listed) == sorted(v1) and len(v1) > 10
    # The filter went to the server: after one unfiltered page to learn the fields, GDAL read only filtered
    # pages (it learns that it may from /ogc/api and the queryables), 4 of 9 for 31 features, once to count
    # and once to list.
    requests = re.findall(r"^> GET (/ogc/collections/assets/items\S*)", out.stderr, flags=re.MULTILINE)
    filtered = [r for r in requests if "filter=" in r]
    pages = -(-len(v1) // 9)
    assert len(filtered) == len(requests) - 1 and len(filtered) % pages == 0, requests
