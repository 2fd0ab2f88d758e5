"""Crafted cursors and limits on the asset lists: a 422 naming the parameter, never a 500."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from registry.pagination import encode_cursor
from tests.assets_fixture import CHIYODA
from tests.conftest import assert_problem

NEAR = {"near": "139.75,35.69", "radius": "1000"}


async def test_crafted_search_cursors_are_422(client: AsyncTestClient, make_key) -> None:
    key = await make_key("carrier", "docomo")
    some_id = str(uuid.uuid4())
    crafted = [
        (NEAR, ["x", some_id]),                    # a distance that is not a number
        (NEAR, [12.5, "not-a-uuid"]),              # an id that is not a UUID
        ({"bbox": "139.7,35.6,139.8,35.7"}, [1.5, some_id]),  # a near cursor in a box search
        ({}, ["131016", "y"]),
        ({}, ["131016"]),                          # too short
    ]
    for params, cursor in crafted:
        r = await client.get("/v1/assets", params={**params, "after": encode_cursor(cursor)}, headers=key)
        assert "after" in assert_problem(r, 422)["detail"], (params, cursor, r.text)
    body = {"within": {"type": "Polygon", "coordinates": [[[139, 35], [140, 35], [140, 36], [139, 36], [139, 35]]]},
            "after": encode_cursor(["131016", "y"])}
    assert "after" in assert_problem(await client.post("/v1/assets/search", json=body, headers=key), 422)["detail"]


async def test_crafted_own_list_cursor_and_limits_are_422(client: AsyncTestClient, make_key, settings) -> None:
    key = await make_key("municipality", CHIYODA)
    url = f"/v1/municipalities/{CHIYODA}/assets"
    r = await client.get(url, params={"after": encode_cursor(["not-a-uuid"])}, headers=key)
    assert "after" in assert_problem(r, 422)["detail"]
    r = await client.get(url, params={"after": encode_cursor([7])}, headers=key)
    assert "after" in assert_problem(r, 422)["detail"]
    over = settings.page_limit_max + 1
    for path in (url, "/v1/assets", "/v1/assets/changes"):
        r = await client.get(path, params={"limit": str(over)}, headers=key)
        assert "limit" in assert_problem(r, 422)["detail"], path
        assert (await client.get(path, params={"limit": str(settings.page_limit_max)}, headers=key)).status_code == 200


async def test_change_cursor_beyond_64_bits_is_422(client: AsyncTestClient, make_key) -> None:
    key = await make_key("carrier", "docomo")
    for cursor in (f"{2**64}:1", f"1:{2**63}", "1:x", "1"):
        r = await client.get("/v1/assets/changes", params={"after": cursor}, headers=key)
        assert "after" in assert_problem(r, 422)["detail"], cursor
    assert (await client.get("/v1/assets/changes", params={"after": f"{2**64 - 1}:1"}, headers=key)).status_code == 200
