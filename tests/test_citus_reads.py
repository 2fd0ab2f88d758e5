"""Issue 17 item 3: the catalogue reads rewritten so Citus can plan them (coverage at 0 m and the OGC
coverage-gaps collection) give the answers of the statements they replace (tests/citus_old_reads.py, the
oracle; coverage also against the catalogue counted under each area), row for row and value for value, over varied
data: three municipalities in two prefectures, every visibility, status and availability, moved, edited and
withdrawn assets, priority areas large and small, empty and full, near restricted assets' exact places and
their mesh centres; read as every kind of principal, with every parameter the routes pass."""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest

from registry.areas import queries as area_queries
from registry.db.pool import set_principal
from registry.principal import Principal
from tests import citus_old_reads as old
from tests.assets_fixture import CENTRES, CHIYODA, OSAKA_CITY, SHINJUKU
from tests.conftest import as_principal

_PREFECTURE_OF = {CHIYODA: "130001", SHINJUKU: "130001", OSAKA_CITY: "270008"}
_INSERT = """insert into assets (municipality_code, source_id, category, name, geom, availability, visibility, status)
             select $1::lgcode, s, 'utility_pole', 'pole ' || s, ST_SetSRID(ST_MakePoint(x, y), 4326), av, vis, st
               from unnest($2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[], $7::text[])
                    u(s, x, y, av, vis, st)"""
_EDIT = """update assets set availability = $3, geom = ST_Translate(geom, $4, 0), version = version + 1,
                  updated_at = now() where municipality_code = $1 and source_id = $2"""
_WITHDRAW = """update assets set status = 'withdrawn', version = version + 1, updated_at = now()
                where municipality_code = $1 and source_id = $2"""
_AVAILABILITY = ["offered", "on_request", "partly_available", "occupied", "reserved"]
_KINDS = ["major_station", "commercial_district", "municipal_office"]
READERS = [Principal("k", "carrier", "docomo", None, "k"), Principal("k", "municipality", CHIYODA, "130001", "k"),
           Principal("k", "prefecture", "130001", "130001", "k"),
           Principal("k", "municipality", OSAKA_CITY, "270008", "k"), Principal("k", "admin", "admin", None, "k")]


def _square(lon: float, lat: float, half: float) -> str:
    return (f'{{"type": "Polygon", "coordinates": [[[{lon - half}, {lat - half}], [{lon + half}, {lat - half}], '
            f'[{lon + half}, {lat + half}], [{lon - half}, {lat + half}], [{lon - half}, {lat - half}]]]}}')


@pytest.fixture
async def world(api_conn: asyncpg.Connection, owner: asyncpg.Connection) -> dict[str, Any]:
    rng = random.Random(17)
    for code, (lon, lat) in CENTRES.items():
        writer = Principal("k", "municipality", code, _PREFECTURE_OF[code], "k")
        ids = [f"{code}-{i:02d}" for i in range(45)]
        cols: list[list[Any]] = [ids, [lon + rng.uniform(-0.02, 0.02) for _ in ids],
                                 [lat + rng.uniform(-0.015, 0.015) for _ in ids],
                                 [rng.choice(_AVAILABILITY) for _ in ids],
                                 [rng.choice(["public", "carriers", "restricted"]) for _ in ids],
                                 [rng.choice(["published"] * 5 + ["draft"]) for _ in ids]]
        async with api_conn.transaction():
            await set_principal(api_conn, writer)
            await api_conn.execute(_INSERT, code, *cols)
    areas: list[str] = []
    withdrawn: dict[str, list[str]] = {}
    for code, (lon, lat) in CENTRES.items():
        prefecture = Principal("k", "prefecture", _PREFECTURE_OF[code], _PREFECTURE_OF[code], "k")
        # Restricted assets' exact places and mesh centres, so readers who see either count them differently.
        async with api_conn.transaction():
            await set_principal(api_conn, Principal("k", "admin", "admin", None, "k"))
            spots = await api_conn.fetch(
                """select source_id, ST_X(geom) as x, ST_Y(geom) as y, ST_X(coarse_geom) as cx,
                          ST_Y(coarse_geom) as cy
                     from assets where municipality_code = $1 and visibility = 'restricted'
                      and status = 'published' order by source_id limit 3""", code)
        shapes = [(lon + rng.uniform(-0.02, 0.02), lat + rng.uniform(-0.015, 0.015), rng.uniform(0.0005, 0.008))
                  for _ in range(8)]
        withdrawn[code] = [s["source_id"] for s in spots[:1]]  # its small area empties
        shapes += [(s["x"], s["y"], 0.0003) for s in spots] + [(s["cx"], s["cy"], 0.0003) for s in spots]
        shapes += [(lon + 0.3, lat + 0.3, 0.001)]  # far from everything
        for i, (x, y, half) in enumerate(shapes):
            async with api_conn.transaction():
                await set_principal(api_conn, prefecture)
                made = await area_queries.insert_area(api_conn, _PREFECTURE_OF[code], _KINDS[i % 3],
                                                      f"{code} area {i}", None, _square(x, y, half))
            areas.append(made.id)
        # The far area as two writers still open would leave it (sql/090): an offered asset in, and out again,
        # in two rows that add up to nothing.
        await owner.execute("""insert into area_coverage_log (municipality_code, area_prefecture, area_id,
                                                              availability, place, n)
                               select $1, $2, $3, 'offered', 'p', n from unnest(array[1, -1]) n""",
                            code, _PREFECTURE_OF[code], made.id)
    # Changes after the areas exist, so the summaries hold rows that add up to nothing (an area whose offered
    # assets all left), as a live catalogue does: moves, new availabilities, withdrawals, restricted ones too.
    for code in CENTRES:
        writer = Principal("k", "municipality", code, _PREFECTURE_OF[code], "k")
        ids = [f"{code}-{i:02d}" for i in range(45)]
        for s in rng.sample(ids, 12):  # each in its own transaction, so the feed has many transactions
            async with api_conn.transaction():
                await set_principal(api_conn, writer)
                await api_conn.execute(_EDIT, code, s, rng.choice(_AVAILABILITY), rng.uniform(-0.003, 0.003))
        for s in withdrawn[code]:  # offered first, so its area's offered count goes 1 -> 0 with it
            async with api_conn.transaction():
                await set_principal(api_conn, writer)
                await api_conn.execute(_EDIT, code, s, "offered", 0.0)
        for s in [*rng.sample(ids, 5), *withdrawn[code]]:
            async with api_conn.transaction():
                await set_principal(api_conn, writer)
                await api_conn.execute(_WITHDRAW, code, s)
    return {"areas": areas}


async def _both(conn: asyncpg.Connection, reader: Principal | None, before: str, after: str,
                *args: Any) -> list[tuple]:
    expected = [tuple(r.values()) for r in await as_principal(conn, reader, before, *args)]
    got = [tuple(r.values()) for r in await as_principal(conn, reader, after, *args)]
    assert got == expected, (reader, args)
    return got


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.role)
async def test_coverage_at_0_m_counts_as_before(api_conn: asyncpg.Connection, world: dict, reader) -> None:
    seen: set[int] = set()
    for prefecture, kind in ((None, None), ("13", None), ("27", "major_station"), ("13", "municipal_office")):
        for availability in (["offered", "partly_available"], ["occupied", "reserved", "on_request"]):
            rows = await _both(api_conn, reader, old.COVERAGE_SUMMARY, area_queries._COVERAGE_SUMMARY,
                               prefecture, kind, availability)
            # A second oracle, independent of the log: the catalogue counted under each area.
            counted = await as_principal(api_conn, reader, old.COVERAGE, prefecture, kind, availability, 0.0)
            assert rows == [tuple(r.values()) for r in counted]
            seen |= {row[4] for row in rows}
    assert 0 in seen and len(seen) > 3  # empty and full areas, several counts


@pytest.mark.parametrize("reader", [*READERS, None], ids=lambda r: r.role if r else "none")
async def test_coverage_gaps_as_before(api_conn: asyncpg.Connection, world: dict, reader) -> None:
    out = [4326, False, 7]
    page = old.GAP_STATEMENTS["page forward"]
    whole = await _both(api_conn, reader, old.old_gaps(page), page, *[None] * 4, 4326, None, None, *out, None,
                        None, 1000)
    if reader is not None:
        assert 0 < len(whole) < len(world["areas"])  # some areas are gaps, some are not
    tokyo_box = [139.6, 35.6, 139.8, 35.8, 4326]
    for forward in (True, False):
        sql = old.GAP_STATEMENTS["page forward" if forward else "page backward"]
        for box in ([None] * 4 + [4326], tokyo_box):
            for keyset in ([None, None], list(whole[len(whole) // 2][:2]) if whole else [None, None]):
                await _both(api_conn, reader, old.old_gaps(sql), sql, *box, None, None, *out, *keyset, 3)
    count = old.GAP_STATEMENTS["count"]
    for box in ([None] * 4 + [4326], tokyo_box):
        await _both(api_conn, reader, old.old_gaps(count), count, *box, None, None)
    one = old.GAP_STATEMENTS["one"]
    for area in world["areas"]:
        await _both(api_conn, reader, old.old_gaps(one), one, area, *out)
