"""Keys, municipalities and priority areas page through the shared keyset helpers: limits from the
settings, and a crafted cursor or a malformed id answers 422 naming the parameter."""

import base64
import json

from litestar.testing import AsyncTestClient

from tests.conftest import assert_problem


def _cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


async def test_crafted_cursors_answer_422(client: AsyncTestClient, make_key) -> None:
    admin = await make_key("admin", "admin")
    for path in ("/v1/keys", "/v1/priority-areas", "/v1/municipalities"):
        for after in (_cursor(["not-an-id"]) if path != "/v1/municipalities" else _cursor([131016]),
                      _cursor([1, 2]), _cursor({"code": "131016"})):
            r = await client.get(path, params={"after": after}, headers=admin)
            assert assert_problem(r, 422)["errors"][0]["field"] == "after", (path, after, r.text)


async def test_limits_come_from_the_settings(client: AsyncTestClient, make_key, settings) -> None:
    admin = await make_key("admin", "admin")
    top = settings.page_limit_max
    for path in ("/v1/keys", "/v1/priority-areas"):
        assert (await client.get(path, params={"limit": top}, headers=admin)).status_code == 200
        assert assert_problem(await client.get(path, params={"limit": top + 1}, headers=admin),
                              422)["errors"][0]["field"] == "limit"
    # Every municipality (1,741, wards aside) fits one reference page.
    r = await client.get("/v1/municipalities", params={"limit": settings.reference_limit_max}, headers=admin)
    assert len(r.json()["items"]) == 1741 and r.json()["next"] is None
    r = await client.get("/v1/municipalities", params={"limit": settings.reference_limit_max + 1}, headers=admin)
    assert assert_problem(r, 422)["errors"][0]["field"] == "limit"


async def test_key_pages_follow_next_links(client: AsyncTestClient, make_key) -> None:
    admin = await make_key("admin", "admin")
    for i in range(4):
        await make_key("municipality", "131016", name=f"staff {i}")
    everyone = [k["key_id"] for k in (await client.get("/v1/keys", headers=admin)).json()["items"]]
    seen: list[str] = []
    url: str | None = "/v1/keys?limit=2"
    while url:
        body = (await client.get(url, headers=admin)).json()
        seen += [k["key_id"] for k in body["items"]]
        url = body["next"]
    assert seen == sorted(everyone) and len(seen) == 5


async def test_malformed_ids_answer_422_naming_the_parameter(client: AsyncTestClient, make_key) -> None:
    admin = await make_key("admin", "admin")
    cases = [("get", "/v1/applications/nope", "application_id"),
             ("post", "/v1/applications/nope/actions", "application_id"),
             ("delete", "/v1/priority-areas/nope", "area_id"),
             ("delete", "/v1/keys/nope", "key_id"),
             ("get", "/v1/carriers/NOT%20A%20CODE", "carrier_code"),
             ("get", "/v1/municipalities/1310", "code")]
    for method, path, field in cases:
        kwargs = {"json": {"action": "approve"}} if method == "post" else {}
        r = await getattr(client, method)(path, headers=admin, **kwargs)
        assert assert_problem(r, 422)["errors"][0]["field"] == field, (path, r.text)
    assert_problem(await client.get("/v1/carriers/nobody", headers=admin), 404)
