"""Write N deterministic asset points around Tokyo to bench/data/points_N.gpkg (EPSG:4326).

Usage: .venv/bin/python bench/make_points.py 1000000
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

CATEGORIES = np.array(["streetlight", "utility_pole", "traffic_signal", "bus_stop", "signage"])


def make(n: int, target: Path) -> None:
    rng = np.random.default_rng(n)
    lon = 139.55 + rng.random(n) * 0.35
    lat = 35.55 + rng.random(n) * 0.25
    frame = pd.DataFrame({
        "source_id": [f"B{i:07d}" for i in range(n)],
        "category": CATEGORIES[rng.integers(0, len(CATEGORIES), n)],
        "name": [f"bench asset {i}" for i in range(n)],
        "height_m": np.round(5 + rng.random(n) * 10, 1),
        "power": np.where(rng.random(n) < 0.6, "yes", "unknown"),
        "fibre_distance_m": np.round(rng.exponential(200, n), 1),
        "availability": np.where(rng.random(n) < 0.8, "offered", "on_request"),
    })
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    target.parent.mkdir(parents=True, exist_ok=True)
    gdf.to_file(target, driver="GPKG", layer="points")


if __name__ == "__main__":
    count = int(sys.argv[1])
    out = Path(__file__).parent / "data" / f"points_{count}.gpkg"
    started = time.monotonic()
    make(count, out)
    print(f"wrote {out} ({count:,} points, {out.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.1f}s")
