"""The change feed misses nothing when writers commit out of order."""

import asyncpg
from litestar.testing import AsyncTestClient

from registry.db.pool import set_principal
from registry.principal import Principal
from registry.settings import Settings
from tests.assets_fixture import CHIYODA
from tests.conftest import feed_until

INSERT = """insert into assets (municipality_code, source_id, category, name, geom)
            values ($1, $2, 'streetlight', $2, ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326))
            returning asset_id::text"""


async def test_writes_committing_out_of_order_are_all_delivered(client: AsyncTestClient, make_key,
                                                                 settings: Settings) -> None:
    carrier = await make_key("carrier", "docomo")
    chiyoda = Principal("k", "municipality", CHIYODA, "130001", "writer")
    first = await asyncpg.connect(settings.api_database_url)
    second = await asyncpg.connect(settings.api_database_url)
    try:
        t1 = first.transaction()
        await t1.start()
        await set_principal(first, chiyoda)
        early = await first.fetchval(INSERT, CHIYODA, "early")   # takes the lower transaction id and change id

        t2 = second.transaction()
        await t2.start()
        await set_principal(second, chiyoda)
        late = await second.fetchval(INSERT, CHIYODA, "late")
        await t2.commit()                                         # ... but commits first

        seen: list[str] = []
        body = (await client.get("/v1/assets/changes", headers=carrier)).json()
        seen += [c["asset_id"] for c in body["changes"]]
        # A naive sequence cursor would hand out `late` now and then step over `early` for ever.
        assert late not in seen and early not in seen
        cursor = body["cursor"]

        await t1.commit()
        body = await feed_until(client, carrier, lambda changes: len(changes) >= 2, after=cursor)
        seen += [c["asset_id"] for c in body["changes"]]
        assert sorted(seen) == sorted([early, late])
        assert [c["op"] for c in body["changes"]] == ["created", "created"]

        # Reading again from the last cursor yields nothing new: every change was delivered once.
        again = (await client.get("/v1/assets/changes", params={"after": body["cursor"]}, headers=carrier)).json()
        assert again["changes"] == [] and again["cursor"] == body["cursor"]
    finally:
        await first.close()
        await second.close()


async def test_updates_and_paging(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    carrier = await make_key("carrier", "kddi")
    ids = []
    for i in range(5):
        body = {"source_id": f"L-{i}", "category": "streetlight", "name": f"light {i}",
                "geometry": {"type": "Point", "coordinates": [139.75 + i / 1000, 35.69]}}
        ids.append((await client.post("/v1/assets", json=body, headers=chiyoda)).json()["id"])
    await client.patch(f"/v1/assets/{ids[0]}", json={"height_m": 9}, headers={**chiyoda, "If-Match": '"1"'})
    await feed_until(client, carrier, lambda changes: len(changes) >= 6)
    ops: list[tuple[str, str, int]] = []
    url = "/v1/assets/changes?limit=2"
    while True:
        body = (await client.get(url, headers=carrier)).json()
        ops += [(c["op"], c["asset_id"], c["version"]) for c in body["changes"]]
        if not body["next"]:
            break
        url = body["next"]
    assert ops == [("created", i, 1) for i in ids] + [("updated", ids[0], 2)]
