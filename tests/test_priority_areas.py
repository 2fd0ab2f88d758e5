"""Priority areas and their coverage, checked with shapely in a metric projection."""

import pytest
import shapely
from litestar.testing import AsyncTestClient
from pyproj import Transformer
from shapely.geometry import shape

from tests.assets_fixture import CHIYODA, SHINJUKU, fixture_assets, publish
from tests.conftest import assert_problem

# JGD2011 plane rectangular zone IX (Tokyo): metres, so buffers are true distances here.
_TRANSFORMER = Transformer.from_crs(4326, 6677, always_xy=True)


def to_metres(geometry: dict) -> shapely.Geometry:
    return shapely.transform(shape(geometry), _TRANSFORMER.transform, interleaved=False)


def _square(lon: float, lat: float, half: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon - half, lat - half], [lon + half, lat - half],
                                                [lon + half, lat + half], [lon - half, lat + half],
                                                [lon - half, lat - half]]]}


AREAS = [
    ("major_station", "市ケ谷駅周辺", _square(139.7536, 35.6939, 0.006)),
    ("disaster_hospital", "新宿の病院", _square(139.7036, 35.6939, 0.004)),
    ("evacuation_park", "遠い公園", _square(139.62, 35.75, 0.002)),
]


@pytest.fixture
async def areas(client: AsyncTestClient, make_key) -> dict[str, str]:
    tokyo = await make_key("prefecture", "130001")
    ids = {}
    for kind, name, geometry in AREAS:
        r = await client.post("/v1/priority-areas", json={"kind": kind, "name": name, "geometry": geometry},
                              headers=tokyo)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    return ids


def _expected(assets: list[dict], distance: float) -> dict[str, int]:
    counted = [a for a in assets if a["availability"] in ("offered", "partly_available")]
    result = {}
    for _, name, geometry in AREAS:
        area = to_metres(geometry)
        result[name] = sum(area.distance(to_metres(a["geometry"])) <= distance for a in counted)
    return result


@pytest.mark.parametrize("distance", [0, 300])
async def test_coverage_counts_and_gaps(client: AsyncTestClient, make_key, areas: dict, distance: int) -> None:
    assets = [a for a in fixture_assets() if a["municipality_code"] in (CHIYODA, SHINJUKU)]
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU)}
    for a in assets:
        await publish(client, keys[a["municipality_code"]], a)
    carrier = await make_key("carrier", "rakuten")
    r = await client.get("/v1/priority-areas/coverage", params={"prefecture": "13", "distance": distance},
                         headers=carrier)
    assert r.status_code == 200, r.text
    report = r.json()
    got = {a["name"]: a["assets"] for a in report["areas"]}
    expected = _expected(assets, distance)
    # Geodesic metres (PostGIS) and plane-rectangular metres (shapely) differ by far less than the spacing.
    assert got == expected
    assert expected["市ケ谷駅周辺"] > 0 and expected["遠い公園"] == 0
    assert [g["name"] for g in report["gaps"]] == [n for n, c in expected.items() if c == 0]


async def test_areas_are_maintained_by_their_prefecture(client: AsyncTestClient, make_key, areas: dict) -> None:
    osaka = await make_key("prefecture", "270008")
    chiyoda = await make_key("municipality", CHIYODA)
    carrier = await make_key("carrier", "docomo")
    listed = (await client.get("/v1/priority-areas", params={"prefecture": "13"}, headers=carrier)).json()
    assert {f["properties"]["name"] for f in listed["features"]} == {n for _, n, _ in AREAS}
    area_id = areas["遠い公園"]
    assert_problem(await client.delete(f"/v1/priority-areas/{area_id}", headers=osaka), 404)
    assert_problem(await client.delete(f"/v1/priority-areas/{area_id}", headers=carrier), 403)
    body = {"kind": "major_station", "name": "x", "geometry": AREAS[0][2], "prefecture_code": "130001"}
    assert_problem(await client.post("/v1/priority-areas", json=body, headers=osaka), 403)
    assert_problem(await client.post("/v1/priority-areas", json=body, headers=chiyoda), 403)
    tokyo = await make_key("prefecture", "130001")
    assert (await client.delete(f"/v1/priority-areas/{area_id}", headers=tokyo)).status_code == 204


async def test_bad_areas_and_coverage_parameters(client: AsyncTestClient, make_key) -> None:
    tokyo = await make_key("prefecture", "130001")
    bowtie = {"type": "Polygon", "coordinates": [[[139.75, 35.69], [139.76, 35.70], [139.76, 35.69],
                                                  [139.75, 35.70], [139.75, 35.69]]]}
    body = assert_problem(await client.post("/v1/priority-areas", json={"kind": "major_station", "name": "x",
                                                                          "geometry": bowtie}, headers=tokyo), 422)
    assert "Self-intersection" in body["detail"]
    assert_problem(await client.post("/v1/priority-areas", json={"kind": "airport", "name": "x",
                                                                   "geometry": AREAS[0][2]}, headers=tokyo), 422)
    assert_problem(await client.get("/v1/priority-areas/coverage", params={"distance": -1}, headers=tokyo), 422)
    assert_problem(await client.get("/v1/priority-areas/coverage", params={"distance": 9000}, headers=tokyo), 422)
    assert_problem(await client.get("/v1/priority-areas/coverage", params={"availability": "free"},
                                    headers=tokyo), 422)
