"""Vector tiles of the asset map, read back with GDAL's MVT driver and checked with tile arithmetic."""

import math
import subprocess

import pytest
from litestar.testing import AsyncTestClient

from tests.assets_fixture import CHIYODA, SHINJUKU, fixture_assets, publish
from tests.conftest import assert_problem


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    # The slippy-map formulas, written out independently of PostGIS's ST_TileEnvelope.
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


async def test_tile_holds_exactly_the_assets_inside_it(client: AsyncTestClient, make_key, tmp_path) -> None:
    assets = [a for a in fixture_assets() if a["municipality_code"] in (CHIYODA, SHINJUKU)]
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU)}
    for a in assets:
        await publish(client, keys[a["municipality_code"]], a)
    carrier = await make_key("carrier", "docomo")
    z = 14
    x, y = _tile_of(139.7536, 35.6939, z)
    expected = sum(_tile_of(*a["geometry"]["coordinates"], z) == (x, y) for a in assets)
    assert 0 < expected < len(assets)

    r = await client.get(f"/v1/tiles/assets/{z}/{x}/{y}", headers=carrier)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.mapbox-vector-tile")
    path = tmp_path / f"{y}.mvt"
    path.write_bytes(r.content)
    info = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path), "-oo", f"X={x}", "-oo", f"Y={y}",  # noqa: ASYNC221
                           "-oo", f"Z={z}"], capture_output=True, text=True, check=True)
    assert f"Feature Count: {expected}" in info.stdout, info.stdout
    assert "availability" in info.stdout and "height_m" in info.stdout

    cached = await client.get(f"/v1/tiles/assets/{z}/{x}/{y}", headers={**carrier, "If-None-Match": r.headers["etag"]})
    assert cached.status_code == 304
    empty = await client.get(f"/v1/tiles/assets/{z}/0/0", headers=carrier)
    assert empty.status_code == 200 and empty.content == b""


@pytest.mark.parametrize("path", ["/v1/tiles/assets/23/0/0", "/v1/tiles/assets/2/4/0", "/v1/tiles/assets/2/0/-1"])
async def test_tiles_outside_the_pyramid(client: AsyncTestClient, make_key, path: str) -> None:
    carrier = await make_key("carrier", "docomo")
    assert_problem(await client.get(path, headers=carrier), 422)
