"""What carriers may see: never drafts or withdrawn assets, never a restricted asset's exact place."""

import math

from litestar.testing import AsyncTestClient

from tests.assets_fixture import CHIYODA
from tests.conftest import assert_problem, feed_until

EXACT = [139.7581234, 35.6912345]


def _asset(source_id: str, **extra) -> dict:
    return {"source_id": source_id, "category": "streetlight", "name": f"light {source_id}",
            "address": "千代田区 秘密の場所 1-1", "geometry": {"type": "Point", "coordinates": EXACT}, **extra}


def _mesh3_centre(lon: float, lat: float) -> tuple[float, float]:
    # JIS X 0410 third mesh: 30" of latitude by 45" of longitude, counted from 0°N and 100°E.
    row = math.floor(lat * 3600 / 30)
    col = math.floor((lon - 100) * 3600 / 45)
    return 100 + (col + 0.5) * 45 / 3600, (row + 0.5) * 30 / 3600


async def test_restricted_assets_show_carriers_a_coarse_place_only(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    carrier = await make_key("carrier", "docomo")
    tokyo = await make_key("prefecture", "130001")
    asset_id = (await client.post("/v1/assets", json=_asset("S-1", visibility="restricted"),
                                  headers=chiyoda)).json()["id"]
    coarse = list(_mesh3_centre(*EXACT))

    seen = (await client.get(f"/v1/assets/{asset_id}", headers=carrier)).json()
    assert seen["geometry"]["coordinates"] == [round(c, 7) for c in coarse] or \
        [round(c, 6) for c in seen["geometry"]["coordinates"]] == [round(c, 6) for c in coarse]
    assert seen["properties"]["address"] is None and seen["properties"]["coarse_location"] is True
    assert seen["geometry"]["coordinates"] != EXACT

    listed = (await client.get("/v1/assets", params={"municipality": CHIYODA}, headers=carrier)).json()
    assert [f["properties"]["address"] for f in listed["features"]] == [None]
    csv = (await client.get("/v1/assets", params={"municipality": CHIYODA, "f": "csv"}, headers=carrier)).text
    assert "秘密" not in csv and "139.7581234" not in csv

    # A tiny box around the exact point finds nothing: the search runs on the place shown.
    tiny = f"{EXACT[0] - 1e-5},{EXACT[1] - 1e-5},{EXACT[0] + 1e-5},{EXACT[1] + 1e-5}"
    assert (await client.get("/v1/assets", params={"bbox": tiny}, headers=carrier)).json()["features"] == []
    near = (await client.get("/v1/assets", params={"near": f"{EXACT[0]},{EXACT[1]}", "radius": 5},
                             headers=carrier)).json()
    assert near["features"] == []

    # The owner's prefecture and the owner see the exact place and address.
    for headers in (tokyo, chiyoda):
        exact = (await client.get(f"/v1/assets/{asset_id}", headers=headers)).json()
        assert exact["geometry"]["coordinates"] == EXACT and exact["properties"]["address"]
        assert (await client.get("/v1/assets", params={"bbox": tiny}, headers=headers)).json()["features"]


async def test_carriers_never_see_drafts_or_withdrawn_assets(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    carrier = await make_key("carrier", "kddi")
    draft = (await client.post("/v1/assets", json=_asset("D-1", status="draft"), headers=chiyoda)).json()["id"]
    gone = (await client.post("/v1/assets", json=_asset("W-1"), headers=chiyoda)).json()["id"]
    await client.delete(f"/v1/assets/{gone}", headers={**chiyoda, "If-Match": '"1"'})
    live = (await client.post("/v1/assets", json=_asset("P-1"), headers=chiyoda)).json()["id"]

    listed = (await client.get("/v1/assets", params={"limit": 1000}, headers=carrier)).json()
    assert [f["id"] for f in listed["features"]] == [live]
    for hidden in (draft, gone):
        assert_problem(await client.get(f"/v1/assets/{hidden}", headers=carrier), 404)
    stats = (await client.get("/v1/stats/assets", headers=carrier)).json()
    assert stats["total"] == 1
    feed = await feed_until(client, carrier, lambda changes: len(changes) >= 3)
    # The withdrawn asset appears only as a withdrawal carrying no data; the draft not at all.
    by_asset = {}
    for c in feed["changes"]:
        by_asset.setdefault(c["asset_id"], []).append((c["op"], c["feature"] is not None))
    assert draft not in by_asset
    assert by_asset[gone] == [("created", False), ("withdrawn", False)]
    assert by_asset[live] == [("created", True)]

    own = (await client.get(f"/v1/municipalities/{CHIYODA}/assets", headers=chiyoda)).json()
    assert {f["id"]: f["properties"]["status"] for f in own["features"]} == {
        draft: "draft", gone: "withdrawn", live: "published"}
