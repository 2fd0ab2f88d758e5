"""The SQL that registry/ogc/cql2.py writes, run on real rows and compared with answers computed in Python."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from pyproj import Geod

from registry.ogc.cql2 import Column, translate
from registry.problems import Problem
from tests.assets_fixture import fixture_assets

Q = {
    "category": Column("c.category", "string"),
    "name": Column("c.name", "string"),
    "address": Column("c.address", "string"),
    "height_m": Column("c.height_m", "number"),
    "max_tenants": Column("c.max_tenants", "integer"),
    "geometry": Column("c.geom", "geometry"),
}
_WGS84 = Geod(ellps="WGS84")


def rows() -> list[dict[str, Any]]:
    assets = fixture_assets(n_per_municipality=20)
    for i, a in enumerate(assets):
        if i % 7 == 0:
            a["address"] = None  # some rows without an address, for IS NULL
    return assets


async def insert(owner: asyncpg.Connection, assets: list[dict[str, Any]]) -> None:
    await owner.executemany(
        "insert into assets (municipality_code, source_id, category, name, address, geom, height_m, max_tenants) "
        "values ($1, $2, $3, $4, $5, ST_SetSRID(ST_GeomFromGeoJSON($6), 4326), $7, $8)",
        [(a["municipality_code"], a["source_id"], a["category"], a["name"], a["address"], json.dumps(a["geometry"]),
          a["height_m"], a["max_tenants"]) for a in assets])


async def matching(owner: asyncpg.Connection, text: str, lang: str = "cql2-text") -> set[str]:
    t = translate(text, lang, Q, first_param=2)  # type: ignore[arg-type]
    found = await owner.fetch(f"select c.source_id from assets c where c.source_id <> $1 and {t.sql}",
                              "no-such-id", *t.params)
    return {r["source_id"] for r in found}


def lon_of(a: dict[str, Any]) -> float:
    return a["geometry"]["coordinates"][0]


def lat_of(a: dict[str, Any]) -> float:
    return a["geometry"]["coordinates"][1]


def metres(a: dict[str, Any], lon: float, lat: float) -> float:
    x, y = a["geometry"]["coordinates"]
    return _WGS84.inv(x, y, lon, lat)[2]


CASES: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("category = 'rooftop' AND height_m >= 20", lambda a: a["category"] == "rooftop" and a["height_m"] >= 20),
    ("category <> 'rooftop' AND height_m < 10.5", lambda a: a["category"] != "rooftop" and a["height_m"] < 10.5),
    ("height_m > 40 OR height_m <= 5", lambda a: a["height_m"] > 40 or a["height_m"] <= 5),
    ("NOT (category IN ('bus_stop', 'streetlight') OR height_m BETWEEN 10 AND 30)",
     lambda a: not (a["category"] in ("bus_stop", "streetlight") or 10 <= a["height_m"] <= 30)),
    ("name LIKE 'asset 131016 1%'", lambda a: a["name"].startswith("asset 131016 1")),
    ("address IS NULL AND max_tenants = 3", lambda a: a["address"] is None and a["max_tenants"] == 3),
    ("NOT address IS NULL", lambda a: a["address"] is not None),
    ("S_INTERSECTS(geometry, BBOX(139.74, 35.68, 139.77, 35.70))",
     lambda a: 139.74 <= lon_of(a) <= 139.77 and 35.68 <= lat_of(a) <= 35.70),
    ("S_WITHIN(geometry, POLYGON((135 34, 136 34, 136 35, 135 35, 135 34)))",
     lambda a: a["municipality_code"] == "271004"),
    ("S_DWITHIN(geometry, POINT(139.7036111 35.6938889), 1200)", lambda a: metres(a, 139.7036111, 35.6938889) <= 1200),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:40] for c in CASES])
async def test_filter_returns_exactly_the_rows_python_computes(owner: asyncpg.Connection, text: str,
                                                               expected: Callable[[dict[str, Any]], bool]) -> None:
    assets = rows()
    await insert(owner, assets)
    want = {a["source_id"] for a in assets if expected(a)}
    assert want and want != {a["source_id"] for a in assets}, "the case must split the fixture to be able to fail"
    assert await matching(owner, text) == want


async def test_json_encoding_returns_the_same_rows(owner: asyncpg.Connection) -> None:
    assets = rows()
    await insert(owner, assets)
    as_json = json.dumps({"op": "and", "args": [{"op": "=", "args": [{"property": "category"}, "rooftop"]},
                                                {"op": ">=", "args": [{"property": "height_m"}, 20]}]})
    want = {a["source_id"] for a in assets if a["category"] == "rooftop" and a["height_m"] >= 20}
    assert await matching(owner, as_json, "cql2-json") == want


async def test_an_injection_string_is_only_ever_a_value(owner: asyncpg.Connection) -> None:
    assets = rows()
    assets[0]["name"] = "x' OR 1=1 --"
    await insert(owner, assets)
    assert await matching(owner, "name = 'x'' OR 1=1 --'") == {assets[0]["source_id"]}
    assert await matching(owner, "name = 'y'' OR 1=1 --'") == set()
    assert await owner.fetchval("select count(*) from assets") == len(assets)


async def test_a_ring_postgis_cannot_read_is_refused_before_the_database(owner: asyncpg.Connection) -> None:
    unclosed = '{"type": "Polygon", "coordinates": [[[139, 35], [140, 35], [139, 36]]]}'
    with pytest.raises(asyncpg.InternalServerError):  # what PostGIS does with it: a 500 for the client
        await owner.fetchval("select ST_Intersects(ST_GeomFromGeoJSON($1::text), "
                             "ST_MakeEnvelope(139, 35, 140, 36, 4326))", unclosed)
    with pytest.raises(Problem) as caught:
        translate("S_INTERSECTS(geometry, POLYGON((139 35, 140 35, 139 36)))", "cql2-text", Q, 1)
    assert caught.value.status == 422
