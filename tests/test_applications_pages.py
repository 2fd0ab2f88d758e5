"""Application lists page by keyset like every other list; a cursor the API did not issue answers 422."""

import base64
import json

from litestar.testing import AsyncTestClient

from tests.assets_fixture import CHIYODA
from tests.conftest import assert_problem
from tests.test_applications import _apply, _asset


def _cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


async def test_pages_follow_next_links_in_submission_order(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    filed = [(await _apply(client, docomo, await _asset(client, chiyoda, f"P-{i}"))) for i in range(5)]
    expected = [a["application_id"] for a in sorted(filed, key=lambda a: (a["submitted_at"], a["application_id"]))]
    seen: list[str] = []
    url: str | None = "/v1/applications?limit=2"
    pages = 0
    while url:
        body = (await client.get(url, headers=docomo)).json()
        seen += [a["application_id"] for a in body["items"]]
        url = body["next"]
        pages += 1
    assert seen == expected and pages == 3
    # The limit comes from the server's page limit (1,000), not a number of this route's own.
    assert (await client.get("/v1/applications?limit=1000", headers=docomo)).status_code == 200
    assert assert_problem(await client.get("/v1/applications?limit=1001", headers=docomo),
                          422)["errors"][0]["field"] == "limit"


async def test_crafted_cursors_answer_422_naming_after(client: AsyncTestClient, make_key) -> None:
    docomo = await make_key("carrier", "docomo")
    assert _cursor(["x", "y"]).rstrip("=") == "WyJ4IiwgInkiXQ"
    crafted = ["WyJ4IiwgInkiXQ==",  # ["x", "y"]: neither a time nor an id
               _cursor(["2027-04-01T00:00:00+00:00", "y"]),  # a time, but no id
               _cursor([1, "c3b2f0f4-4b8e-4a53-9a55-1f9e0c1d2e3f"]),  # a number where the time goes
               _cursor(["2027-04-01T00:00:00+00:00"]),  # one value of two
               "!!"]
    for after in crafted:
        r = await client.get("/v1/applications", params={"after": after}, headers=docomo)
        assert assert_problem(r, 422)["errors"][0]["field"] == "after", (after, r.text)
