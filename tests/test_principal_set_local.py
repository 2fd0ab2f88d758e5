"""KYODO_PRINCIPAL_SCOPE=transaction (issue 17, item 3): every place that sets the principal does it with literal
SET LOCAL statements inside the request's transaction (sql/175), the one form a Citus coordinator passes on to
its workers; row security and the role x route rules hold as in session scope, and no principal outlives the
request.

How the statements are seen: a private cluster with pg_stat_statements preloaded (track = all, so the SET LOCALs
run by EXECUTE inside app.set_local_principal count too) shows what the server ran; the same requests in session
scope show set_config there, so the check would see a fall-back. On the shared cluster, per-database
track_functions counts the calls of the principal functions, and asyncpg's query logger shows the round trips.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.auth import queries as key_queries
from registry.cluster import Cluster
from registry.db.admin import admin_session
from registry.db.migrate import migrate
from registry.settings import Settings, api_url_for, parse_principal_scope
from registry.tenants.reference import load_reference
from tests.assets_fixture import CHIYODA, SHINJUKU, fixture_assets, publish
from tests.conftest import assert_problem
from tests.replica_fixture import remove, temp_cluster_dir
from tests.served import free_port
from tests.test_request_principal import _session_role, _statements
from tests.test_route_matrix import OPEN, ROLES, ROUTES, _concrete

BBOX = "/v1/assets?bbox=139.7,35.6,139.8,35.7&limit=10"


def _transaction_scope(settings: Settings, **more: Any) -> Settings:
    return msgspec.structs.replace(settings, principal_scope="transaction", **more)


def test_the_setting_is_read_and_checked() -> None:
    assert Settings.from_env({"DATABASE_URL": "postgresql://x@/k"}).principal_scope == "session"
    env = {"DATABASE_URL": "postgresql://x@/k", "KYODO_PRINCIPAL_SCOPE": " Transaction "}
    assert Settings.from_env(env).principal_scope == "transaction"
    with pytest.raises(ValueError, match="KYODO_PRINCIPAL_SCOPE"):
        parse_principal_scope("local")  # a typo must not keep the session path on a cluster


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    """Transaction scope with a pool of one connection: every request and check uses the same backend."""
    async with AsyncTestClient(app=create_app(_transaction_scope(settings, pool_min=1, pool_max=1))) as c:
        yield c


async def test_a_keyed_search_is_begin_key_with_set_local_query_commit(one_connection: AsyncTestClient,
                                                                      make_key) -> None:
    client = one_connection
    carrier = await make_key("carrier", "docomo")
    r, seen = await _statements(client, lambda: client.get(BBOX, headers=carrier))
    assert r.status_code == 200, r.text
    assert len(seen) == 4, seen
    assert seen[0].startswith("begin") and seen[3].startswith("commit"), seen
    assert "app.enter_local_with_key" in seen[1] and "asset_catalogue" in seen[2], seen
    assert not any("set_config" in s or "enter_session_with_key" in s for s in seen), seen
    # Nothing of the carrier's is left on the connection for its next user.
    assert await _session_role(client) == ("none", "", "")


async def test_a_write_and_a_failing_handler_run_in_the_requests_one_transaction(
        one_connection: AsyncTestClient, make_key, owner: asyncpg.Connection) -> None:
    client = one_connection
    headers = await make_key("municipality", CHIYODA)
    asset = next(a for a in fixture_assets() if a["municipality_code"] == CHIYODA)
    created, seen = await _statements(client, lambda: publish(client, headers, asset))
    assert seen[0].startswith("begin") and "app.enter_local_with_key" in seen[1] and seen[-1].startswith("commit")
    assert sum(s.startswith("begin") for s in seen) == 1, seen
    assert await owner.fetchval("select count(*) from assets where asset_id = $1::uuid", created["id"]) == 1
    # A write the route refuses rolls back, yet counts against the key's budget (counted again on its own).
    before = await owner.fetchval("select coalesce(sum(hits), 0) from app.rate_counters where bucket <> ''")
    refused = await client.post("/v1/assets", json={"name": "no geometry"}, headers=headers)
    assert_problem(refused, 422)
    after = await owner.fetchval("select coalesce(sum(hits), 0) from app.rate_counters where bucket <> ''")
    assert after == before + 1
    assert await _session_role(client) == ("none", "", "")


async def test_each_key_sees_exactly_its_own_in_transaction_scope(one_connection: AsyncTestClient, make_key,
                                                                  owner: asyncpg.Connection) -> None:
    """The same backend, one key after another (as tests/test_request_principal.py in session scope)."""
    client = one_connection
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU)}
    for a in fixture_assets():
        if a["municipality_code"] in keys:
            await publish(client, keys[a["municipality_code"]], {**a, "visibility": "restricted"})
    for code in (CHIYODA, SHINJUKU, CHIYODA):
        others = await owner.fetchval("select count(*) from assets where status = 'published' and "
                                      "municipality_code <> $1 and visibility = 'restricted'", code)
        r, seen = await _statements(client, lambda h=keys[code]: client.get("/v1/assets?limit=1000", headers=h))
        assert "app.enter_local_with_key" in seen[1], seen  # the principal by SET LOCAL, not for the session
        body = r.json()
        coarse = [f for f in body["features"] if f["properties"]["coarse_location"]]
        assert len(coarse) == others > 0
        assert all(f["properties"]["municipality_code"] != code for f in coarse)
        unknown = {"Authorization": keys[code]["Authorization"][:-4] + "0000"}
        assert_problem(await client.get("/v1/assets?limit=1", headers=unknown), 401)
        assert await _session_role(client) == ("none", "", "")


async def _function_calls(owner: asyncpg.Connection, names: tuple[str, ...], seconds: float = 12.0) -> dict:
    """Calls of app functions by name, as the statistics report them once the app's backends have exited."""
    deadline = time.monotonic() + seconds
    while True:
        await owner.execute("select pg_stat_clear_snapshot()")
        rows = await owner.fetch("select funcname, calls from pg_stat_user_functions "
                                 "where schemaname = 'app' and funcname = any($1::text[])", list(names))
        found = {r["funcname"]: r["calls"] for r in rows}
        if "set_local_principal" in found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_every_route_for_every_role_in_transaction_scope(settings: Settings, make_key,
                                                               owner: asyncpg.Connection) -> None:
    """tests/test_route_matrix.py's rules over every route in one run, the app in transaction scope; and the
    principal functions' call counts show every request set its principal with SET LOCAL, none for the session."""
    database = await owner.fetchval("select current_database()")
    await owner.execute(f'alter database "{database}" set track_functions = \'pl\'')
    headers = {role: {**(await make_key(role, tenant)), "If-Match": '"1"'} for role, tenant in ROLES.items()}
    keyed = 0
    # One app for every route (the matrix makes an app per route): its 401s would pass the failed-key budget.
    many = {"rate_auth_failures": 10**6, "rate_key_requests": 10**6}
    async with AsyncTestClient(app=create_app(_transaction_scope(settings, **many))) as client:
        for method, path, roles in [r for r in ROUTES if r[1] not in OPEN]:
            url = _concrete(path)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            assert_problem(await client.request(method, url, json=body), 401)
            for role in ROLES:
                r = await client.request(method, url, json=body, headers=headers[role])
                client.cookies.clear()  # POST /v1/session's cookie would stand in for the next 401's missing key
                keyed += 1
                assert r.status_code < 500, f"{role} {method} {url}: {r.text}"
                if roles is not None and role not in roles:
                    assert_problem(r, 403)
                elif r.status_code >= 400:
                    assert_problem(r, r.status_code)
                    if method == "GET" and "{" in path and role != "admin":
                        assert r.status_code in (404, 422), f"{role} {method} {url}: {r.status_code}"
    calls = await _function_calls(owner, ("set_local_principal", "enter_local_with_key", "enter_session_with_key"))
    assert calls.get("enter_local_with_key", 0) >= keyed, (calls, keyed)
    assert calls.get("set_local_principal", 0) >= keyed, (calls, keyed)
    assert "enter_session_with_key" not in calls, calls


# --- what the server ran: pg_stat_statements on a private cluster ---------------------------------------------

class _CountingCluster(Cluster):
    """A private cluster that records every statement, nested ones included (never the shared test cluster:
    pg_stat_statements needs shared_preload_libraries, set at start)."""

    def _settings(self) -> dict[str, str]:
        return {**super()._settings(), "shared_preload_libraries": "'pg_stat_statements'",
                "pg_stat_statements.track": "all", "pg_stat_statements.track_utility": "on"}


pytestmark_private = pytest.mark.skipif(os.geteuid() != 0 and not os.access("/usr/lib/postgresql", os.R_OK),
                                        reason="needs PostgreSQL's server binaries")


@pytest.fixture(scope="module")
def counting_cluster() -> Any:
    folder = temp_cluster_dir("kyodo-pgss-")
    cluster = _CountingCluster(datadir=folder / "pgdata", port=free_port())
    try:
        cluster.up()

        async def prepare() -> None:
            conn = await asyncpg.connect(cluster.url())
            try:
                await migrate(conn)
                await load_reference(conn)
                await conn.execute("create extension if not exists pg_stat_statements")
            finally:
                await conn.close()

        asyncio.run(prepare())
        yield cluster
    finally:
        remove(folder, cluster)


async def _exercise(settings: Settings, nth: int) -> None:
    """Every kind of request that sets a principal: keyed search and write, the web map's session, an export's
    own transaction, an asset's history, a request without a key."""
    created = await admin_session(settings, lambda db: key_queries.create_key(db, "municipality", CHIYODA, "t"))
    key = {"Authorization": f"Bearer {created.key}"}
    async with AsyncTestClient(app=create_app(settings)) as client:
        asset = [a for a in fixture_assets() if a["municipality_code"] == CHIYODA][nth]
        new = await publish(client, key, asset)
        assert (await client.get(BBOX, headers=key)).status_code == 200
        assert (await client.get(f"/v1/assets/{new['id']}/history", headers=key)).status_code == 200
        assert (await client.get("/v1/assets/export", params={"municipality": CHIYODA}, headers=key)).status_code \
            == 200
        signed = await client.post("/v1/session", headers=key)
        assert signed.status_code == 201, signed.text
        token = signed.cookies["kyodo_session"]
        client.cookies.clear()
        me = await client.get("/v1/me", cookies={"kyodo_session": token})
        assert me.status_code == 200 and me.json()["tenant_code"] == CHIYODA
        assert (await client.get("/readyz")).status_code == 200


# asyncpg's own: it turns jit off while it introspects a type, and back (asyncpg/connection.py); not a principal.
_ASYNCPG_JIT = {"select current_setting($1) as cur, set_config($2, $3, $4) as new", "select set_config($2, $1, $3)"}


def _set_config_run(statements: list[tuple[str, int]]) -> list[str]:
    return [q for q, _ in statements if "set_config" in q and q not in _ASYNCPG_JIT]


async def _statements_run(admin: asyncpg.Connection) -> list[tuple[str, int]]:
    rows = await admin.fetch("select query, calls from pg_stat_statements s join pg_database d on d.oid = s.dbid "
                             "where d.datname = current_database()")
    return [(" ".join(r["query"].split()).lower(), r["calls"]) for r in rows]


@pytestmark_private
async def test_the_server_runs_set_local_and_never_set_config_in_transaction_scope(counting_cluster) -> None:
    url = counting_cluster.url()
    admin = await asyncpg.connect(url)
    try:
        seen: dict[str, list[tuple[str, int]]] = {}
        for nth, scope in enumerate(("session", "transaction")):
            await admin.execute("select pg_stat_statements_reset()")
            base = Settings(database_url=url, api_database_url=api_url_for(url), pool_min=1, pool_max=3)
            await _exercise(msgspec.structs.replace(base, principal_scope=scope), nth)
            seen[scope] = await _statements_run(admin)
    finally:
        await admin.close()
    principal_set = [(q, n) for q, n in seen["transaction"] if q.startswith("set local app.")]
    by_setting = {s: sum(n for q, n in principal_set if q.startswith(f"set local app.{s} ="))
                  for s in ("role", "tenant_code", "prefecture_code", "key_id")}
    # Six keyed requests and the admin session, at least: each set all four with a literal SET LOCAL.
    assert min(by_setting.values()) >= 6, by_setting
    assert any(q == "set local app.role = 'municipality'" for q, _ in principal_set), principal_set
    assert any(q == f"set local app.tenant_code = '{CHIYODA}'" for q, _ in principal_set), principal_set
    assert not _set_config_run(seen["transaction"]), seen["transaction"]
    # The check sees set_config where it runs: in session scope the key statement and the web map's session
    # set the principal for the session with it.
    assert _set_config_run(seen["session"]), seen["session"]
