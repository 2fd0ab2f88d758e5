"""A private primary + standby pair, stopped in turn (issue 17): reads answer whichever server is away; writes answer
503 problem+json while the primary is. Never the shared test cluster: these tests stop servers."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.auth import queries as key_queries
from registry.cluster import Cluster
from registry.db.admin import admin_session
from registry.db.migrate import migrate
from registry.settings import Settings, api_url_for
from registry.tenants.reference import load_reference
from tests.assets_fixture import CHIYODA
from tests.conftest import assert_problem
from tests.replica_fixture import reads_on, remove, standby_of, temp_cluster_dir, wait_reads_on, wait_replayed

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not os.access("/usr/lib/postgresql", os.R_OK),
                                reason="needs PostgreSQL's server binaries")

ASSET = {"source_id": "F-1", "category": "streetlight", "name": "failover light",
         "geometry": {"type": "Point", "coordinates": [139.75, 35.69]}}


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Cluster, Cluster]]:
    folder = temp_cluster_dir("kyodo-pair-")
    primary = Cluster(datadir=folder / "primary", port=55432)
    standby = None
    try:
        primary.up()
        conn = await asyncpg.connect(primary.url())
        try:
            await migrate(conn)
            await load_reference(conn)
        finally:
            await conn.close()
        standby = standby_of(primary, folder, offset=1)
        yield primary, standby
    finally:
        remove(folder, *([standby] if standby else []), primary)


async def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_reads_answer_with_either_server_away_and_writes_answer_503_without_the_primary(
        pair: tuple[Cluster, Cluster]) -> None:
    primary, standby = pair
    settings = Settings(database_url=primary.url(), api_database_url=api_url_for(primary.url()),
                        replica_api_urls=(api_url_for(standby.url()),), replica_check_s=0.1, pool_min=1, pool_max=4)
    created = await admin_session(settings, lambda db: key_queries.create_key(db, "municipality", CHIYODA, "t"))
    key = {"Authorization": f"Bearer {created.key}"}
    search = ("/v1/assets", {"municipality": CHIYODA})
    async with AsyncTestClient(app=create_app(settings)) as client:
        replicas = client.app.state.replicas
        new = await client.post("/v1/assets", json=ASSET, headers=key)
        assert new.status_code == 201, new.text
        asset_id = new.json()["id"]
        await wait_replayed(primary.url(), standby.url())

        standby.stop("immediate")
        answer = await client.get(search[0], params=search[1], headers=key)
        assert answer.status_code == 200, answer.text                      # the primary answers alone
        assert asset_id in {f["id"] for f in answer.json()["features"]}
        assert not replicas.replicas[0].up

        standby.follow(primary)                                            # back, and caught up
        await _until(lambda: replicas.replicas[0].up)
        primary.stop("fast")
        before = await reads_on(standby.url())
        answer = await client.get(search[0], params=search[1], headers=key)
        assert answer.status_code == 200, answer.text                      # the standby answers alone ...
        assert asset_id in {f["id"] for f in answer.json()["features"]}
        assert await wait_reads_on(standby.url(), before) > before         # ... and it did the reading
        assert not replicas.primary_up

        refused = await client.post("/v1/assets", json={**ASSET, "source_id": "F-2"}, headers=key)
        body = assert_problem(refused, 503)
        assert "replica" in body["detail"] and refused.headers["Retry-After"]
        in_japanese = await client.post("/v1/assets", json={**ASSET, "source_id": "F-3"},
                                        headers={**key, "Accept-Language": "ja"})
        assert assert_problem(in_japanese, 503)["detail"] != body["detail"]
        assert in_japanese.headers["Content-Language"] == "ja"

        revoked = {"Authorization": f"Bearer {created.key[:-4]}0000"}       # the standby checks keys on its own
        assert (await client.get(search[0], params=search[1], headers=revoked)).status_code == 401
