"""Points read from WKB as coordinates (loaders.points) against shapely reading the same bytes: the same
coordinates and empties, the same WKB written back, and shapely left every value that is not a plain 2D point."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import shapely

from loaders.geometries import Shapes
from loaders.points import Points

RNG = np.random.default_rng(13)


def wkb_column(geoms: list[shapely.Geometry], **options: object) -> pa.Array:
    return pa.array(shapely.to_wkb(np.array(geoms, dtype=object), **options).tolist(), type=pa.binary())


def test_points_are_what_shapely_reads() -> None:
    xy = RNG.uniform([122.9, 20.4], [154.0, 45.6], size=(5000, 2))
    geoms = [*shapely.points(xy), shapely.Point(), shapely.Point(-0.0, 0.0), shapely.Point(139.7, 35.7)]
    column = wkb_column(geoms)
    points = Points.from_wkb(column.slice(2), "EPSG:4326")  # an offset into the Arrow buffers
    assert points is not None and points.crs is not None and points.crs.to_epsg() == 4326
    read = shapely.from_wkb(column.to_pylist()[2:])
    assert np.array_equal(np.isnan(points.x), shapely.is_empty(read))
    solid = ~shapely.is_empty(read)
    assert np.array_equal(points.x[solid], shapely.get_x(read[solid]))
    assert np.array_equal(points.y[solid], shapely.get_y(read[solid]))
    # Written back byte for byte as shapely writes them (the staged WKB of a whole read).
    assert Shapes(x=points.x, y=points.y).wkb(solid) == shapely.to_wkb(read[solid]).tolist()
    assert [g.wkb for g in points.series()] == [g.wkb for g in read]


@pytest.mark.parametrize("column", [
    wkb_column([shapely.Point(139.7, 35.7), shapely.box(139, 35, 140, 36)]),
    wkb_column([shapely.Point(139.7, 35.7, 3.0)]),
    wkb_column([shapely.Point(139.7, 35.7)], byte_order=0),
    wkb_column([shapely.MultiPoint([(139.7, 35.7)])]),
    pa.array([shapely.Point(139.7, 35.7).wkb, None], type=pa.binary()),
    pa.array([bytes.fromhex("0101000000000000000000f87f0000000000001440")], type=pa.binary()),  # POINT (NaN 5)
    pa.array([], type=pa.binary()),
])
def test_anything_else_is_left_to_shapely(column: pa.Array) -> None:
    assert Points.from_wkb(column, "EPSG:4326") is None
