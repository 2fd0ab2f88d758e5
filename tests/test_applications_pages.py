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

