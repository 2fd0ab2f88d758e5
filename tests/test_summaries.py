"""The summaries of sql/090 against an independent oracle: the same counts computed from scratch from the
assets and priority areas, after a random mix of inserts, updates (moves, availability, visibility, publish and
withdraw), deletes and bulk loads; and the statistics and coverage answers against the catalogue queries they
replaced, per role (restricted assets stay masked)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import asyncpg
import pytest

from loaders.assets import load_assets
from loaders.parallel import admin_connections
from registry.areas import queries as area_queries
from registry.assets import queries as asset_queries
from registry.db.admin import admin_session
from registry.principal import Principal
from registry.settings import Settings
from tests.conftest import as_principal
from tests.test_load_assets import write_lights_csv

CODES = ["131016", "131041", "132012", "271004"]  # Chiyoda, Shinjuku, Hachioji, Osaka
CENTRES = {"131016": (139.753, 35.694), "131041": (139.703, 35.694), "132012": (139.316, 35.666),
           "271004": (135.502, 34.694)}
CATEGORIES = ["rooftop", "streetlight", "utility_pole", "bus_stop"]
AVAILABILITY = ["offered", "on_request", "partly_available", "occupied", "reserved"]

# From scratch: published assets per key, and per area at the place each reader class sees them.
ORACLE_COUNTS = """select municipality_code::text, category, availability, count(*)::bigint
                     from assets where status = 'published' group by 1, 2, 3"""
ORACLE_COVERAGE = """
select x.municipality_code::text, ar.prefecture_code::text, ar.area_id, x.availability, x.place, count(*)::bigint
  from priority_areas ar,
       lateral (select a.municipality_code, a.availability,
                       case when a.visibility = 'restricted' then 'e' else 'p' end as place
                  from assets a where a.status = 'published' and ST_Intersects(a.geom, ar.geom)
                union all
                select a.municipality_code, a.availability, 'c' from assets a
                 where a.status = 'published' and a.visibility = 'restricted'
                   and ST_Intersects(a.coarse_geom, ar.geom)) x
 group by 1, 2, 3, 4, 5"""
SUMMARY_COUNTS = """select municipality_code::text, category, availability, sum(n)::bigint from asset_count_log
                     group by 1, 2, 3 having sum(n) <> 0"""
SUMMARY_COVERAGE = """select municipality_code::text, area_prefecture::text, area_id, availability, place::text,
                             sum(n)::bigint
                        from area_coverage_log group by 1, 2, 3, 4, 5 having sum(n) <> 0"""
OLD_STATS = {
    "prefecture": """select left(c.municipality_code, 2) as key, p.name as label, count(*) as n
                       from asset_catalogue c join prefectures p on p.number = left(c.municipality_code, 2)
                      group by 1, 2 order by 1""",
    "municipality": """select c.municipality_code::text as key, m.name as label, count(*) as n
                         from asset_catalogue c join municipalities m on m.code = c.municipality_code
                        where ($1::text is null or left(c.municipality_code, 2) = $1) group by 1, 2 order by 1""",
    "category": """select c.category as key, null as label, count(*) as n from asset_catalogue c
                    where ($1::text is null or left(c.municipality_code, 2) = $1) group by 1 order by 1""",
    "availability": """select c.availability as key, null as label, count(*) as n from asset_catalogue c
                        where ($1::text is null or left(c.municipality_code, 2) = $1) group by 1 order by 1""",
}
ROLES = [Principal("k", "carrier", "docomo", None, "k"), Principal("k", "municipality", "131016", "130001", "k"),
         Principal("k", "prefecture", "130001", "130001", "k"), Principal("k", "admin", "admin", None, "k")]


def _point(rng: random.Random, code: str) -> str:
    lon, lat = CENTRES[code]
    return f"SRID=4326;POINT({lon + rng.uniform(-0.03, 0.03):.7f} {lat + rng.uniform(-0.02, 0.02):.7f})"


async def _areas(owner: asyncpg.Connection, rng: random.Random) -> None:
    """Boxes of 1-4 km around the centres; some hold restricted assets' mesh centres and not their points."""
    for i in range(12):
        code = rng.choice(CODES)
        lon, lat = CENTRES[code]
        x, y, w = lon + rng.uniform(-0.03, 0.03), lat + rng.uniform(-0.02, 0.02), rng.uniform(0.01, 0.03)
        await owner.execute(
            """insert into priority_areas (prefecture_code, kind, name, geom)
               values ($1, 'commercial_district', $2, ST_Multi(ST_MakeEnvelope($3, $4, $5, $6, 4326)))""",
            code[:2] + "0001" if code[:2] == "13" else "270008", f"area {i}", x, y, x + w, y + w)


async def _insert(owner: asyncpg.Connection, rng: random.Random, n: int, tag: str) -> None:
    rows = [(code := rng.choice(CODES), f"{tag}-{i}", rng.choice(CATEGORIES), _point(rng, code),
             rng.choice(AVAILABILITY), rng.choice(["public", "carriers", "restricted"]),
             rng.choice(["published", "published", "draft"])) for i in range(n)]
    await owner.executemany(
        """insert into assets (municipality_code, source_id, category, name, geom, availability, visibility, status)
           values ($1, $2, $3, 'x', $4::text::geometry, $5, $6, $7)""", rows)
    if n > 1 and rng.random() < 0.5:  # and a multi-row statement: one trigger call for all of them
        await owner.execute(
            """insert into assets (municipality_code, source_id, category, name, geom, availability, visibility)
               select '131041', $1 || '-m' || i, 'rooftop', 'm',
                      ST_SetSRID(ST_MakePoint(139.70 + i * 0.001, 35.69), 4326),
                      case when i % 2 = 0 then 'offered' else 'occupied' end,
                      case when i % 3 = 0 then 'restricted' else 'carriers' end
                 from generate_series(1, $2::int) i""", tag, n)


async def _mutate(owner: asyncpg.Connection, rng: random.Random) -> None:
    # In the order the seeded inserts made them (asset ids are random uuids), so a seed replays the same picks.
    ids = [r["asset_id"] for r in await owner.fetch(
        "select asset_id from assets order by municipality_code, source_id, asset_id")]
    if not ids:
        return
    picked = rng.sample(ids, min(len(ids), rng.randint(1, 8)))
    change = rng.choice(["move", "availability", "visibility", "status", "category", "delete", "name"])
    sql = {
        "move": "update assets set geom = ST_Translate(geom, $2, $3) where asset_id = any($1)",
        "availability": "update assets set availability = $2 where asset_id = any($1)",
        "visibility": "update assets set visibility = $2 where asset_id = any($1)",
        "status": "update assets set status = $2 where asset_id = any($1)",
        "category": "update assets set category = $2 where asset_id = any($1)",
        "delete": "delete from assets where asset_id = any($1)",
        "name": "update assets set name = 'renamed', version = version + 1 where asset_id = any($1)",
    }[change]
    args = {"move": (rng.uniform(-0.01, 0.01), rng.uniform(-0.01, 0.01)),
            "availability": (rng.choice(AVAILABILITY),),
            "visibility": (rng.choice(["public", "carriers", "restricted"]),),
            "status": (rng.choice(["published", "withdrawn", "draft"]),),
            "category": (rng.choice(CATEGORIES),)}.get(change, ())
    await owner.execute(sql, picked, *args)


async def _assert_summaries_match(owner: asyncpg.Connection) -> None:
    assert sorted(map(tuple, await owner.fetch(SUMMARY_COUNTS))) == sorted(map(tuple, await owner.fetch(ORACLE_COUNTS)))
    assert sorted(map(tuple, await owner.fetch(SUMMARY_COVERAGE))) == sorted(
        map(tuple, await owner.fetch(ORACLE_COVERAGE)))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_summaries_equal_a_count_from_scratch(settings: Settings, owner: asyncpg.Connection, tmp_path: Path,
                                                     seed: int) -> None:
    rng = random.Random(seed)
    lights = tmp_path / "lights.csv"
    await _areas(owner, rng)
    for step in range(12):
        if step % 3 == 0:
            await _insert(owner, rng, rng.randint(1, 25), f"s{step}")
        elif step == 7:  # a bulk load through the loader's COPY path, then the same file again, changed
            write_lights_csv(lights, 60)
            await admin_session(settings, lambda db: load_assets(db, lights, tenant="131016", publish=True))
            lights.write_text(lights.read_text().replace("streetlight", "utility_pole", 20))
            await admin_session(settings, lambda db: load_assets(db, lights, tenant="131016", publish=True))
        elif step == 10:  # an area moves, one goes
            await owner.execute("update priority_areas set geom = ST_Translate(geom, 0.004, 0.002) "
                                "where area_id = (select area_id from priority_areas order by area_id limit 1)")
            await owner.execute("delete from priority_areas "
                                "where area_id = (select area_id from priority_areas order by area_id desc limit 1)")
        else:
            await _mutate(owner, rng)
        await _assert_summaries_match(owner)
    assert await owner.fetchval("select count(*) from asset_count_log") > 0
    # Rows written with the triggers off are missed, until the summaries are rebuilt from scratch.
    await owner.execute("alter table assets disable trigger assets_summaries_insert")
    await _insert(owner, rng, 5, "off")
    await owner.execute("alter table assets enable trigger assets_summaries_insert")
    with pytest.raises(AssertionError):
        await _assert_summaries_match(owner)
    await owner.execute("select app.summaries_rebuild()")
    await _assert_summaries_match(owner)


async def test_answers_equal_the_catalogue_queries_per_role(owner: asyncpg.Connection, api_conn: asyncpg.Connection
                                                            ) -> None:
    rng = random.Random(11)
    await _areas(owner, rng)
    await _insert(owner, rng, 120, "r")
    for _ in range(6):
        await _mutate(owner, rng)
    # And one restricted, published asset certainly inside an area, whatever the mutations did: the exact place
    # checked below must exist for every seed.
    await owner.execute(
        """insert into assets (municipality_code, source_id, category, name, geom, availability, visibility, status)
           select '131016', 'r-inside', 'rooftop', 'x', ST_PointOnSurface(geom), 'offered', 'restricted', 'published'
             from priority_areas where prefecture_code = '130001' order by area_id limit 1""")
    restricted = await owner.fetchval("select count(*) from assets where visibility = 'restricted' "
                                      "and status = 'published' and municipality_code = '131016'")
    assert restricted > 0
    covered = 0
    for who in ROLES:
        for group_by, old in OLD_STATS.items():
            args = () if group_by == "prefecture" else (None,)
            expected = [tuple(r) for r in await as_principal(api_conn, who, old, *args)]
            got = [tuple(r) for r in await as_principal(api_conn, who, asset_queries.STATS[group_by], *args)]
            assert got == expected and expected, (who.role, group_by)
        for pref in ("13", None):
            counted = ["offered", "partly_available"]
            expected = [tuple(r) for r in await as_principal(api_conn, who, area_queries._COVERAGE, pref, None,
                                                             counted, 0.0)]
            got = [tuple(r) for r in await as_principal(api_conn, who, area_queries._COVERAGE_SUMMARY, pref, None,
                                                        counted)]
            assert got == expected, (who.role, pref)
            covered += sum(r[4] for r in got)
    assert covered > 0
    # The exact place of a restricted asset reaches only readers who may see its owner's data.
    exact = "select count(*) from area_coverage_log where place = 'e'"
    assert await owner.fetchval(exact) > 0
    assert (await as_principal(api_conn, ROLES[0], exact))[0][0] == 0
    assert (await as_principal(api_conn, None, "select count(*) from asset_count_log"))[0][0] == 0


async def test_writers_of_the_same_counts_do_not_wait_for_each_other(settings: Settings, owner: asyncpg.Connection
                                                                     ) -> None:
    """Two open transactions add to the same municipality x category x availability (as the parallel loader's
    workers do before their two-phase commit): the second must not wait for the first."""
    first, second = await asyncpg.connect(settings.database_url), await asyncpg.connect(settings.database_url)
    insert = """insert into assets (municipality_code, source_id, category, name, geom)
                values ('131016', $1, 'streetlight', 'x', ST_SetSRID(ST_MakePoint(139.753, 35.694), 4326))"""
    try:
        await owner.execute(insert, "before")
        t1, t2 = first.transaction(), second.transaction()
        await t1.start()
        await t2.start()
        await first.execute(insert, "one")
        await second.execute("set local lock_timeout = '2s'")
        await asyncio.wait_for(second.execute(insert, "two"), 10)
        await t2.commit()
        await t1.commit()
    finally:
        await first.close()
        await second.close()
    assert await owner.fetchval("select sum(n) from asset_count_log where category = 'streetlight'") == 3
    await _assert_summaries_match(owner)


async def test_parallel_load_keeps_the_counts(settings: Settings, owner: asyncpg.Connection, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if await owner.fetchval("select current_setting('max_prepared_transactions')::int") < 4:
        pytest.skip("this server does not allow prepared transactions; the embedded cluster does")
    from loaders import validate

    monkeypatch.setattr(validate, "BATCH_ROWS", 7)
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 40)
    report = await asyncio.wait_for(admin_session(settings, lambda db: load_assets(
        db, path, tenant="131016", parallel=admin_connections(settings, 3), publish=True)), 60)
    assert report.committed
    assert await owner.fetchval("select sum(n) from asset_count_log") == 40
    await _assert_summaries_match(owner)
