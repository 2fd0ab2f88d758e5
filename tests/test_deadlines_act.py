"""Deadlines that act, against the real database: the clock stops while information is requested, an overdue
application escalates to the prefecture, and is deemed approved only where the municipality chose that."""

from __future__ import annotations

import json

import asyncpg

from registry.applications.deadlines import add_days
from registry.events.jobs import deadline_checks
from registry.events.runtime import close_runtime, open_runtime
from registry.settings import Settings
from tests.assets_fixture import CHIYODA, SHINJUKU
from tests.events_fixture import act, apply, make_asset


async def _rules(client, headers, code, **rules) -> None:
    r = await client.put(f"/v1/municipalities/{code}/deadline-rules", json=rules,
                         headers={**headers, "If-Match": '"0"'})
    assert r.status_code == 200, r.text


async def test_information_request_stops_the_clock(client, make_key, owner: asyncpg.Connection) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    await _rules(client, chiyoda, CHIYODA, day_basis="working")
    today = await owner.fetchval("select current_date")
    app = await apply(client, docomo, await make_asset(client, chiyoda, "P-1"))
    assert app["decision_due"] == add_days(today, 30, "working").isoformat()
    aid = app["application_id"]
    asked = (await act(client, chiyoda, aid, "request_information", note="図面を")).json()
    assert asked["information_due"] == add_days(today, 10, "working").isoformat()
    assert asked["clock_days_left"] == 30
    # As if the request had come with 4 working days left and the decision date had since passed: the stopped
    # clock makes it neither overdue nor escalated.
    await owner.execute("update applications set clock_days_left = 4, decision_due = current_date - 20 "
                        "where application_id = $1::uuid", aid)
    overdue = (await client.get("/v1/applications", params={"overdue": "true"}, headers=chiyoda)).json()["items"]
    assert overdue == []
    answered = (await act(client, docomo, aid, "respond", note="添付しました")).json()
    assert answered["decision_due"] == add_days(today, 4, "working").isoformat()
    assert answered["clock_days_left"] is None and answered["information_due"] is None


async def test_overdue_escalates_and_is_deemed_approved_only_where_chosen(
        settings: Settings, client, make_key, owner: asyncpg.Connection) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    shinjuku = await make_key("municipality", SHINJUKU)
    docomo = await make_key("carrier", "docomo")
    await _rules(client, chiyoda, CHIYODA, deemed_approval=True)
    deemed = await apply(client, docomo, await make_asset(client, chiyoda, "P-1"))
    kept = await apply(client, docomo, await make_asset(client, shinjuku, "P-1"))
    on_time = await apply(client, docomo, await make_asset(client, chiyoda, "P-2"))
    await owner.execute("update applications set decision_due = current_date - 1 "
                        "where application_id = any($1::uuid[])", [deemed["application_id"], kept["application_id"]])
    await owner.execute("update applications set decision_due = current_date + 2 where application_id = $1::uuid",
                        on_time["application_id"])  # within the default 3 days: a reminder
    rt = await open_runtime(settings)
    try:
        reminded, escalated, approved, _rounds = await deadline_checks(rt)
        again = await deadline_checks(rt)
    finally:
        await close_runtime(rt)
    assert (reminded, escalated, approved) == (1, 2, 1)
    assert again[:3] == (0, 0, 0)  # once each
    d = (await client.get(f"/v1/applications/{deemed['application_id']}", headers=chiyoda)).json()
    assert d["status"] == "approved" and d["deemed"] is True
    assert [h["action"] for h in d["history"]] == ["submit", "escalate", "deemed_approve"]
    k = (await client.get(f"/v1/applications/{kept['application_id']}", headers=shinjuku)).json()
    assert k["status"] == "submitted" and not k["deemed"]
    assert [h["action"] for h in k["history"]] == ["submit", "escalate"]
    t = (await client.get(f"/v1/applications/{on_time['application_id']}", headers=chiyoda)).json()
    assert [h["action"] for h in t["history"]] == ["submit"]
    # The deemed approval took the slot like an approval (oracle: the applications that hold one).
    assert await owner.fetchval("select current_tenants from assets where asset_id = $1::uuid",
                                d["asset_ids"][0]) == 1
    events = await owner.fetch("select type, audience, data->>'application_id' as aid, data->>'deemed' as deemed "
                               "from event_outbox where type in ('application.overdue', 'application.approved') "
                               "order by event_id")
    # Each escalation comes before its deemed approval; the two applications in either order.
    assert sorted((e["type"], e["aid"]) for e in events) == sorted([
        ("application.overdue", deemed["application_id"]), ("application.approved", deemed["application_id"]),
        ("application.overdue", kept["application_id"])])
    mine = [e["type"] for e in events if e["aid"] == deemed["application_id"]]
    assert mine == ["application.overdue", "application.approved"]
    assert all("pref:13" in e["audience"] for e in events)  # escalated to Tokyo
    assert [e["deemed"] for e in events if e["type"] == "application.approved"] == ["true"]


async def test_the_carrier_is_reminded_once_before_its_information_date(
        settings: Settings, client, make_key, owner: asyncpg.Connection) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    docomo = await make_key("carrier", "docomo")
    near, far = [(await apply(client, docomo, await make_asset(client, chiyoda, f"I-{i}")))["application_id"]
                 for i in range(2)]
    for aid in (near, far):
        assert (await act(client, chiyoda, aid, "request_information", note="図面を")).status_code == 200
    # Calendar basis (the default), remind_days 3: 2 days left is near, 20 is not.
    await owner.execute("update applications set information_due = current_date + 2 where application_id = $1::uuid",
                        near)
    await owner.execute("update applications set information_due = current_date + 20 where application_id = $1::uuid",
                        far)
    rt = await open_runtime(settings)
    try:
        first, again = await deadline_checks(rt), await deadline_checks(rt)
    finally:
        await close_runtime(rt)
    assert first[0] == 1 and again[0] == 0
    events = await owner.fetch("select audience, data from event_outbox "
                               "where type = 'application.information_due_soon'")
    assert len(events) == 1
    due = await owner.fetchval("select information_due from applications where application_id = $1::uuid", near)
    data = json.loads(events[0]["data"])
    assert data["application_id"] == near and data["information_due"] == due.isoformat()
    assert "docomo" in events[0]["audience"]
    # A new request sets a new date, which is announced again.
    await owner.execute("update applications set information_due = current_date + 1 where application_id = $1::uuid",
                        near)
    rt = await open_runtime(settings)
    try:
        assert (await deadline_checks(rt))[0] == 1
    finally:
        await close_runtime(rt)
