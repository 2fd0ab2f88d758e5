"""A keyed read makes two round trips, and the principal it sets for its connection's session never reaches the
next user of that pooled connection (issue 13; registry/db/pool.py, sql/150)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.settings import Settings
from tests.assets_fixture import CHIYODA, SHINJUKU, fixture_assets, publish


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """The app with a pool of one connection: every request and every check below uses the same backend."""
    app = create_app(msgspec.structs.replace(settings, pool_min=1, pool_max=1))
    async with AsyncTestClient(app=app) as c:
        yield c


def _pool(client: AsyncTestClient) -> asyncpg.Pool:
    return client.app.state.pool


def _on_app_loop(client: AsyncTestClient, fn: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """fn(the pool's connection), run on the loop the app and its pool live on (the test client's portal)."""

    async def run() -> Any:
        async with _pool(client).acquire() as conn:
            return await fn(conn)

    return client.blocking_portal.call(run)


async def _session_role(client: AsyncTestClient) -> tuple[str, str, str]:
    """The principal settings as a user of the pool outside any request finds them."""
    row = _on_app_loop(client, lambda conn: conn.fetchrow(
        "select app.role(), current_setting('app.tenant_code', true), current_setting('app.key_id', true)"))
    return row[0], row[1], row[2]


class _Seen:
    """The statements the pool's one connection runs during calls (lower case). The connection is taken once,
    here: taking it from the pool clears a principal left in its session (registry/db/pool.py), so a caller that
    must keep one (tests/test_key_cache.py) takes it before its keyed requests."""

    def __init__(self, client: AsyncTestClient) -> None:
        async def physical(conn: asyncpg.Connection) -> asyncpg.Connection:
            return conn._con  # the connection behind the pool's proxy keeps the logger across acquires

        self.raw: asyncpg.Connection = _on_app_loop(client, physical)

    async def __call__(self, call: Callable[[], Awaitable[Any]]) -> tuple[Any, list[str]]:
        seen: list[str] = []

        def log(query: Any) -> None:
            seen.append(" ".join(query.query.split()).lower())

        self.raw.add_query_logger(log)
        try:
            return await call(), seen
        finally:
            self.raw.remove_query_logger(log)


async def _statements(client: AsyncTestClient, call: Callable[[], Awaitable[Any]]) -> tuple[Any, list[str]]:
    """What `call` returned, and the statements the one pooled connection ran meanwhile (lower case)."""
    return await _Seen(client)(call)


async def test_a_keyed_search_makes_two_round_trips(one_connection: AsyncTestClient, make_key) -> None:
    client = one_connection
    carrier = await make_key("carrier", "docomo")
    r, seen = await _statements(client, lambda: client.get("/v1/assets?bbox=139.7,35.6,139.8,35.7&limit=10",
                                                            headers=carrier))
    assert r.status_code == 200
    assert len(seen) == 2, seen
    assert "app.enter_session_with_key" in seen[0] and "asset_catalogue" in seen[1]


async def test_a_keyed_write_still_runs_in_one_transaction(one_connection: AsyncTestClient, make_key) -> None:
    client = one_connection
    owner = await make_key("municipality", CHIYODA)
    asset = next(a for a in fixture_assets() if a["municipality_code"] == CHIYODA)
    _, seen = await _statements(client, lambda: publish(client, owner, asset))
    assert "app.enter_session_with_key" in seen[0]
    assert seen[1].startswith("begin") and seen[-1].startswith("commit"), seen


async def test_the_principal_ends_with_the_request(one_connection: AsyncTestClient, make_key) -> None:
    client = one_connection
    carrier = await make_key("carrier", "docomo")
    r = await client.get("/v1/assets?limit=1", headers=carrier)
    assert r.status_code == 200
    # The only connection served the carrier; whoever takes it next from the pool sees no principal.
    assert await _session_role(client) == ("none", "", "")
    # Not even a request without a key (an open path that reads the database) runs as the carrier.
    assert (await client.get("/readyz")).status_code == 200
    assert await _session_role(client) == ("none", "", "")


async def test_the_next_key_never_sees_the_previous_ones_rows(one_connection: AsyncTestClient, make_key,
                                                             owner: asyncpg.Connection) -> None:
    client = one_connection
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU)}
    for a in fixture_assets():
        if a["municipality_code"] in keys:
            await publish(client, keys[a["municipality_code"]], {**a, "visibility": "restricted"})
    expected = {}
    for code in keys:  # what each owner sees of the other's restricted assets, computed without the API
        others = await owner.fetchval("select count(*) from assets where status = 'published' and "
                                      "municipality_code <> $1 and visibility = 'restricted'", code)
        expected[code] = others
    carrier = await make_key("carrier", "docomo")
    for code in (CHIYODA, SHINJUKU, CHIYODA):
        # The same backend, one key after another: each sees its own assets exactly and the other's coarse.
        body = (await client.get("/v1/assets?limit=1000", headers=keys[code])).json()
        coarse = [f for f in body["features"] if f["properties"]["coarse_location"]]
        assert len(coarse) == expected[code]
        assert all(f["properties"]["municipality_code"] != code for f in coarse)
        unknown = {"Authorization": keys[code]["Authorization"][:-4] + "0000"}
        assert (await client.get("/v1/assets?limit=1", headers=unknown)).status_code == 401
        assert await _session_role(client) == ("none", "", "")
    total = await owner.fetchval("select count(*) from assets where status = 'published' and "
                                 "visibility = 'restricted'")
    body = (await client.get("/v1/assets?limit=1000", headers=carrier)).json()
    assert sum(f["properties"]["coarse_location"] for f in body["features"]) == total
