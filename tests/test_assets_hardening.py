"""Search polygons PostGIS cannot intersect with are refused where they are parsed, naming the fix."""

from __future__ import annotations

import json

from litestar.testing import AsyncTestClient

from tests.conftest import assert_problem

# Two holes that overlap each other: PostGIS raised a TopologyException inside the query (a 500).
OVERLAPPING_HOLES = {"type": "Polygon", "coordinates": [
    [[139, 35], [140, 35], [140, 36], [139, 36], [139, 35]],
    [[139.1, 35.1], [139.5, 35.1], [139.5, 35.5], [139.1, 35.5], [139.1, 35.1]],
    [[139.3, 35.3], [139.7, 35.3], [139.7, 35.7], [139.3, 35.7], [139.3, 35.3]]]}


async def test_search_with_overlapping_holes_is_422_naming_within(client: AsyncTestClient, make_key) -> None:
    key = await make_key("carrier", "docomo")
    r = await client.post("/v1/assets/search", json={"within": OVERLAPPING_HOLES}, headers=key)
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = assert_problem(r, 422)["detail"]
    assert "within" in detail and "not a valid polygon" in detail and "Fix Geometries" in detail, detail
    r = await client.get("/v1/assets", params={"within": json.dumps(OVERLAPPING_HOLES)}, headers=key)
    assert "within" in assert_problem(r, 422)["detail"]
    # The outer ring alone is fine.
    outer = {"type": "Polygon", "coordinates": OVERLAPPING_HOLES["coordinates"][:1]}
    assert (await client.post("/v1/assets/search", json={"within": outer}, headers=key)).status_code == 200


async def test_priority_area_with_overlapping_holes_is_422(client: AsyncTestClient, make_key) -> None:
    key = await make_key("prefecture", "130001")
    body = {"name": "holes", "kind": "major_station", "geometry": OVERLAPPING_HOLES}
    r = await client.post("/v1/priority-areas", json=body, headers=key)
    assert "geometry" in assert_problem(r, 422)["detail"]
