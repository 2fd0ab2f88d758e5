"""Savings, aggregate, what-if and OCDS as kept per version of a round (registry/procurement/summary.py).

The oracle is today's computation, run afresh on the same data: RoundPools.load and savings.report on
a connection of their own, as the admin. Answers must equal it to the yen, before and after every kind
of change the version counts (a need, a tender, the catalogue's curve).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from registry.db.admin import admin_session
from registry.procurement import queries, views
from registry.procurement.demand import RoundPools
from registry.procurement.savings import report
from tests.test_procurement_api import (
    TABLET,
    World,
    need,
    submit_fixture,
    world,  # noqa: F401  (the fixture)
)


async def _fresh(settings, round_id: str) -> tuple[list[dict], RoundPools]:
    async def work(db):
        r = await queries.get_round(db, round_id)
        rp = await RoundPools.load(db, r)
        rows = report(rp.inputs(), await queries.visible_baselines(db, r.organiser_code, r.round_id))
        return msgspec.to_builtins(rows), rp
    return await admin_session(settings, work)


async def _answer(w: World, query: str = "") -> list[dict]:
    r = await w.get("admin", f"/v1/procurement/rounds/{w.round_id}/savings{query}")
    assert r.status_code == 200, r.text
    body = r.json()
    return body["rows"] + body["untendered"]  # report() lists the tendered section, then the untendered one


async def test_savings_equal_a_fresh_computation_across_changes(world: World  # noqa: F811
, settings) -> None:
    w = world
    await submit_fixture(w)

    async def check() -> list[dict]:
        expected, _ = await _fresh(settings, w.round_id)
        detail = await _answer(w, "?detail=municipality")
        assert detail == expected
        summarised = await _answer(w)
        assert summarised == [row for row in expected if row["level"] != "municipality"]
        # No tender is formed: every pool is in the untendered section, the total counts none of them.
        assert {row["level"] for row in summarised} == {"pool", "total"}
        return summarised

    before = await check()
    # A need changes: the pooled tablet quantity drops from 21 to 13, below the 20 tier.
    r = await w.client.post(f"/v1/procurement/needs/{w.needs['C/tablet']}/withdraw",
                            headers={**w.keys["C"], "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    after_need = await check()
    assert after_need != before
    # The catalogue's curve changes: every figure priced on it moves.
    body = {k: v for k, v in TABLET.items() if k not in ("category_code", "unit_code")}
    body["price_tiers"] = [{"min_quantity": 1, "unit_price_yen": 990}, {"min_quantity": 10, "unit_price_yen": 700}]
    r = await w.client.put("/v1/procurement/categories/tablet", json=body,
                           headers={**w.keys["admin"], "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    after_curve = await check()
    assert after_curve != after_need


async def test_summary_is_small_and_detail_is_checked(world: World  # noqa: F811
) -> None:
    w = world
    await submit_fixture(w)
    bad = await w.get("admin", f"/v1/procurement/rounds/{w.round_id}/savings?detail=everything")
    assert bad.status_code == 422 and "detail" in bad.text
    csv_rows = (await w.get("admin", f"/v1/procurement/rounds/{w.round_id}/savings?f=csv")).text.splitlines()
    assert not any(line.startswith("municipality,") for line in csv_rows)
    assert any(line.startswith("total,") for line in csv_rows)


async def test_aggregate_and_what_if_equal_a_fresh_computation(world: World  # noqa: F811
, settings) -> None:
    w = world
    await submit_fixture(w)
    _, rp = await _fresh(settings, w.round_id)
    from registry.db.admin import COMMAND_LINE_ADMIN

    expected = msgspec.to_builtins(views.aggregate(rp, COMMAND_LINE_ADMIN))
    assert (await w.get("admin", f"/v1/procurement/rounds/{w.round_id}/aggregate")).json() == expected
    r = await w.post("A", f"/v1/procurement/rounds/{w.round_id}/needs", need("tablet", 5, 900, "current_contract"))
    assert r.status_code == 201
    got = (await w.get("admin", f"/v1/procurement/rounds/{w.round_id}/aggregate")).json()
    tablet = next(c for c in got["categories"] if c["category_code"] == "tablet")
    assert tablet["quantity"] == 8 + 7 + 6 + 5
    what_if = (await w.get("admin", f"/v1/procurement/rounds/{w.round_id}/what-if?pool=tablet/1&k=1&q=3")).json()
    assert what_if["pooled_quantity_now"] == 26 and what_if["pooled_quantity_then"] == 29


async def test_streamed_ocds_equals_the_package_built_whole(world: World  # noqa: F811
, settings) -> None:
    w = world
    await submit_fixture(w)
    got = (await w.get("admin", f"/v1/ocds/rounds/{w.round_id}")).json()

    async def work(db):
        r = await queries.get_round(db, w.round_id)
        rp = await RoundPools.load(db, r)
        needs = await queries.active_needs(db, r.organiser_code, r.round_id)
        names = await queries.municipality_names(db, sorted({n.municipality_code for n in needs}))
        organiser = views.organiser_org(r.organiser_code, await queries.prefecture_name(db, r.organiser_code))
        return views.ocds_releases(rp, organiser, needs, names, {}, [], datetime.now(UTC))

    expected = msgspec.to_builtins(await admin_session(settings, work))
    assert len(got["releases"]) == len(expected) == 3
    assert got["releases"] == expected
    assert got["version"] == "1.1" and got["publisher"] == {"name": "Kyodo Registry"}
