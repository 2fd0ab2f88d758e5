"""The outbox: an event exists if and only if its change committed; who hears of what; asset events per
statement; a worker killed in the middle of a delivery loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import asyncpg
import pytest

from registry.settings import Settings
from tests.assets_fixture import CHIYODA, SHINJUKU
from tests.conftest import assert_problem
from tests.events_fixture import Receiver, act, apply, client_for, event_settings, make_asset, worker


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


async def _count(owner: asyncpg.Connection, event_type: str) -> int:
    return await owner.fetchval("select count(*) from event_outbox where type = $1", event_type)


async def test_a_rolled_back_request_writes_no_event(client, make_key, owner: asyncpg.Connection) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    asset = await make_asset(client, chiyoda, "P-1", max_tenants=1)
    first, second = await apply(client, docomo, asset), await apply(client, docomo, asset)
    assert (await act(client, chiyoda, first["application_id"], "approve")).status_code == 200
    # The second approval moves the status, then finds no slot and fails: the whole request rolls back.
    assert_problem(await act(client, chiyoda, second["application_id"], "approve"), 409)
    assert await _count(owner, "application.approved") == 1
    assert await owner.fetchval("select data->>'application_id' from event_outbox where type = 'application.approved'"
                                ) == first["application_id"]
    assert await _count(owner, "application.submitted") == 2
    # And a transaction rolled back by hand leaves nothing either.
    before = await owner.fetchval("select count(*) from event_outbox")
    tx = owner.transaction()
    await tx.start()
    await owner.execute("update applications set status = 'withdrawn' where application_id = $1::uuid",
                        second["application_id"])
    assert await owner.fetchval("select count(*) from event_outbox") == before + 1
    await tx.rollback()
    assert await owner.fetchval("select count(*) from event_outbox") == before


async def test_assets_announce_one_event_per_statement(client, make_key, owner: asyncpg.Connection) -> None:
    import json
    chiyoda = await make_key("municipality", CHIYODA)
    await make_asset(client, chiyoda, "P-1")
    # A multi-row statement that logs its own rows, as a load does (sql/180, loaders/merge.py): one event with the
    # count, not one per row.
    async with owner.transaction():
        await owner.execute("set local app.assets_logged = on")
        await owner.execute("""with added as (
                                 insert into assets as a (municipality_code, source_id, category, name, geom)
                                 select $1, 'B-' || i, 'streetlight', 'light',
                                        ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326)
                                   from generate_series(1, 250) i returning a)
                               select app.assets_logged(array(select a from added), null, null)""", CHIYODA)
    rows = await owner.fetch("select type, data from event_outbox where type like 'asset.%' order by event_id")
    counts = [(r["type"], json.loads(r["data"])["count"], len(json.loads(r["data"])["asset_ids"])) for r in rows]
    assert counts == [("asset.published", 1, 1), ("asset.published", 250, 100)]
    for where, change in (("source_id like 'B-1%'", "name = 'lamp'"), ("source_id = 'B-2'", "status = 'withdrawn'")):
        async with owner.transaction():
            await owner.execute("set local app.assets_logged = on")
            await owner.execute(f"""with old as (select a as stored from assets a where {where} for update),
                                    changed as (update assets a set {change}, version = a.version + 1 from old o
                                                 where a.asset_id = (o.stored).asset_id returning a)
                                    select app.assets_logged(null, array(select stored from old),
                                                             array(select a from changed))""")
    later = await owner.fetch("select type, (data->>'count')::int as n from event_outbox where type like 'asset.%' "
                              "order by event_id offset 2")
    # B-1, B-10..B-19, B-100..B-199: 1 + 10 + 100 (oracle: counted by hand from the names)
    assert [(r["type"], r["n"]) for r in later] == [("asset.changed", 111), ("asset.withdrawn", 1)]
    # A statement that leaves its rows to the row triggers (a DBA's UPDATE) announces each row on its own:
    # B-20..B-29 and B-200..B-250 (B-2 is withdrawn, and stays so).
    await owner.execute("update assets set name = 'lamp 2', version = version + 1 where source_id like 'B-2%'")
    last = await owner.fetch("select type, (data->>'count')::int as n from event_outbox where type like 'asset.%' "
                             "order by event_id offset 4")
    assert [(r["type"], r["n"]) for r in last] == [("asset.changed", 1)] * 61


async def test_tenants_hear_only_their_own(settings: Settings, make_key, owner: asyncpg.Connection) -> None:
    s = event_settings(settings)
    async with client_for(s) as client:
        chiyoda = await make_key("municipality", CHIYODA)
        shinjuku = await make_key("municipality", SHINJUKU)
        docomo, kddi = await make_key("carrier", "docomo"), await make_key("carrier", "kddi")
        tokyo, osaka = await make_key("prefecture", "130001"), await make_key("prefecture", "270008")
        subs = {}
        for name, key in (("chiyoda", chiyoda), ("shinjuku", shinjuku), ("docomo", docomo), ("kddi", kddi),
                          ("tokyo", tokyo), ("osaka", osaka)):
            r = await client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x",
                                                        "event_types": ["application.*"]}, headers=key)
            assert r.status_code == 201, r.text
            subs[name] = r.json()["subscription_id"]
        await apply(client, docomo, await make_asset(client, chiyoda, "P-1"))
        heard = {r["subscription_id"] for r in await owner.fetch(
            "select distinct subscription_id::text from webhook_deliveries")}
        assert heard == {subs["chiyoda"], subs["docomo"], subs["tokyo"]}
        # Another tenant's subscription and its log are not found; the list shows only one's own.
        assert_problem(await client.get(f"/v1/webhooks/{subs['chiyoda']}", headers=shinjuku), 404)
        assert_problem(await client.get(f"/v1/webhooks/{subs['chiyoda']}/deliveries", headers=kddi), 404)
        assert_problem(await client.delete(f"/v1/webhooks/{subs['chiyoda']}", headers=tokyo), 404)
        mine = (await client.get("/v1/webhooks", headers=shinjuku)).json()["items"]
        assert [m["subscription_id"] for m in mine] == [subs["shinjuku"]]
        assert all(m.get("secret") is None for m in mine)


@pytest.mark.parametrize("url", ["http://127.0.0.1/x", "http://10.1.2.3/x", "http://169.254.169.254/latest",
                                 "http://[::1]/x", "http://192.168.0.1/", "http://localhost/x", "ftp://example.com/"])
async def test_private_targets_are_refused(client, make_key, url: str) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    body = assert_problem(await client.post("/v1/webhooks", json={"url": url}, headers=chiyoda), 422)
    assert body["errors"][0]["field"] == "url" if body.get("errors") else True


async def test_a_worker_killed_mid_delivery_loses_nothing(settings: Settings, make_key,
                                                          receiver: Receiver) -> None:
    s = event_settings(settings)
    env = {**os.environ, "DATABASE_URL": s.database_url, "API_DATABASE_URL": s.api_database_url,
           "KYODO_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8", "KYODO_WORKER_LEASE_S": "1",
           "KYODO_WEBHOOK_RETRY_BASE_S": "0.2"}
    async with client_for(s) as client:
        chiyoda = await make_key("municipality", CHIYODA)
        r = await client.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["application.*"]},
                              headers=chiyoda)
        secret = r.json()["secret"]
        receiver.mode = "hang"  # takes the request and never answers
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "registry.cli", "worker", "--sweep", "0.3",
                                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            app = await apply(client, await make_key("carrier", "docomo"), await make_asset(client, chiyoda, "P-1"))
            await receiver.wait_for(lambda: receiver.requests, 60)
            assert receiver.requests, "the first worker started the delivery"
        finally:
            os.kill(proc.pid, signal.SIGKILL)  # in the middle of the delivery
            await proc.wait()
        receiver.mode = "up"
        async with worker(s):
            await receiver.wait_for(lambda: receiver.accepted(), 30)
        from standardwebhooks.webhooks import Webhook
        headers, body = receiver.accepted()[0]
        assert Webhook(secret).verify(body, headers)["data"]["application_id"] == app["application_id"]
        assert headers["webhook-id"] == receiver.requests[0][0]["webhook-id"]  # the same message, sent again


async def test_asset_events_leave_a_transaction_preparable(owner: asyncpg.Connection) -> None:
    """A parallel load prepares its transactions (two-phase commit), which PostgreSQL refuses after a NOTIFY."""
    await owner.execute("begin")
    await owner.execute("""insert into assets (municipality_code, source_id, category, name, geom)
                           select $1, 'T-' || i, 'streetlight', 'light', ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326)
                             from generate_series(1, 3) i""", CHIYODA)
    await owner.execute("prepare transaction 'kyodo-events-test'")
    await owner.execute("commit prepared 'kyodo-events-test'")
    # One event per row since sql/180 (a statement that does not log its own rows): three in all.
    assert await owner.fetchval("select sum((data->>'count')::int) from event_outbox where type = 'asset.published'"
                                ) == 3
