"""OGC API - Tiles: tiles read back with GDAL's MVT driver over real HTTP, TileJSON checked against the
TileJSON 3.0.0 schema's rules, the tile matrix set against web-mercator arithmetic, low zooms kept light."""

import math
import os
import re
import subprocess

import asyncpg
import jsonschema
from litestar.testing import AsyncTestClient
from pyproj import Geod, Transformer

from registry.settings import Settings
from tests.assets_fixture import CHIYODA, SHINJUKU, fixture_assets, publish
from tests.served import served

OGC = "/ogc/collections/{c}/tiles/WebMercatorQuad"
# The earth's circumference at the equator on the WGS 84 ellipsoid, in metres (EPSG:3857's extent).
CIRCUMFERENCE_M = 40_075_016.686

# The required fields and types of https://github.com/mapbox/tilejson-spec/blob/master/3.0.0/schema.json.
TILEJSON_3 = {
    "type": "object",
    "required": ["tilejson", "tiles"],
    "properties": {
        "tilejson": {"type": "string", "pattern": r"^3\.[0-9]+\.[0-9]+$"},
        "tiles": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "vector_layers": {"type": "array", "items": {
            "type": "object", "required": ["id", "fields"],
            "properties": {"id": {"type": "string"}, "fields": {"type": "object",
                                                                "additionalProperties": {"type": "string"}},
                           "minzoom": {"type": "integer", "minimum": 0, "maximum": 30},
                           "maxzoom": {"type": "integer", "minimum": 0, "maximum": 30}}}},
        "bounds": {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
        "center": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "number"}},
        "minzoom": {"type": "integer", "minimum": 0, "maximum": 30},
        "maxzoom": {"type": "integer", "minimum": 0, "maximum": 30},
        "scheme": {"enum": ["xyz", "tms"]},
    },
}


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    # The slippy-map formulas, independent of PostGIS's ST_TileEnvelope.
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _counted(ogrinfo_out: str) -> int:
    """Assets in an ogrinfo listing: cells carry point_count, single assets count one."""
    counts = [int(n) for n in re.findall(r"point_count \(Integer\) = (\d+)", ogrinfo_out)]
    features = len(re.findall(r"^OGRFeature\(", ogrinfo_out, flags=re.M))
    return sum(counts) + (features - len(counts))


async def _scatter(owner: asyncpg.Connection, n: int) -> list[tuple[float, float]]:
    """n published assets on a grid over the Tokyo wards, inserted as the owner (the loader's path)."""
    points = [(139.60 + 0.30 * (i % 127) / 127, 35.55 + 0.25 * (i // 127) / (n // 127 + 1)) for i in range(n)]
    await owner.executemany(
        "insert into assets (municipality_code, source_id, category, name, geom, availability, visibility) "
        "values ($1, $2, $3, $4, ST_SetSRID(ST_MakePoint($5, $6), 4326), $7, $8)",
        [(CHIYODA, f"gen-{i}", ("streetlight", "utility_pole", "rooftop")[i % 3], f"generated {i}", lon, lat,
          ("offered", "occupied")[i % 2], ("carriers", "restricted")[i % 5 == 0])
         for i, (lon, lat) in enumerate(points)])
    return points


async def test_zoom_5_over_tokyo_stays_light(client: AsyncTestClient, make_key, owner, tmp_path) -> None:
    points = await _scatter(owner, 16_000)
    carrier = await make_key("carrier", "docomo")
    x, y = _tile_of(139.7536, 35.6939, 5)
    expected = sum(_tile_of(lon, lat, 5) == (x, y) for lon, lat in points)
    assert expected == len(points)
    r = await client.get(OGC.format(c="assets") + f"/5/{y}/{x}.pbf", headers=carrier)
    assert r.status_code == 200
    assert len(r.content) < 500_000, len(r.content)
    path = tmp_path / f"{y}.mvt"
    path.write_bytes(r.content)
    info = subprocess.run(["ogrinfo", "-ro", "-al", str(path), "-oo", f"X={x}", "-oo", f"Y={y}",  # noqa: ASYNC221
                           "-oo", "Z=5"], capture_output=True, text=True, check=True)
    assert _counted(info.stdout) == expected


async def test_gdal_opens_tile_urls_over_http(client: AsyncTestClient, make_key, settings: Settings) -> None:
    assets = [a for a in fixture_assets() if a["municipality_code"] in (CHIYODA, SHINJUKU)]
    keys = {code: await make_key("municipality", code) for code in (CHIYODA, SHINJUKU)}
    for a in assets:
        await publish(client, keys[a["municipality_code"]], a)
    carrier = await make_key("carrier", "docomo")
    z = 7
    x, y = _tile_of(139.7536, 35.6939, z)
    expected = sum(_tile_of(*a["geometry"]["coordinates"], z) == (x, y) for a in assets)
    assert expected > 0
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: {carrier['Authorization']}"}
    with served(settings) as base:
        for url in (f"{base}/v1/tiles/assets/{z}/{x}/{y}.pbf", f"{base}{OGC.format(c='assets')}/{z}/{y}/{x}.pbf"):
            info = subprocess.run(["ogrinfo", "-ro", "-al", f"MVT:{url}"],  # noqa: ASYNC221
                                  capture_output=True, text=True, env=env, timeout=120)
            assert info.returncode == 0, info.stderr
            assert _counted(info.stdout) == expected, (url, info.stdout[:2000])


async def test_tilejson_validates_and_its_tiles_resolve(client: AsyncTestClient, make_key) -> None:
    carrier = await make_key("carrier", "docomo")
    await publish(client, await make_key("municipality", CHIYODA), fixture_assets()[0])
    lon, lat = fixture_assets()[0]["geometry"]["coordinates"]
    for collection in ("assets", "priority-areas"):
        r = await client.get(OGC.format(c=collection) + "/tilejson.json", headers=carrier)
        assert r.status_code == 200
        doc = r.json()
        jsonschema.validate(doc, TILEJSON_3)
        west, south, east, north = doc["bounds"]
        assert west < east and south < north
    assets_doc = (await client.get(OGC.format(c="assets") + "/tilejson.json", headers=carrier)).json()
    template = assets_doc["tiles"][0]
    x, y = _tile_of(lon, lat, 14)
    tile = await client.get(template.format(z=14, x=x, y=y), headers=carrier)
    assert tile.status_code == 200 and tile.headers["content-type"].startswith("application/vnd.mapbox-vector-tile")
    cached = await client.get(template.format(z=14, x=x, y=y),
                              headers={**carrier, "If-None-Match": "W/" + tile.headers["etag"]})
    assert cached.status_code == 304
    empty = await client.get(template.format(z=14, x=0, y=0), headers=carrier)
    assert empty.status_code == 204 and empty.content == b""


async def test_tile_matrix_set_is_web_mercator(client: AsyncTestClient, make_key) -> None:
    carrier = await make_key("carrier", "docomo")
    tms = (await client.get("/ogc/tileMatrixSets/WebMercatorQuad", headers=carrier)).json()
    for matrix in tms["tileMatrices"]:
        z = int(matrix["id"])
        assert matrix["matrixWidth"] == matrix["matrixHeight"] == 2**z
        assert math.isclose(matrix["cellSize"] * 256 * 2**z, CIRCUMFERENCE_M, rel_tol=1e-9)
    sets = (await client.get("/ogc/collections/assets/tiles", headers=carrier)).json()
    assert any(link["rel"].endswith("tiling-scheme") for link in sets["tilesets"][0]["links"])
    assert (await client.get("/ogc/collections/nothing/tiles", headers=carrier)).status_code in (400, 422)


async def test_priority_area_tile_holds_the_area(client: AsyncTestClient, make_key, owner, tmp_path) -> None:
    await owner.execute(
        "insert into priority_areas (prefecture_code, kind, name, geom) values ('130001', 'major_station', "
        "'Tokyo station', ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(139.7671, 35.6812), 4326), 0.003)))")
    carrier = await make_key("carrier", "docomo")
    x, y = _tile_of(139.7671, 35.6812, 13)
    r = await client.get(OGC.format(c="priority-areas") + f"/13/{y}/{x}.mvt", headers=carrier)
    assert r.status_code == 200
    path = tmp_path / f"{y}.mvt"
    path.write_bytes(r.content)
    info = subprocess.run(["ogrinfo", "-ro", "-al", str(path), "-oo", f"X={x}", "-oo", f"Y={y}",  # noqa: ASYNC221
                           "-oo", "Z=13"], capture_output=True, text=True, check=True)
    assert info.stdout.count("kind (String) = major_station") == 1


async def test_style_draws_every_category_and_kind(client: AsyncTestClient, make_key, owner) -> None:
    carrier = await make_key("carrier", "docomo")
    style = (await client.get("/ogc/styles/default", headers=carrier)).json()
    assert style["version"] == 8
    for layer in style["layers"]:
        source = style["sources"][layer["source"]]
        assert (await client.get(source["url"], headers=carrier)).status_code == 200
    # Every category and kind the database accepts (read from its CHECK constraints) has a colour.
    rows = await owner.fetch(
        "select pg_get_constraintdef(oid) from pg_constraint where conrelid in "
        "('assets'::regclass, 'priority_areas'::regclass) and contype = 'c' "
        "and (pg_get_constraintdef(oid) like '%category%' or pg_get_constraintdef(oid) like '%kind%')")
    checks = " ".join(r[0] for r in rows)
    allowed = set(re.findall(r"'([a-z_]+)'::text", checks))
    coloured = set()
    for layer in style["layers"]:
        for value in layer["paint"].values():
            if isinstance(value, list) and value[:2] in (["match", ["get", "category"]], ["match", ["get", "kind"]]):
                coloured |= set(value[2:-1:2])
    assert allowed and allowed <= coloured, allowed - coloured


def _points(tile: bytes, z: int, x: int, y: int, tmp_path) -> list[tuple[float, float]]:
    """(lon, lat) of every point in an MVT tile, read back by GDAL's MVT driver (it writes EPSG:3857)."""
    if not tile:
        return []
    path = tmp_path / f"{z}-{x}-{y}.mvt"
    path.write_bytes(tile)
    info = subprocess.run(["ogrinfo", "-ro", "-al", str(path), "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", f"Z={z}"],
                          capture_output=True, text=True, check=True)
    to_degrees = Transformer.from_crs(3857, 4326, always_xy=True)
    return [to_degrees.transform(float(a), float(b))
            for a, b in re.findall(r"POINT \(([-\d.e+]+) ([-\d.e+]+)\)", info.stdout)]


async def test_restricted_asset_is_masked_in_tiles_and_cells(client: AsyncTestClient, make_key, tmp_path) -> None:
    exact = (139.7581234, 35.6912345)
    chiyoda = await make_key("municipality", CHIYODA)
    carrier = await make_key("carrier", "docomo")
    body = {"source_id": "S-1", "category": "streetlight", "name": "light", "visibility": "restricted",
            "geometry": {"type": "Point", "coordinates": list(exact)}}
    asset_id = (await client.post("/v1/assets", json=body, headers=chiyoda)).json()["id"]
    masked = (await client.get(f"/v1/assets/{asset_id}", headers=carrier)).json()["geometry"]["coordinates"]
    geod = Geod(ellps="WGS84")

    def metres(a: tuple[float, float], b: tuple[float, float] | list[float]) -> float:
        return geod.inv(a[0], a[1], b[0], b[1])[2]

    assert metres(exact, masked) > 400  # the mesh centre is far enough away to tell apart at zoom 11
    # Zoom 11 draws cells of 64 tile units, about 250 m here: a cell's point is within 176 m of its assets.
    # Zoom 16 draws every asset where it is shown.
    for z, near in ((11, 180), (16, 1)):
        x, y = _tile_of(*exact, z)
        url = OGC.format(c="assets") + f"/{z}/{y}/{x}.pbf"
        own = _points((await client.get(url, headers=chiyoda)).content, z, x, y, tmp_path)
        seen = _points((await client.get(url, headers=carrier)).content, z, x, y, tmp_path)
        assert len(own) == 1 and metres(exact, own[0]) < near, (z, own)
        assert all(metres(exact, p) > 400 - near for p in seen), (z, seen)
        mx, my = _tile_of(*masked, z)
        at_mesh = _points((await client.get(OGC.format(c="assets") + f"/{z}/{my}/{mx}.pbf", headers=carrier)).content,
                          z, mx, my, tmp_path)
        assert len(at_mesh) == 1 and metres(tuple(masked), at_mesh[0]) < near, (z, at_mesh)
