"""One home for the asset rules: registry/assets/rules.py against the database catalogue, the API models
and the loader. The oracle of the first tests is PostgreSQL's own description of the `assets` table
(pg_constraint, information_schema), read independently of the code under test."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import geopandas as gpd
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from shapely.geometry import Point, Polygon

from loaders.assets import load_assets
from loaders.words import CATEGORY_WORDS, WORDS
from registry.assets import rules
from registry.assets.models import AssetFields, AssetPatch
from registry.db.admin import admin_session
from registry.settings import Settings

CHIYODA = "131016"


async def _checks(db: asyncpg.Connection) -> dict[str, str]:
    rows = await db.fetch("""select conname, pg_get_constraintdef(oid) as def from pg_constraint
                              where conrelid = 'assets'::regclass and contype = 'c'""")
    return {r["conname"]: r["def"] for r in rows}


def _about(checks: dict[str, str], column: str) -> list[str]:
    """The CHECK definitions that name `column` as a word."""
    return [d for d in checks.values() if re.search(rf"\b{column}\b", d)]


def _quoted(definition: str) -> set[str]:
    return set(re.findall(r"'([^']*)'::text", definition))


def _bound(definitions: list[str], column: str, op: str) -> Decimal | None:
    """The number a CHECK compares `column` with, e.g. (height_m <= (1000)::numeric) -> 1000."""
    found = [Decimal(m) for d in definitions
             for m in re.findall(rf"\({re.escape(column)} {op} \(?(-?[\d.]+)\)?(?:::\w+)?\)", d)]
    if not found:
        return None
    return min(found) if op == "<=" else max(found)


async def test_enumerations_match_the_check_constraints(owner: asyncpg.Connection) -> None:
    checks = await _checks(owner)
    for column, values in rules.ENUMS.items():
        lists = [_quoted(d) for d in _about(checks, column) if re.fullmatch(rf"CHECK \(\({column} = ANY .*", d)]
        assert len(lists) == 1, (column, _about(checks, column))
        assert lists[0] == set(values), column
    kind = checks["asset_geometry_kind"]
    polygon_list = re.search(r"category = ANY \(ARRAY\[([^\]]*)\]", kind)
    assert polygon_list is not None
    assert _quoted(polygon_list.group(1)) == set(rules.POLYGON_CATEGORIES)


async def test_numeric_ranges_are_what_the_columns_accept(owner: asyncpg.Connection) -> None:
    checks = await _checks(owner)
    types = {r["column_name"]: r for r in await owner.fetch(
        """select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns
            where table_schema = current_schema() and table_name = 'assets'""")}
    integer_max = Decimal(2**31 - 1)
    highs: dict[str, Decimal] = {}
    for column, rule in rules.NUMBERS.items():
        col = types[column]
        defs = _about(checks, column)
        if rule.integer:
            assert col["data_type"] == "integer", column
            capacity = integer_max
        else:
            assert col["data_type"] == "numeric", column
            assert (col["numeric_precision"], col["numeric_scale"]) == rule.digits, column
            p, s = col["numeric_precision"], col["numeric_scale"]
            capacity = Decimal(10) ** (p - s) - Decimal(10) ** -s
        upper = _bound(defs, column, "<=")
        highs[column] = min(capacity, upper) if upper is not None else capacity
        assert Decimal(str(rule.low)) == _bound(defs, column, ">="), column
    # current_tenants <= max_tenants bounds the one by the other's upper limit.
    assert "(current_tenants <= max_tenants)" in checks["asset_tenants_within_capacity"]
    highs["current_tenants"] = min(highs["current_tenants"], highs["max_tenants"])
    for column, rule in rules.NUMBERS.items():
        assert Decimal(str(rule.high)) == highs[column], (column, rule.high, highs[column])


async def test_text_lengths_and_envelope_match_the_check_constraints(owner: asyncpg.Connection) -> None:
    checks = await _checks(owner)
    for column, (low, high) in rules.TEXTS.items():
        defs = [d for d in checks.values() if f"length({column})" in d]
        assert len(defs) == 1, column
        shortest = re.search(rf"length\({column}\) >= (\d+)", defs[0])
        longest = re.search(rf"length\({column}\) <= (\d+)", defs[0])
        assert longest is not None and int(longest.group(1)) == high, column
        assert (int(shortest.group(1)) if shortest else 0) == low, column
    envelope = re.findall(r"\(([\d.]+)\)::double precision", checks["asset_geometry_in_japan"])
    assert [float(v) for v in envelope] == [rules.JAPAN.west, rules.JAPAN.south, rules.JAPAN.east,
                                            rules.JAPAN.north]


async def test_every_checked_column_has_a_rule(owner: asyncpg.Connection) -> None:
    columns = [r["column_name"] for r in await owner.fetch(
        """select column_name from information_schema.columns
            where table_schema = current_schema() and table_name = 'assets'""")]
    checks = await _checks(owner)
    ruled = set(rules.ENUMS) | set(rules.NUMBERS) | set(rules.TEXTS) | {"geom"}
    checked = {c for c in columns if _about(checks, c)}
    assert checked <= ruled, checked - ruled


# --- the API models take their bounds from the rules ------------------------------------------------

def _patch(**values: Any) -> AssetPatch:
    return msgspec.convert(values, AssetPatch)


def test_api_accepts_every_edge_and_refuses_just_beyond() -> None:
    for column in rules.DERIVED:  # counted by the database, never sent
        with pytest.raises(msgspec.ValidationError):
            _patch(**{column: 0})
    for column, rule in rules.WRITABLE_NUMBERS.items():
        step = 1 if rule.integer else 10.0 ** -(rule.digits[1] if rule.digits else 0)
        for edge in (rule.low, rule.high):
            assert getattr(_patch(**{column: edge}), column) == edge
        for beyond in (rule.low - step, rule.high + step):
            with pytest.raises(msgspec.ValidationError):
                _patch(**{column: int(beyond) if rule.integer else beyond})
    for column, (low, high) in rules.TEXTS.items():
        assert getattr(_patch(**{column: "x" * high}), column) == "x" * high
        with pytest.raises(msgspec.ValidationError):
            _patch(**{column: "x" * (high + 1)})
        if low:
            with pytest.raises(msgspec.ValidationError):
                _patch(**{column: ""})
    for column, values in rules.ENUMS.items():
        if column == "status":
            values = rules.WRITABLE_STATUSES
        for value in values:
            assert getattr(_patch(**{column: value}), column) == value
        with pytest.raises(msgspec.ValidationError):
            _patch(**{column: "none of these"})


def test_loader_words_name_only_values_of_the_rules() -> None:
    assert set(CATEGORY_WORDS.values()) <= set(rules.CATEGORIES)
    for attr, words in WORDS.items():
        assert set(words.values()) <= set(rules.ENUMS[attr]), attr


# --- a file load at every edge can be changed through the API afterwards ---------------------------

def _outline(vertices: int) -> Polygon:
    """A ring of `vertices` coordinates (the last repeats the first) 30 m around Chiyoda's town hall."""
    n = vertices - 1
    angles = [2 * math.pi * i / n for i in range(n)]
    return Polygon([(139.7535 + 0.0003 * math.cos(a), 35.6940 + 0.0003 * math.sin(a)) for a in angles])


HIGHS = {"position_accuracy_m": 999_999.99, "height_m": 1000.0, "mountable_height_m": 1000.0,
         "spare_load_kg": 999_999_999.9, "fibre_distance_m": 999_999_999.9, "area_m2": 9_999_999_999.99,
         "max_tenants": 100}
LOWS = dict.fromkeys(HIGHS, 0)


async def test_a_load_at_every_edge_can_then_be_patched(settings: Settings, client: AsyncTestClient, make_key,
                                                        owner: asyncpg.Connection, tmp_path: Path) -> None:
    long = {"address": "住" * 500, "fee_rule": "料" * 1000, "contact": "課" * 500, "source": "元" * 500}
    constraints = ";".join(f"{i:02d}" + "制" * 198 for i in range(20))
    frame = gpd.GeoDataFrame(
        [{"source_id": "H" * 200, "category": "rooftop", "name": "屋" * 500, **HIGHS, **long, "current_tenants": 100,
          "constraints": constraints, "power": "yes", "availability": "reserved", "visibility": "restricted",
          "permit_type": "lease", "status": "draft", "last_verified": "2026-12-31"},
         {"source_id": "L", "category": "streetlight", "name": "灯", **LOWS, "constraints": "",
          "power": "unknown", "availability": "offered", "visibility": "public", "permit_type": "other",
          "status": "published", "last_verified": "2000-01-01", **dict.fromkeys(long, "")}],
        geometry=[_outline(rules.MAX_ASSET_VERTICES), Point(139.7535, 35.6940)], crs=4326)
    path = tmp_path / "edges.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = await admin_session(settings, lambda db: load_assets(db, path, tenant=CHIYODA))
    assert (report.inserted, report.rejected, report.committed) == (2, 0, True), report.issues

    key = await make_key("municipality", CHIYODA)
    listed = await client.get(f"/v1/municipalities/{CHIYODA}/assets", headers=key)
    by_source = {f["properties"]["source_id"]: f for f in listed.json()["features"]}
    high, low = by_source["H" * 200], by_source["L"]
    assert {k: high["properties"][k] for k in HIGHS} == HIGHS
    assert {k: low["properties"][k] for k in LOWS} == LOWS
    # The file's current_tenants is not stored: the database counts approved applications (none yet).
    assert high["properties"]["current_tenants"] == 0
    assert len(high["properties"]["constraints"]) == rules.MAX_CONSTRAINTS
    assert sum(len(ring) for ring in high["geometry"]["coordinates"]) == rules.MAX_ASSET_VERTICES

    for feature in (high, low):
        r = await client.patch(f"/v1/assets/{feature['id']}", json={"contact": "情報政策課"},
                               headers={**key, "If-Match": '"1"'})
        assert r.status_code == 200, r.text
        kept = {k: r.json()["properties"][k] for k in HIGHS}
        assert kept == (HIGHS if feature is high else LOWS)
        assert r.json()["properties"]["contact"] == "情報政策課"
    stored = await owner.fetchval("select count(*) from assets where version = 2")
    assert stored == 2


def test_rules_module_holds_each_list_once() -> None:
    """The loader and the API import their lists; none keeps a copy of its own."""
    root = Path(__file__).resolve().parent.parent
    needle = re.compile(r"\"subway_entrance\", \"park\"|\"partly_available\", \"occupied\"|122\.5, 20\.0")
    files = [p for folder in ("registry", "loaders") for p in (root / folder).rglob("*.py")]
    holders = [p.relative_to(root).as_posix() for p in files if needle.search(p.read_text(encoding="utf-8"))]
    assert holders == ["registry/assets/rules.py"]
    assert AssetFields.__struct_fields__  # the models import cleanly with rule-built types
