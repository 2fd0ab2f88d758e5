"""A worker remembers the keys it checked (registry/auth/key_cache.py, sql/210): a keyed read on a connection that
already holds its key's principal makes one round trip, and nothing the key statement did is lost: every request
is counted, a revoked key stops when the revocation commits (announced to every worker), a connection whose
principal was cleared runs the statement again, and nothing is remembered while the listener is away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from registry import ratelimit
from registry.app import create_app
from registry.auth import keys
from registry.auth.key_cache import KeyCache
from registry.auth.queries import Entry
from registry.principal import Principal
from registry.settings import Settings
from tests.assets_fixture import CHIYODA, fixture_assets, publish
from tests.conftest import assert_problem
from tests.test_request_principal import _Seen, _session_role

SEARCH = "/v1/assets?bbox=139.7,35.6,139.8,35.7&limit=10"


# The bookkeeping alone, on a clock the test moves.
class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _entry(key_id: str = "k1", requests: int = 1, failures: int = 0) -> Entry:
    return Entry(Principal(key_id, "carrier", "docomo", None, "n"), failures, requests, 30)


def _cache(clock: _Clock, key_requests: int = 20, ttl_s: float = 1.0) -> KeyCache:
    cache = KeyCache(ttl_s, key_requests, auth_failures=30, clock=clock)
    cache.enabled = True
    return cache


def test_a_key_passes_only_on_its_own_connection_within_its_second() -> None:
    clock = _Clock()
    cache = _cache(clock)
    assert cache.admit(b"d", "k1") is None  # never checked
    cache.remember(b"d", _entry())
    assert cache.admit(b"d", None) is None and cache.admit(b"d", "k2") is None  # not this key's principal
    assert cache.admit(b"d", "k1") == _entry()
    clock.now += 1.01
    assert cache.admit(b"d", "k1") is None  # older than ttl_s
    cache.remember(b"d", _entry())
    cache.enabled = False
    assert cache.admit(b"d", "k1") is None  # the listener is away
    cache.enabled = True
    cache.forget("k1")
    assert cache.admit(b"d", "k1") is None
    cache.remember(b"d", Entry(None, 0, 1, 30))  # an unknown key is never remembered
    assert cache.admit(b"d", None) is None
    assert cache.take_pending(b"d") == 1 and cache.take_pending(b"d") == 0  # the one request that passed


def test_only_half_the_budget_passes_unchecked_and_every_pass_is_counted_later() -> None:
    clock = _Clock()
    cache = _cache(clock, key_requests=20)
    cache.remember(b"d", _entry(requests=3))
    passed = 0
    while cache.admit(b"d", "k1") is not None:
        passed += 1
    assert 2 * (3 + passed) <= 20 < 2 * (3 + passed + 1)  # 7: the 8th would bring the known count to 11
    cache.forget("k1")  # revoked meanwhile: what passed is still counted by the key's next statement
    assert cache.take_pending(b"d") == passed and cache.take_pending(b"d") == 0
    cache.remember(b"d", _entry(failures=30))  # an address that failed too often is always checked
    assert cache.admit(b"d", "k1") is None


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """One pooled connection (every request on the same backend) and a cache that outlives the test unless told."""
    app = create_app(msgspec.structs.replace(settings, pool_min=1, pool_max=1, key_cache_s=60.0))
    async with AsyncTestClient(app=app) as c:
        await _listening(c, True)
        yield c


async def _listening(client: AsyncTestClient, enabled: bool) -> None:
    cache: KeyCache = client.app.state.key_cache
    for _ in range(100):
        if cache.enabled == enabled:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the key cache listener never became {'enabled' if enabled else 'disabled'}")


async def _counted(owner: asyncpg.Connection, headers: dict[str, str]) -> int:
    """The requests the database has counted for the key in the current window, read without the app."""
    digest = keys.digest(headers["Authorization"].removeprefix("Bearer "))
    return await owner.fetchval("select coalesce(sum(hits), 0) from app.rate_counters where bucket = $1",
                                ratelimit.key_bucket(digest))


async def test_a_repeated_keyed_read_makes_one_round_trip_with_the_same_answer(one_connection: AsyncTestClient,
                                                                              make_key) -> None:
    client = one_connection
    _statements = _Seen(client)
    carrier = await make_key("carrier", "docomo")
    first, seen = await _statements(lambda: client.get(SEARCH, headers=carrier))
    assert len(seen) == 2 and "app.enter_session_with_key" in seen[0], seen
    again, seen = await _statements(lambda: client.get(SEARCH, headers=carrier))
    assert len(seen) == 1 and "asset_catalogue" in seen[0], seen
    assert again.status_code == first.status_code == 200 and again.json() == first.json()


async def test_every_request_is_counted_by_the_next_statement(one_connection: AsyncTestClient, make_key,
                                                            owner: asyncpg.Connection) -> None:
    client = one_connection
    carrier = await make_key("carrier", "docomo")
    for _ in range(7):
        assert (await client.get(SEARCH, headers=carrier)).status_code == 200
    assert await _counted(owner, carrier) == 1  # six passed on what the first statement found
    client.app.state.key_cache.forget()  # as when its second is up
    assert (await client.get(SEARCH, headers=carrier)).status_code == 200
    assert await _counted(owner, carrier) == 8


async def test_the_limit_answers_429_at_the_same_request(settings: Settings, make_key) -> None:
    app = create_app(msgspec.structs.replace(settings, pool_min=1, pool_max=1, rate_key_requests=12,
                                             key_cache_s=60.0))
    async with AsyncTestClient(app=app) as client:
        await _listening(client, True)
        carrier = await make_key("carrier", "docomo")
        statuses = [(await client.get(SEARCH, headers=carrier)).status_code for _ in range(14)]
    assert statuses == [200] * 12 + [429] * 2, statuses


async def test_a_key_revoked_elsewhere_stops_when_that_commits(one_connection: AsyncTestClient, make_key,
                                                              owner: asyncpg.Connection) -> None:
    client = one_connection
    carrier = await make_key("carrier", "docomo")
    me = (await client.get("/v1/me", headers=carrier)).json()
    assert (await client.get(SEARCH, headers=carrier)).status_code == 200
    # Another process (another worker, `registry keys`, a DBA) revokes it; the cache would keep it for 60 s.
    await owner.execute("update api_keys set revoked_at = now() where key_id = $1::uuid", me["key_id"])
    statuses = []
    for _ in range(200):  # the notice reaches the worker's listener within milliseconds; 2 s at most here
        statuses.append((r := await client.get(SEARCH, headers=carrier)).status_code)
        if r.status_code != 200:
            break
        await asyncio.sleep(0.01)
    assert_problem(r, 401)
    assert len(statuses) < 50, statuses


async def test_a_connection_whose_principal_was_cleared_checks_the_key_again(one_connection: AsyncTestClient,
                                                                             make_key) -> None:
    client = one_connection
    _statements = _Seen(client)
    chiyoda = await make_key("municipality", CHIYODA)
    for asset in fixture_assets():
        if asset["municipality_code"] == CHIYODA:
            await publish(client, chiyoda, asset)
    carrier = await make_key("carrier", "docomo")
    first = await client.get(SEARCH, headers=carrier)
    _, seen = await _statements(lambda: client.get(SEARCH, headers=carrier))
    assert len(seen) == 1, seen
    assert await _session_role(client) == ("none", "", "")  # another user of the pool took the connection
    again, seen = await _statements(lambda: client.get(SEARCH, headers=carrier))
    assert len(seen) == 2 and "app.enter_session_with_key" in seen[0], seen
    # Run without its principal, the carrier's search would find nothing at all (row security).
    assert again.json() == first.json() and first.json()["features"]


async def test_nothing_is_remembered_while_the_listener_is_away(one_connection: AsyncTestClient, make_key,
                                                               owner: asyncpg.Connection) -> None:
    client = one_connection
    _statements = _Seen(client)
    carrier = await make_key("carrier", "docomo")
    assert (await client.get(SEARCH, headers=carrier)).status_code == 200
    await owner.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                        "where application_name = 'kyodo-key-cache' and datname = current_database()")
    await _listening(client, False)
    for _ in range(2):
        _, seen = await _statements(lambda: client.get(SEARCH, headers=carrier))
        assert len(seen) == 2, seen
    await _listening(client, True)  # it reconnects (after a second) and the cache is used again
    await client.get(SEARCH, headers=carrier)
    _, seen = await _statements(lambda: client.get(SEARCH, headers=carrier))
    assert len(seen) == 1, seen


async def test_transaction_scope_never_skips_the_statement(settings: Settings, make_key) -> None:
    app = create_app(msgspec.structs.replace(settings, pool_min=1, pool_max=1, principal_scope="transaction"))
    async with AsyncTestClient(app=app) as client:
        _statements = _Seen(client)
        carrier = await make_key("carrier", "docomo")
        for _ in range(2):
            _, seen = await _statements(lambda: client.get(SEARCH, headers=carrier))
            assert any("app.enter_local_with_key" in s for s in seen), seen
        assert not client.app.state.key_cache.enabled
