"""A loaded number is stored as its shortest exact decimal, rounded half away from zero to its column's scale.

The load casts a staged float to numeric through its text (loaders/merge.py, _STAGED). Oracle: Python's repr of
the same double (also the shortest decimal that reads back as it) and Decimal's rounding, on a GeoPackage, which
keeps doubles exactly."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import asyncpg
import geopandas as gpd
from shapely.geometry import Point

from loaders.assets import load_assets
from registry.db.admin import admin_session
from registry.settings import Settings

HEIGHTS = [9.25, 12.345, 2.675, 1.005, 0.1 + 0.2, 999.995, 123.456789012345,
           math.nextafter(1.005, 0), 0.0, 7.0]
FIBRE = [0.25, 0.35, 1e-7, 1234567.85, 0.05, 2.5e-1, 10.45, 99.95, 3.0, 0.15]


def _rounded(x: float, places: str) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


async def test_loaded_numbers_round_their_shortest_decimal(settings: Settings, owner: asyncpg.Connection,
                                                          tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"source_id": [f"n{i}" for i in range(len(HEIGHTS))], "category": "streetlight",
         "name": [f"light {i}" for i in range(len(HEIGHTS))], "height_m": HEIGHTS, "fibre_distance_m": FIBRE},
        geometry=[Point(139.75 + i / 1000, 35.69) for i in range(len(HEIGHTS))], crs=4326)
    path = tmp_path / "numbers.gpkg"
    frame.to_file(path, driver="GPKG")
    report = await admin_session(settings, lambda db: load_assets(db, path, tenant="131016"))
    assert report.inserted == len(HEIGHTS)

    rows = {r["source_id"]: r for r in await owner.fetch("select source_id, height_m, fibre_distance_m from assets")}
    for i, (height, fibre) in enumerate(zip(HEIGHTS, FIBRE, strict=True)):
        assert rows[f"n{i}"]["height_m"] == _rounded(height, "0.01"), height
        assert rows[f"n{i}"]["fibre_distance_m"] == _rounded(fibre, "0.1"), fibre
    # 12.345 and 2.675 lie just below their halves as doubles: their shortest decimals round up all the same.
    assert rows["n1"]["height_m"] == Decimal("12.35") and rows["n2"]["height_m"] == Decimal("2.68")
    # Where 15 significant digits (the direct cast's) and the shortest decimal disagree after rounding: only for a
    # double no number of at most 15 digits reads as.
    differs = [x for x in HEIGHTS if Decimal(f"{x:.15g}").quantize(Decimal("0.01"), ROUND_HALF_UP)
               != _rounded(x, "0.01")]
    assert differs == [HEIGHTS[7]] and rows["n7"]["height_m"] == Decimal("1.00")
