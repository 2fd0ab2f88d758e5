"""The national demo at a small scale: chart counts per prefecture, idempotent re-runs."""

from __future__ import annotations

import io

import asyncpg

from loaders.demo import allocate, run_demo
from registry.settings import Settings

# The national chart (domain reference, section 2), written out again here so the test checks the
# generator against the source figures rather than against its own table.
CHART = {"28": 23_429, "13": 15_170, "11": 10_053, "21": 7_531, "30": 6_475, "35": 5_338, "19": 3_952,
         "22": 3_654, "24": 3_589, "23": 3_006, "16": 2_144, "17": 2_129, "42": 2_079, "20": 1_594, "09": 1_158,
         "47": 382}
SCALE = 0.01


def test_allocate_sums_exactly() -> None:
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(allocate(23_429, [5.0, 3.0, 1.0, 0.5] * 10)) == 23_429


async def published_by_prefecture(owner: asyncpg.Connection) -> dict[str, int]:
    rows = await owner.fetch("select left(municipality_code, 2) as p, count(*)::int as n from assets "
                             "where status = 'published' group by 1")
    return {r["p"]: r["n"] for r in rows}


async def test_demo_reproduces_the_chart_and_reruns_change_nothing(settings: Settings,
                                                                   owner: asyncpg.Connection) -> None:
    out = io.StringIO()
    assert await run_demo(settings, scale=SCALE, out=out) == 0
    expected = {p: round(n * SCALE) for p, n in CHART.items()}
    assert await published_by_prefecture(owner) == expected
    text = out.getvalue()
    for role in ("admin", "prefecture", "municipality", "carrier"):
        assert f"  {role} " in text
    assert "kyd_131016_" in text and "kyd_131041_" in text and "kyd_docomo_" in text and "curl -s" in text

    kinds = dict(await owner.fetch("select kind, count(*)::int from priority_areas group by kind"))
    assert set(kinds) == {"commercial_district", "major_station", "municipal_office", "disaster_hospital",
                          "temporary_stay", "evacuation_park", "walk_home_road"}
    assert kinds["municipal_office"] == 62
    assert set(dict(await owner.fetch("select carrier_code, 1 from carriers"))) >= {"docomo", "kddi", "softbank",
                                                                                    "rakuten"}
    tokyo = dict(await owner.fetch("select category, count(*)::int from assets where municipality_code like '13%' "
                                   "group by 1"))
    assert {"subway_entrance", "park", "bus_stop", "land", "rooftop"} <= set(tokyo)
    assert await owner.fetchval("select count(*) from assets where GeometryType(geom) <> 'POINT'") > 0

    state = await owner.fetchrow("""select (select count(*) from assets)::int as a,
                                           (select count(*) from asset_audit)::int as au,
                                           (select count(*) from asset_changes)::int as ch,
                                           (select count(*) from priority_areas)::int as pa,
                                           (select count(*) from api_keys where revoked_at is null)::int as k""")
    assert await run_demo(settings, scale=SCALE, out=io.StringIO()) == 0
    again = await owner.fetchrow("""select (select count(*) from assets)::int as a,
                                           (select count(*) from asset_audit)::int as au,
                                           (select count(*) from asset_changes)::int as ch,
                                           (select count(*) from priority_areas)::int as pa,
                                           (select count(*) from api_keys where revoked_at is null)::int as k""")
    assert dict(again) == dict(state)
    assert await published_by_prefecture(owner) == expected


async def test_demo_at_another_scale_withdraws_what_the_chart_no_longer_has(settings: Settings,
                                                                            owner: asyncpg.Connection) -> None:
    assert await run_demo(settings, scale=0.02, out=io.StringIO()) == 0
    assert await published_by_prefecture(owner) == {p: round(n * 0.02) for p, n in CHART.items()}
    assert await run_demo(settings, scale=SCALE, out=io.StringIO()) == 0
    assert await published_by_prefecture(owner) == {p: round(n * SCALE) for p, n in CHART.items()}
    # Back at 2%: what the 1% run withdrew is published again, nothing else moves.
    assert await run_demo(settings, scale=0.02, out=io.StringIO()) == 0
    assert await published_by_prefecture(owner) == {p: round(n * 0.02) for p, n in CHART.items()}
