"""Municipal boundaries (N03) and priority areas from the committed synthetic fixtures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from loaders.boundaries import load_boundaries
from loaders.priority_areas import load_priority_areas
from registry.cli import main
from registry.db.admin import admin_session
from registry.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "loaders"


async def test_n03_boundaries_dissolved_per_code(settings: Settings, owner: asyncpg.Connection) -> None:
    report = await load_boundaries(owner, FIXTURES / "n03_sample.geojson")
    # Chiyoda, Chuo, Tsurumi and Kanagawa wards, Hakodate (code without its leading zero), and Yokohama
    # itself dissolved from its two wards; the feature without a code is skipped and counted.
    assert report.codes == ["012025", "131016", "131024", "141003", "141011", "141020"]
    assert report.without_code == 1 and report.cities_from_wards == ["141003"]
    rows = {r["code"]: r for r in await owner.fetch(
        "select code::text, ST_NumGeometries(geom) as parts, ST_Area(geom) as area, GeometryType(geom) as kind "
        "from municipality_boundaries")}
    assert {r["kind"] for r in rows.values()} == {"MULTIPOLYGON"}
    assert rows["131016"]["parts"] == 1 and abs(rows["131016"]["area"] - 0.05 * 0.03) < 1e-9
    assert rows["131024"]["parts"] == 2
    assert abs(rows["141003"]["area"] - (rows["141011"]["area"] + rows["141020"]["area"])) < 1e-9

    loaded_at = await owner.fetchval("select max(loaded_at) from municipality_boundaries")
    again = await load_boundaries(owner, FIXTURES / "n03_sample.geojson")
    assert again.loaded == 6
    assert await owner.fetchval("select count(*) from municipality_boundaries") == 6
    assert await owner.fetchval("select max(loaded_at) from municipality_boundaries") == loaded_at


async def test_priority_areas_load_and_reload(settings: Settings, owner: asyncpg.Connection) -> None:
    path = FIXTURES / "priority_areas_tokyo.geojson"
    report = await admin_session(settings, lambda db: load_priority_areas(db, path, "130001", "evacuation_park"))
    assert (report.inserted, report.updated, report.rejected) == (5, 0, [])
    rows = {r["source_id"]: r for r in await owner.fetch(
        "select source_id, kind, name, version, GeometryType(geom) as g from priority_areas")}
    assert rows["st-tokyo"]["kind"] == "major_station"
    assert rows["park-hibiya"]["kind"] == "evacuation_park"
    assert rows["municipal_office:千代田区役所"]["name"] == "千代田区役所"
    assert {r["g"] for r in rows.values()} == {"MULTIPOLYGON"}
    again = await admin_session(settings, lambda db: load_priority_areas(db, path, "130001", "evacuation_park"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert await owner.fetchval("select count(*) from priority_areas") == 5
    assert await owner.fetchval("select max(version) from priority_areas") == 1


async def test_priority_areas_bad_features_store_nothing(settings: Settings, owner: asyncpg.Connection,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("API_DATABASE_URL", settings.api_database_url)
    code = await asyncio.to_thread(main, ["load", "priority-areas", str(FIXTURES / "priority_areas_bad.geojson"),
                                          "--prefecture", "13"])
    assert code == 1
    err = capsys.readouterr().err
    assert "feature 1: rejected: a LineString is not an area" in err and "feature 2: rejected: kind 'castle'" in err
    assert await owner.fetchval("select count(*) from priority_areas") == 0


async def test_cli_loads_boundaries(settings: Settings, owner: asyncpg.Connection,
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("API_DATABASE_URL", settings.api_database_url)
    assert await asyncio.to_thread(main, ["load", "boundaries", str(FIXTURES / "n03_sample.geojson")]) == 0
    assert "6 municipalities loaded" in capsys.readouterr().out
    assert await owner.fetchval("select count(*) from municipality_boundaries") == 6
