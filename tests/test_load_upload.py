"""POST /v1/assets/uploads: municipality keys load their own assets through the same loader."""

from __future__ import annotations

import io
from pathlib import Path

import asyncpg
import geopandas as gpd
import pytest
from litestar.testing import AsyncTestClient
from pyproj import Geod, Transformer
from shapely.geometry import Point

from tests.conftest import KeyFactory, assert_problem

CSV = ("source_id,name,category,latitude,longitude,height_m\n"
       "U1,九段下 街路灯,streetlight,35.6954,139.7514,8\n"
       "U2,神保町 電柱,utility_pole,35.6959,139.7577,12\n")


async def test_municipality_uploads_csv_multipart(client: AsyncTestClient, make_key: KeyFactory,
                                                  owner: asyncpg.Connection) -> None:
    key = await make_key("municipality", "131016")
    files = {"file": ("lights.csv", CSV.encode(), "text/csv")}
    dry = await client.post("/v1/assets/uploads?dry_run=true", files=files, headers=key)
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert (body["rows"], body["inserted"], body["committed"], body["dry_run"]) == (2, 2, False, True)
    assert await owner.fetchval("select count(*) from assets") == 0

    done = await client.post("/v1/assets/uploads", files=files, headers=key)
    assert done.status_code == 200, done.text
    assert (done.json()["inserted"], done.json()["committed"]) == (2, True)
    assert await owner.fetchval("select count(*) from assets where municipality_code = '131016'") == 2
    again = await client.post("/v1/assets/uploads", files=files, headers=key)
    assert (again.json()["unchanged"], again.json()["updated"]) == (2, 0)
    assert await owner.fetchval("select max(version) from assets") == 1


async def test_raw_geojson_body_with_format_hint(client: AsyncTestClient, make_key: KeyFactory,
                                                 owner: asyncpg.Connection) -> None:
    key = await make_key("municipality", "131041")
    frame = gpd.GeoDataFrame({"source_id": ["G1"], "category": ["bus_stop"], "name": ["新宿駅西口"]},
                             geometry=[Point(139.6983, 35.6910)], crs=4326)
    body = frame.to_json().encode()
    r = await client.post("/v1/assets/uploads?format=geojson", content=body, headers=key)
    assert r.status_code == 200, r.text
    assert await owner.fetchval("select municipality_code from assets where source_id = 'G1'") == "131041"


async def test_rejected_rows_answer_422_and_store_nothing(client: AsyncTestClient, make_key: KeyFactory,
                                                          owner: asyncpg.Connection) -> None:
    key = await make_key("municipality", "131016")
    bad = CSV + "U3,,streetlight,35.69,139.75,8\nU4,x,castle,35.69,139.75,8\n"
    r = await client.post("/v1/assets/uploads", files={"file": ("lights.csv", bad.encode(), "text/csv")},
                          headers=key)
    problem = assert_problem(r, 422)
    assert "2 of 4 rows were rejected" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["row 3 (U3)", "row 4 (U4)"]
    assert problem["errors"][1]["message"].startswith("category 'castle' is not one of")
    assert await owner.fetchval("select count(*) from assets") == 0


async def test_other_municipalitys_rows_cannot_be_targeted(client: AsyncTestClient, make_key: KeyFactory,
                                                           owner: asyncpg.Connection) -> None:
    key = await make_key("municipality", "131016")
    text = "municipality_code,source_id,name,category,latitude,longitude\n131041,X1,a,streetlight,35.69,139.70\n"
    r = await client.post("/v1/assets/uploads", files={"file": ("x.csv", text.encode(), "text/csv")}, headers=key)
    problem = assert_problem(r, 422)
    assert "belongs to municipality 131041" in problem["errors"][0]["message"]
    r = await client.post("/v1/assets/uploads?tenant=131041", files={"file": ("x.csv", CSV.encode(), "text/csv")},
                          headers=key)
    assert_problem(r, 403)
    assert await owner.fetchval("select count(*) from assets") == 0


async def test_only_municipality_keys(client: AsyncTestClient, make_key: KeyFactory) -> None:
    files = {"file": ("lights.csv", CSV.encode(), "text/csv")}
    for role, tenant in (("carrier", "docomo"), ("prefecture", "130001")):
        r = await client.post("/v1/assets/uploads", files=files, headers=await make_key(role, tenant))
        assert_problem(r, 403)


async def test_bad_files_are_4xx_problems(client: AsyncTestClient, make_key: KeyFactory) -> None:
    key = await make_key("municipality", "131016")
    cases = [
        ({"file": ("empty.csv", b"", "text/csv")}, 400, "empty"),
        ({"file": ("header.csv", b"source_id,name\n", "text/csv")}, 400, "no data rows"),
        ({"file": ("broken.gpkg", b"SQLite format 3\x00garbage", "application/octet-stream")}, 400, "cannot be read"),
        ({"file": ("broken.zip", b"PK\x03\x04nonsense", "application/zip")}, 400, "not a valid zip"),
        ({"file": ("x.geojson", b'{"type": "FeatureCollection", "features": []}', "application/geo+json")}, 400,
         "no features"),
        ({"file": ("nocoords.csv", b"source_id,name,category\n1,a,streetlight\n", "text/csv")}, 400,
         "latitude/longitude"),
    ]
    for files, status, words in cases:
        r = await client.post("/v1/assets/uploads", files=files, headers=key)
        assert words in assert_problem(r, status)["detail"], r.text
    r = await client.post("/v1/assets/uploads", files={"other": ("x.csv", io.BytesIO(CSV.encode()), "text/csv")},
                          headers=key)
    assert_problem(r, 422)
    r = await client.post("/v1/assets/uploads?format=dbf", content=CSV.encode(), headers=key)
    assert_problem(r, 422)
    # A CSV sent as a workbook: not an .xlsx, said so with what to do.
    r = await client.post("/v1/assets/uploads?format=xlsx", content=CSV.encode(), headers=key)
    assert "save it again from Excel" in assert_problem(r, 400)["detail"]


async def test_unknown_source_crs_answers_422_naming_it(client: AsyncTestClient, make_key: KeyFactory,
                                                        owner: asyncpg.Connection) -> None:
    key = await make_key("municipality", "131016")
    files = {"file": ("lights.csv", CSV.encode(), "text/csv")}
    # 999999999 is no EPSG code; 5714 is one, but of heights (mean sea level), not of positions.
    for value in ("999999999", "EPSG:999999999", "not a crs", "EPSG:5714"):
        r = await client.post("/v1/assets/uploads", params={"dry_run": "true", "source_crs": value}, files=files,
                              headers=key)
        problem = assert_problem(r, 422)
        assert [e["field"] for e in problem["errors"]] == ["source_crs"], r.text
        assert "EPSG:6677" in problem["errors"][0]["message"] and "6668" in problem["errors"][0]["message"]
    assert await owner.fetchval("select count(*) from assets") == 0


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # the point: a file that declares no CRS
async def test_source_crs_as_epsg_name_or_number(client: AsyncTestClient, make_key: KeyFactory,
                                                 owner: asyncpg.Connection, tmp_path: Path) -> None:
    key = await make_key("municipality", "131016")
    # Plane rectangular zone IX metres around Chiyoda, in a GeoPackage that declares no CRS.
    planar = [(-8000.0 + i * 137.5, -35500.0 + i * 91.25) for i in range(3)]
    frame = gpd.GeoDataFrame({"source_id": [f"P{i}" for i in range(3)], "category": ["utility_pole"] * 3,
                              "name": [f"電柱 {i}" for i in range(3)]}, geometry=[Point(x, y) for x, y in planar])
    path = tmp_path / "poles.gpkg"
    frame.to_file(path, driver="GPKG", layer="poles")
    files = {"file": ("poles.gpkg", path.read_bytes(), "application/octet-stream")}
    r = await client.post("/v1/assets/uploads", params={"source_crs": "EPSG:6677"}, files=files, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 3 and any("6677" in n for n in r.json()["notes"])
    to_wgs84 = Transformer.from_crs("EPSG:6677", "EPSG:4326", always_xy=True)
    stored = {s: (x, y) for s, x, y in await owner.fetch("select source_id, ST_X(geom), ST_Y(geom) from assets")}
    for i, (x, y) in enumerate(planar):
        lon, lat = to_wgs84.transform(x, y)
        assert Geod(ellps="GRS80").inv(lon, lat, *stored[f"P{i}"])[2] < 1.0

    r = await client.post("/v1/assets/uploads", params={"dry_run": "true", "source_crs": "6668"},
                          files={"file": ("lights.csv", CSV.encode(), "text/csv")}, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 2 and any("6668" in n for n in r.json()["notes"])
