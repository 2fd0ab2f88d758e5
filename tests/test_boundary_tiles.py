"""Municipal boundary tiles (GET /v1/tiles/boundaries/...), read back with GDAL's MVT driver (pyogrio) and
compared with the loaded polygon projected by pyproj and measured by shapely."""

from __future__ import annotations

import math

import numpy as np
import pyogrio
import pytest
import shapely
from litestar.testing import AsyncTestClient
from pyproj import Transformer
from shapely import wkt

from tests.assets_fixture import CHIYODA, SHINJUKU
from tests.conftest import assert_problem

# A hexagon around Chiyoda's town hall (~1.5 km across) and a square for Shinjuku, stored as the loader would.
CHIYODA_SHAPE = wkt.loads("POLYGON((139.750 35.686, 139.762 35.686, 139.770 35.694, 139.762 35.702, "
                          "139.750 35.702, 139.747 35.694, 139.750 35.686))")
SHINJUKU_SHAPE = wkt.loads("POLYGON((139.69 35.68, 139.72 35.68, 139.72 35.71, 139.69 35.71, 139.69 35.68))")
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


@pytest.fixture
async def boundaries(owner) -> None:
    for code, shape in ((CHIYODA, CHIYODA_SHAPE), (SHINJUKU, SHINJUKU_SHAPE)):
        await owner.execute("insert into municipality_boundaries (code, geom, source) "
                            "values ($1, ST_Multi(ST_GeomFromText($2, 4326)), 'test')", code, shape.wkt)


async def _read(client: AsyncTestClient, headers: dict, z: int, x: int, y: int, tmp_path, **params):
    r = await client.get(f"/v1/tiles/boundaries/{z}/{x}/{y}.pbf", params=params, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.mapbox-vector-tile")
    if not r.content:
        return None
    path = tmp_path / f"{z}-{x}-{y}.pbf"
    path.write_bytes(r.content)
    return pyogrio.read_dataframe(path, layer="boundaries", X=str(x), Y=str(y), Z=str(z))


@pytest.mark.parametrize("role", [("carrier", "docomo"), ("municipality", "271004"), ("prefecture", "130001")])
async def test_tile_holds_the_loaded_polygon(client: AsyncTestClient, make_key, boundaries, tmp_path,
                                             role) -> None:
    headers = await make_key(*role)
    z = 12
    x, y = _tile_of(139.753, 35.694, z)
    assert _tile_of(139.747, 35.686, z) == _tile_of(139.770, 35.702, z) == (x, y)  # wholly inside the tile
    frame = await _read(client, headers, z, x, y, tmp_path)
    chiyoda = frame[frame["code"] == CHIYODA]
    assert len(chiyoda) == 1 and chiyoda.iloc[0]["name"] == "千代田区" and chiyoda.iloc[0]["prefecture"] == "13"
    expected = shapely.transform(CHIYODA_SHAPE, lambda xy: np.column_stack(TO_MERCATOR.transform(xy[:, 0], xy[:, 1])))
    got = chiyoda.geometry.iloc[0]
    # Quantised to 4,096 units of a 9.8 km tile (2.4 m): the shapes agree to within a few units.
    assert got.symmetric_difference(expected).area / expected.area < 0.01
    assert got.hausdorff_distance(expected) < 3 * 40_075_016.686 / 2**z / 4096


async def test_prefecture_filter_and_empty_tiles(client: AsyncTestClient, make_key, boundaries, tmp_path) -> None:
    carrier = await make_key("carrier", "docomo")
    z = 9
    x, y = _tile_of(139.72, 35.69, z)
    both = await _read(client, carrier, z, x, y, tmp_path)
    assert set(both["code"]) == {CHIYODA, SHINJUKU}
    assert set((await _read(client, carrier, z, x, y, tmp_path, prefecture="13"))["code"]) == {CHIYODA, SHINJUKU}
    assert await _read(client, carrier, z, x, y, tmp_path, prefecture="27") is None  # Osaka: nothing loaded here
    assert await _read(client, carrier, z, 0, 0, tmp_path) is None
    assert_problem(await client.get("/v1/tiles/boundaries/2/4/0", headers=carrier), 422)
    assert_problem(await client.get(f"/v1/tiles/boundaries/{z}/{x}/{y}", params={"prefecture": "99"},
                                    headers=carrier), 422)
    assert_problem(await client.get(f"/v1/tiles/boundaries/{z}/{x}/{y}"), 401)
