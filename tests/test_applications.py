"""Usage applications: the workflow, who sees what, deadlines, and the last tenancy slot under concurrency."""

import asyncio
import datetime as dt

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from registry.applications.states import TransitionError, next_status, slot_change
from tests.assets_fixture import CHIYODA, SHINJUKU
from tests.conftest import assert_problem

POLE = {"category": "utility_pole", "name": "pole", "geometry": {"type": "Point", "coordinates": [139.7536, 35.6938]},
        "height_m": 12}


async def _asset(client: AsyncTestClient, headers: dict, source_id: str, **extra) -> str:
    r = await client.post("/v1/assets", json={**POLE, "source_id": source_id, **extra}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _apply(client: AsyncTestClient, headers: dict, *asset_ids: str) -> dict:
    r = await client.post("/v1/applications", json={"asset_ids": list(asset_ids), "purpose": "5G small cell",
                                                    "starts_on": "2027-04-01", "ends_on": "2032-03-31"},
                          headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _act(client: AsyncTestClient, headers: dict, application_id: str, action: str, **extra):
    return await client.post(f"/v1/applications/{application_id}/actions", json={"action": action, **extra},
                             headers=headers)


async def _tenants(client: AsyncTestClient, headers: dict, asset_id: str) -> tuple[int, str]:
    p = (await client.get(f"/v1/assets/{asset_id}", headers=headers)).json()["properties"]
    return p["current_tenants"], p["availability"]


async def test_full_workflow_fills_and_frees_a_slot(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    asset = await _asset(client, chiyoda, "P-1", max_tenants=2)
    app = await _apply(client, docomo, asset)
    assert app["status"] == "submitted" and app["municipality_code"] == CHIYODA and app["asset_ids"] == [asset]
    assert app["decision_due"] == (dt.date.today() + dt.timedelta(days=30)).isoformat()
    aid = app["application_id"]

    assert (await _act(client, chiyoda, aid, "request_information", note="電源容量は?")).json()["status"] == \
        "information_requested"
    assert (await _act(client, docomo, aid, "respond", note="2 kW")).json()["status"] == "submitted"
    approved = (await _act(client, chiyoda, aid, "approve")).json()
    assert approved["status"] == "approved" and approved["decided_at"]
    assert await _tenants(client, chiyoda, asset) == (1, "offered")
    assert (await _act(client, docomo, aid, "report_installed")).json()["status"] == "installed"
    done = (await _act(client, chiyoda, aid, "terminate")).json()
    assert done["status"] == "terminated"
    assert await _tenants(client, chiyoda, asset) == (0, "offered")
    assert [h["action"] for h in done["history"]] == ["submit", "request_information", "respond", "approve",
                                                      "report_installed", "terminate"]
    assert done["history"][1]["actor_tenant"] == CHIYODA and done["history"][2]["actor_tenant"] == "docomo"


async def test_refusal_needs_a_reason_and_parties_keep_to_their_roles(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    tokyo = await make_key("prefecture", "130001")
    aid = (await _apply(client, docomo, await _asset(client, chiyoda, "P-1")))["application_id"]
    assert_problem(await _act(client, docomo, aid, "approve"), 403)
    assert_problem(await _act(client, tokyo, aid, "approve"), 403)
    assert_problem(await _act(client, chiyoda, aid, "withdraw"), 403)
    assert "reason" in assert_problem(await _act(client, chiyoda, aid, "refuse"), 409)["detail"]
    assert_problem(await _act(client, chiyoda, aid, "refuse", reason="too_ugly"), 422)
    refused = (await _act(client, chiyoda, aid, "refuse", reason="no_space", note="将来利用予定")).json()
    assert refused["status"] == "refused" and refused["refusal_reason"] == "no_space"
    assert "refused" in assert_problem(await _act(client, chiyoda, aid, "approve"), 409)["detail"]


async def test_who_sees_which_applications(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    shinjuku = await make_key("municipality", SHINJUKU)
    docomo = await make_key("carrier", "docomo")
    kddi = await make_key("carrier", "kddi")
    tokyo = await make_key("prefecture", "130001")
    osaka = await make_key("prefecture", "270008")
    mine = (await _apply(client, docomo, await _asset(client, chiyoda, "P-1")))["application_id"]
    theirs = (await _apply(client, kddi, await _asset(client, shinjuku, "P-2",
                                                     geometry={"type": "Point",
                                                               "coordinates": [139.7036, 35.6938]})))["application_id"]

    async def visible(headers: dict) -> set[str]:
        return {a["application_id"] for a in (await client.get("/v1/applications", headers=headers)).json()["items"]}

    assert await visible(docomo) == {mine} and await visible(kddi) == {theirs}
    assert await visible(chiyoda) == {mine} and await visible(shinjuku) == {theirs}
    assert await visible(tokyo) == {mine, theirs} and await visible(osaka) == set()
    for headers, hidden in ((docomo, theirs), (kddi, mine), (shinjuku, mine), (osaka, mine)):
        assert_problem(await client.get(f"/v1/applications/{hidden}", headers=headers), 404)
    assert_problem(await _act(client, kddi, mine, "withdraw"), 404)
    assert_problem(await _act(client, shinjuku, mine, "approve"), 404)


async def test_bad_applications(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    shinjuku = await make_key("municipality", SHINJUKU)
    docomo = await make_key("carrier", "docomo")
    a = await _asset(client, chiyoda, "P-1")
    b = await _asset(client, shinjuku, "P-2", geometry={"type": "Point", "coordinates": [139.7036, 35.6938]})
    draft = await _asset(client, chiyoda, "P-3", status="draft")
    body = {"purpose": "5G", "starts_on": "2027-04-01"}
    split = assert_problem(await client.post("/v1/applications", json={**body, "asset_ids": [a, b]},
                                             headers=docomo), 422)
    assert "one application per municipality" in split["detail"]
    assert_problem(await client.post("/v1/applications", json={**body, "asset_ids": [draft]}, headers=docomo), 422)
    assert_problem(await client.post("/v1/applications", json={**body, "asset_ids": ["nope"]}, headers=docomo), 422)
    assert_problem(await client.post("/v1/applications", json={**body, "asset_ids": [a], "ends_on": "2020-01-01"},
                                     headers=docomo), 422)
    assert_problem(await client.post("/v1/applications", json={**body, "asset_ids": [a]}, headers=chiyoda), 403)


async def test_deadlines_follow_the_municipality_and_overdue_ones_are_listed(
        client: AsyncTestClient, make_key, owner: asyncpg.Connection) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    r = await client.put(f"/v1/municipalities/{CHIYODA}/settings", json={"decision_days": 14},
                         headers={**chiyoda, "If-Match": '"0"'})
    assert r.status_code == 200
    app = await _apply(client, docomo, await _asset(client, chiyoda, "P-1"))
    assert app["decision_due"] == (dt.date.today() + dt.timedelta(days=14)).isoformat() and not app["overdue"]
    late = await _apply(client, docomo, await _asset(client, chiyoda, "P-2"))
    # Two weeks pass without a decision on the second one.
    await owner.execute("update applications set decision_due = current_date - 1 where application_id = $1",
                        late["application_id"])
    overdue = (await client.get("/v1/applications", params={"overdue": "true"}, headers=chiyoda)).json()["items"]
    assert [a["application_id"] for a in overdue] == [late["application_id"]] and overdue[0]["overdue"]
    await _act(client, chiyoda, late["application_id"], "approve")
    assert (await client.get("/v1/applications", params={"overdue": "true"}, headers=chiyoda)).json()["items"] == []


async def test_two_concurrent_approvals_of_the_last_slot(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    kddi = await make_key("carrier", "kddi")
    asset = await _asset(client, chiyoda, "P-1", max_tenants=2)
    # One of the two slots is taken by an approved application (current_tenants is not writable).
    earlier = (await _apply(client, await make_key("carrier", "softbank"), asset))["application_id"]
    assert (await _act(client, chiyoda, earlier, "approve")).status_code == 200
    assert await _tenants(client, chiyoda, asset) == (1, "offered")
    first = (await _apply(client, docomo, asset))["application_id"]
    second = (await _apply(client, kddi, asset))["application_id"]
    results = await asyncio.gather(_act(client, chiyoda, first, "approve"), _act(client, chiyoda, second, "approve"))
    assert sorted(r.status_code for r in results) == [200, 409]
    loser = next(r for r in results if r.status_code == 409)
    assert "no free tenancy slot" in assert_problem(loser, 409)["detail"]
    assert await _tenants(client, chiyoda, asset) == (2, "occupied")
    statuses = {a["status"] for a in (await client.get("/v1/applications", headers=chiyoda)).json()["items"]}
    assert statuses == {"approved", "submitted"}


async def test_many_concurrent_approvals_never_overfill(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    asset = await _asset(client, chiyoda, "P-1", max_tenants=3)
    ids = []
    for carrier in ("c1", "c2", "c3", "c4", "c5", "c6"):
        ids.append((await _apply(client, await make_key("carrier", carrier), asset))["application_id"])
    results = await asyncio.gather(*(_act(client, chiyoda, i, "approve") for i in ids))
    assert sorted(r.status_code for r in results) == [200] * 3 + [409] * 3
    assert await _tenants(client, chiyoda, asset) == (3, "occupied")


def test_state_machine() -> None:
    assert next_status("submitted", "approve", "owner") == "approved"
    assert next_status("information_requested", "refuse", "owner", "interference") == "refused"
    with pytest.raises(TransitionError) as err:
        next_status("submitted", "approve", "carrier")
    assert err.value.forbidden
    with pytest.raises(TransitionError):
        next_status("withdrawn", "respond", "carrier")
    assert slot_change("submitted", "approved") == 1
    assert slot_change("installed", "terminated") == -1
    assert slot_change("approved", "installed") == 0


async def test_current_tenants_is_counted_from_applications(client: AsyncTestClient, make_key,
                                                            owner: asyncpg.Connection) -> None:
    """Read-only in the API and kept true by the database, whoever writes the asset."""
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    sent = await client.post("/v1/assets", json={**POLE, "source_id": "T-1", "current_tenants": 2}, headers=chiyoda)
    assert "current_tenants" in assert_problem(sent, 422)["detail"]
    asset = await _asset(client, chiyoda, "T-1", max_tenants=3)
    r = await client.get(f"/v1/assets/{asset}", headers=chiyoda)
    patched = await client.patch(f"/v1/assets/{asset}", json={"current_tenants": 3},
                                 headers={**chiyoda, "If-Match": r.headers["etag"]})
    assert "current_tenants" in assert_problem(patched, 422)["detail"]
    app = (await _apply(client, docomo, asset))["application_id"]
    assert (await _act(client, chiyoda, app, "approve")).status_code == 200
    # Even the table's owner, bypassing the API, stores the count and not what it sends.
    await owner.execute("update assets set current_tenants = 3 where asset_id = $1", asset)
    count = await owner.fetchval(
        """select count(*) from application_assets aa join applications a using (municipality_code, application_id)
            where aa.asset_id = $1 and a.status in ('approved', 'installed')""", asset)
    assert count == 1 and (await _tenants(client, chiyoda, asset))[0] == 1
    # max_tenants cannot drop below the slots held.
    r = await client.get(f"/v1/assets/{asset}", headers=chiyoda)
    low = await client.patch(f"/v1/assets/{asset}", json={"max_tenants": 0},
                             headers={**chiyoda, "If-Match": r.headers["etag"]})
    assert "max_tenants" in assert_problem(low, 422)["detail"]
    assert (await _act(client, chiyoda, app, "terminate")).status_code == 200
    assert (await _tenants(client, chiyoda, asset))[0] == 0
