"""The coarse location (sql/193): a point's third-mesh centre, an outline's by its point on surface.

Oracle: the mesh arithmetic in Python, on the same doubles. A point's centre must come out bit for bit; an
outline's must be the centre of the cell its shapely representative point falls in (outlines whose point on
surface lies far from any cell edge, so GEOS versions cannot disagree on the cell)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import asyncpg
import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Point, box

from loaders.assets import load_assets
from registry.db.admin import admin_session
from registry.settings import Settings


def _centre(lon: float, lat: float) -> tuple[float, float]:
    # JIS X 0410 third mesh: 45" of longitude (1/80°) from 100°E, 30" of latitude (1/120°) from 0°N.
    return 100 + (math.floor((lon - 100) * 80) + 0.5) / 80, (math.floor(lat * 120) + 0.5) / 120


async def test_coarse_location_is_the_mesh_centre_of_points_and_outlines(
        settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    rng = random.Random(193)
    points = [Point(rng.uniform(139.55, 139.95), rng.uniform(35.5, 35.8)) for _ in range(2000)]
    # On cell edges: (lon - 100) * 80 and lat * 120 are whole numbers here, exactly.
    points += [Point(lon, lat) for lon in (139.5, 139.625, 139.75) for lat in (35.5, 35.625, 35.75)]
    # The first outline's corners lie in other cells than its middle (a cell edge at 139.75).
    outlines = [box(139.7470, 35.6880, 139.7510, 35.6930),
                MultiPolygon([box(139.6102, 35.5502, 139.6104, 35.5504), box(139.6106, 35.5506, 139.6108, 35.5507)])]
    shapes = points + outlines
    frame = gpd.GeoDataFrame(
        {"source_id": [f"c{i}" for i in range(len(shapes))],
         "category": ["streetlight"] * len(points) + ["rooftop"] * len(outlines),
         "name": [f"asset {i}" for i in range(len(shapes))]},
        geometry=shapes, crs=4326)
    path = tmp_path / "coarse.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = await admin_session(settings, lambda db: load_assets(db, path, tenant="131016"))
    assert report.inserted == len(shapes)

    # The oracle reads the geometry as stored (the GeoJSON file keeps 15 significant digits).
    rows = await owner.fetch("select source_id, ST_AsBinary(geom) as geom, ST_X(coarse_geom) as x, "
                             "ST_Y(coarse_geom) as y, ST_SRID(coarse_geom) as srid from assets")
    assert len(rows) == len(shapes)
    for row in rows:
        shape = shapely.from_wkb(row["geom"])
        inside = shape if isinstance(shape, Point) else shape.representative_point()
        assert row["srid"] == 4326
        assert (row["x"], row["y"]) == _centre(inside.x, inside.y), (row["source_id"], shape.wkt)
    assert sum(isinstance(shapely.from_wkb(r["geom"]), Point) for r in rows) == len(points)
