"""Reads served by a real streaming standby of the test cluster (issue 17): routing, read-your-writes, the feed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.cluster import Cluster
from registry.db.pool import set_principal
from registry.db.replicas import WAL_HEADER, parse_lsn
from registry.principal import Principal
from registry.settings import Settings, api_url_for
from tests.assets_fixture import CHIYODA
from tests.conftest import feed_until
from tests.replica_fixture import reads_on, remove, standby_of, temp_cluster_dir, wait_reads_on, wait_replayed

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                                reason="needs the embedded cluster, to start a standby of it")

ASSET = {"source_id": "R-1", "category": "streetlight", "name": "replica light",
         "geometry": {"type": "Point", "coordinates": [139.75, 35.69]}}


@pytest.fixture(scope="session")
def shared_standby(admin_url: str) -> Iterator[Cluster]:
    primary = Cluster.default()
    folder = temp_cluster_dir("kyodo-standby-")
    standby = standby_of(primary, folder)
    yield standby
    remove(folder, standby, primary=primary)


@pytest.fixture
async def standby_url(settings: Settings, shared_standby: Cluster) -> str:
    """The test's database on the standby, as the superuser (for inspecting it)."""
    url = shared_standby.url(urlsplit(settings.database_url).path.lstrip("/"))
    await wait_replayed(settings.database_url, url)
    return url


@pytest.fixture
async def rclient(settings: Settings, standby_url: str) -> AsyncIterator[AsyncTestClient]:
    # A lag bound far above the test's pauses, so that only the WAL position decides where a read goes.
    with_replica = msgspec.structs.replace(settings, replica_api_urls=(api_url_for(standby_url),),
                                           replica_check_s=0.1, replica_max_lag_s=600)
    async with AsyncTestClient(app=create_app(with_replica)) as c:
        yield c


async def test_a_search_runs_on_the_standby(rclient: AsyncTestClient, make_key, standby_url: str) -> None:
    carrier = await make_key("carrier", "docomo")
    before = await reads_on(standby_url)
    answer = await rclient.get("/v1/assets", params={"municipality": CHIYODA}, headers=carrier)
    assert answer.status_code == 200, answer.text
    # Statistics are kept per server and never replicated: scans counted on the standby were made there.
    assert await wait_reads_on(standby_url, before) > before
    # ... and a write stays on the primary, answering with its WAL position.
    chiyoda = await make_key("municipality", CHIYODA)
    created = await rclient.post("/v1/assets", json=ASSET, headers=chiyoda)
    assert created.status_code == 201, created.text
    assert parse_lsn(created.headers[WAL_HEADER]) > 0


async def _ids(client: AsyncTestClient, headers: dict[str, str]) -> set[str]:
    answer = await client.get("/v1/assets", params={"municipality": CHIYODA}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {f["id"] for f in answer.json()["features"]}


async def test_a_post_then_an_immediate_get_sees_the_new_asset(rclient: AsyncTestClient, make_key,
                                                               settings: Settings, standby_url: str) -> None:
    writer = await make_key("municipality", CHIYODA, "writer")
    colleague = await make_key("municipality", CHIYODA, "colleague")   # same tenant, never writes
    await wait_replayed(settings.database_url, standby_url)             # both keys are on the standby
    standby = await asyncpg.connect(standby_url)
    await standby.execute("select pg_wal_replay_pause()")                # the standby now falls behind for sure
    try:
        created = await rclient.post("/v1/assets", json=ASSET, headers=writer)
        assert created.status_code == 201, created.text
        new_id, position = created.json()["id"], created.headers[WAL_HEADER]
        # The writer sends nothing back, yet sees its asset: the primary remembered its key's last position.
        assert new_id in await _ids(rclient, writer)
        # Its colleague is served by the paused standby, which has not seen it: the routing is real ...
        before = await reads_on(standby_url)
        assert new_id not in await _ids(rclient, colleague)
        assert await wait_reads_on(standby_url, before) > before
        # ... unless the colleague sends the position back: then the primary serves it.
        assert new_id in await _ids(rclient, {**colleague, WAL_HEADER: position})
        malformed = await rclient.get("/v1/assets", params={"municipality": CHIYODA},
                                      headers={**colleague, WAL_HEADER: "yesterday"})
        assert malformed.status_code == 422 and WAL_HEADER in malformed.text
    finally:
        await standby.execute("select pg_wal_replay_resume()")
        await standby.close()
    await wait_replayed(settings.database_url, standby_url)
    before = await reads_on(standby_url)
    assert new_id in await _ids(rclient, {**colleague, WAL_HEADER: position})  # the standby has it now
    assert await wait_reads_on(standby_url, before) > before


INSERT = """insert into assets (municipality_code, source_id, category, name, geom)
            values ($1, $2, 'streetlight', $2, ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326))
            returning asset_id::text"""


async def test_the_feed_on_the_standby_never_skips_a_transaction_held_open(
        rclient: AsyncTestClient, make_key, settings: Settings, standby_url: str) -> None:
    carrier = await make_key("carrier", "kddi")
    chiyoda = Principal("k", "municipality", CHIYODA, "130001", "writer")
    first = await asyncpg.connect(settings.api_database_url)
    second = await asyncpg.connect(settings.api_database_url)
    try:
        t1 = first.transaction()
        await t1.start()
        await set_principal(first, chiyoda)
        # The held transaction takes its id and writes NO WAL yet: the standby learns that it exists only from
        # the later transaction's records (every id below an observed one counts as running until it ends).
        await first.fetchval("select pg_current_xact_id()")
        t2 = second.transaction()
        await t2.start()
        await set_principal(second, chiyoda)
        late = await second.fetchval(INSERT, CHIYODA, "late")
        await t2.commit()
        await wait_replayed(settings.database_url, standby_url)     # the standby has the late commit

        before = await reads_on(standby_url)
        body = (await rclient.get("/v1/assets/changes", headers=carrier)).json()
        assert await wait_reads_on(standby_url, before) > before      # the feed was read on the standby
        assert late not in [c["asset_id"] for c in body["changes"]]  # held back behind the open transaction
        cursor = body["cursor"]

        early = await first.fetchval(INSERT, CHIYODA, "early")
        await t1.commit()
        await wait_replayed(settings.database_url, standby_url)
        body = await feed_until(rclient, carrier, lambda changes: len(changes) >= 2, after=cursor)
        seen = [c["asset_id"] for c in body["changes"]]
        assert seen == [early, late]                                  # in commit-order-safe xid order, once each
        again = (await rclient.get("/v1/assets/changes", params={"after": body["cursor"]}, headers=carrier)).json()
        assert again["changes"] == [] and again["cursor"] == body["cursor"]
    finally:
        await first.close()
        await second.close()


async def test_a_standby_lagging_beyond_the_bound_is_skipped(settings: Settings, standby_url: str, make_key) -> None:
    writer = await make_key("municipality", CHIYODA, "writer")
    colleague = await make_key("municipality", CHIYODA, "colleague")
    await wait_replayed(settings.database_url, standby_url)
    bounded = msgspec.structs.replace(settings, replica_api_urls=(api_url_for(standby_url),),
                                      replica_check_s=0.05, replica_max_lag_s=0.3)
    standby = await asyncpg.connect(standby_url)
    await standby.execute("select pg_wal_replay_pause()")
    try:
        async with AsyncTestClient(app=create_app(bounded)) as client:
            replica = client.app.state.replicas.replicas[0]
            created = await client.post("/v1/assets", json=ASSET, headers=writer)    # the primary moves on
            assert created.status_code == 201, created.text
            deadline = asyncio.get_running_loop().time() + 10
            while replica.lag_s <= 0.3:                                               # ... the standby does not
                assert asyncio.get_running_loop().time() < deadline, replica
                await asyncio.sleep(0.05)
            # The paused standby has not got the asset; the colleague (who never wrote) sees it: the primary served.
            assert created.json()["id"] in await _ids(client, colleague)
    finally:
        await standby.execute("select pg_wal_replay_resume()")
        await standby.close()
