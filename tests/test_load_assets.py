"""Asset loads from every supported format, against the real database; fixtures written by the tests."""

from __future__ import annotations

import asyncio
import csv
import json
import zipfile
from pathlib import Path
from typing import Any

import asyncpg
import geopandas as gpd
import pytest
from pyproj import Geod, Transformer
from shapely.geometry import Point, Polygon

from loaders.assets import LoadReport, load_assets
from loaders.formats import LoadError
from registry.cli import main
from registry.db.admin import admin_session
from registry.settings import Settings

CHIYODA = "131016"
SHINJUKU = "131041"
SAPPORO = "011002"
GEOD = Geod(ellps="GRS80")


async def load(settings: Settings, path: Path, tenant: str = CHIYODA, **kw: Any) -> LoadReport:
    # These tests are about reading and merging files: they publish, as a clerk says with --publish (drafts by
    # default are tests/test_load_drafts.py's).
    kw.setdefault("publish", True)
    return await admin_session(settings, lambda db: load_assets(db, path, tenant=tenant, **kw))


async def counts(owner: asyncpg.Connection) -> tuple[int, int, int, int]:
    row = await owner.fetchrow("""select (select count(*) from assets)::int, (select coalesce(sum(version), 0)
                                   from assets)::int, (select count(*) from asset_audit)::int,
                                   (select count(*) from asset_changes)::int""")
    return tuple(row)  # type: ignore[return-value]


def points_frame(n: int = 3, crs: int = 4326) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"source_id": [f"SL-{i:04d}" for i in range(n)], "category": ["streetlight"] * n,
         "name": [f"街路灯 {i}" for i in range(n)], "height_m": [8.0 + i for i in range(n)],
         "power": ["有"] * n, "availability": ["offered"] * n},
        geometry=[Point(139.7530 + i * 0.001, 35.6940) for i in range(n)], crs=crs)


async def test_geojson_load_then_identical_reload_touches_nothing(settings: Settings, owner: asyncpg.Connection,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "lights.geojson"
    points_frame(3).to_file(path, driver="GeoJSON")
    first = await load(settings, path)
    assert (first.inserted, first.updated, first.rejected, first.committed) == (3, 0, 0, True)
    row = await owner.fetchrow("select power, height_m, version from assets where source_id = 'SL-0001'")
    assert (row["power"], float(row["height_m"]), row["version"]) == ("yes", 9.0, 1)
    before = await counts(owner)
    assert before == (3, 3, 3, 3)

    again = await load(settings, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert await counts(owner) == before

    frame = points_frame(3)
    frame.loc[1, "height_m"] = 12.5
    frame.to_file(path, driver="GeoJSON")
    changed = await load(settings, path)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)
    versions = dict(await owner.fetch("select source_id, version from assets"))
    assert versions == {"SL-0000": 1, "SL-0001": 2, "SL-0002": 1}
    assert await owner.fetchval("select count(*) from asset_audit where op = 'update'") == 1


async def test_reload_keeps_attributes_the_file_does_not_carry(settings: Settings, owner: asyncpg.Connection,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "lights.geojson"
    points_frame(2).to_file(path, driver="GeoJSON")
    await load(settings, path)
    await owner.execute("update assets set fee_rule = 'per contract' where source_id = 'SL-0000'")
    again = await load(settings, path)
    assert again.updated == 0
    assert await owner.fetchval("select fee_rule from assets where source_id = 'SL-0000'") == "per contract"


async def test_geopackage_in_jgd2011_zone_ix_lands_within_a_metre(settings: Settings, owner: asyncpg.Connection,
                                                                  tmp_path: Path) -> None:
    # Plane rectangular zone IX (EPSG:6677) coordinates around Chiyoda, metres north (y) and east (x).
    planar = [(-8000.0 + i * 137.5, -35500.0 + i * 91.25) for i in range(5)]
    frame = gpd.GeoDataFrame({"source_id": [f"P{i}" for i in range(5)], "category": ["utility_pole"] * 5,
                              "name": [f"電柱 {i}" for i in range(5)]},
                             geometry=[Point(x, y) for x, y in planar], crs=6677)
    path = tmp_path / "poles.gpkg"
    frame.to_file(path, driver="GPKG", layer="poles")
    report = await load(settings, path)
    assert report.inserted == 5 and any("6677" in n for n in report.notes)
    to_wgs84 = Transformer.from_crs("EPSG:6677", "EPSG:4326", always_xy=True)
    stored = {r["source_id"]: (r["x"], r["y"]) for r in await owner.fetch(
        "select source_id, ST_X(geom) as x, ST_Y(geom) as y from assets")}
    for i, (x, y) in enumerate(planar):
        lon, lat = to_wgs84.transform(x, y)
        _, _, metres = GEOD.inv(lon, lat, *stored[f"P{i}"])
        assert metres < 1.0


async def test_geopackage_with_several_layers_needs_a_layer(settings: Settings, owner: asyncpg.Connection,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    points_frame(2).to_file(path, driver="GPKG", layer="a")
    points_frame(3).to_file(path, driver="GPKG", layer="b")
    with pytest.raises(LoadError, match="several layers"):
        await load(settings, path)
    report = await load(settings, path, layer="b")
    assert report.inserted == 3


async def test_zipped_shapefile(settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = points_frame(4).drop(columns="availability").to_crs(6677)  # shapefile names stop at 10 characters
    frame.to_file(folder / "lights.shp", driver="ESRI Shapefile", encoding="utf-8")
    archive = tmp_path / "lights.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    report = await load(settings, archive)
    assert (report.inserted, report.rejected) == (4, 0)
    assert await owner.fetchval("select name from assets where source_id = 'SL-0003'") == "街路灯 3"
    x, y = await owner.fetchrow("select ST_X(geom), ST_Y(geom) from assets where source_id = 'SL-0000'")
    assert abs(x - 139.7530) < 1e-7 and abs(y - 35.6940) < 1e-7


async def test_cp932_shapefile_without_cpg(settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = points_frame(2).drop(columns="availability")
    frame.to_file(folder / "poles.shp", driver="ESRI Shapefile", encoding="cp932")
    # Many Japanese GIS exports: CP932 attributes, no .cpg, no language driver id in the .dbf.
    (folder / "poles.cpg").unlink(missing_ok=True)
    dbf = bytearray((folder / "poles.dbf").read_bytes())
    dbf[29] = 0
    (folder / "poles.dbf").write_bytes(bytes(dbf))
    archive = tmp_path / "poles.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"poles/{f.name}")
    report = await load(settings, archive)
    assert report.inserted == 2 and "read as CP932" in " ".join(report.notes)
    assert await owner.fetchval("select name from assets where source_id = 'SL-0001'") == "街路灯 1"


async def test_cp932_csv_with_stripped_codes_and_a_swapped_row(settings: Settings, owner: asyncpg.Connection,
                                                               tmp_path: Path) -> None:
    rows = [["全国地方公共団体コード", "管理番号", "名称", "種別", "緯度", "経度", "高さ"]]
    for i in range(5):
        rows.append(["11002", f"S-{i}", f"札幌市 街路灯{i}", "街路灯", f"{43.0621 + i / 1000:.4f}", "141.3544", "9"])
    rows[3][4], rows[3][5] = rows[3][5], rows[3][4]  # the third data row has latitude and longitude swapped
    path = tmp_path / "sapporo.csv"
    with path.open("w", encoding="cp932", newline="") as fh:
        csv.writer(fh).writerows(rows)
    report = await load(settings, path, tenant=SAPPORO)
    assert report.notes[0] == "read as cp932"
    assert (report.inserted, report.rejected) == (5, 0)
    reasons = [(i.row, i.reason) for i in report.issues]
    assert sum("lost its leading zero" in r for _, r in reasons) == 5
    assert [row for row, r in reasons if "swapped" in r] == [3]
    stored = await owner.fetchrow("select municipality_code, category, name, ST_X(geom) as x, ST_Y(geom) as y "
                                  "from assets where source_id = 'S-2'")
    assert stored["municipality_code"] == SAPPORO and stored["category"] == "streetlight"
    assert stored["name"] == "札幌市 街路灯2"
    assert abs(stored["x"] - 141.3544) < 1e-9 and abs(stored["y"] - 43.0641) < 1e-9


async def test_self_intersecting_polygons(settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    bowtie = Polygon([(139.750, 35.690), (139.760, 35.700), (139.760, 35.690), (139.750, 35.700)])
    spike = Polygon([(139.75, 35.69), (139.77, 35.69), (139.77, 35.70), (139.78, 35.70), (139.77, 35.70),
                     (139.77, 35.71), (139.75, 35.71)])
    frame = gpd.GeoDataFrame({"source_id": ["bowtie", "spike"], "category": ["land", "park"],
                              "name": ["用地", "公園"]}, geometry=[bowtie, spike], crs=4326)
    path = tmp_path / "areas.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = await load(settings, path)
    assert not report.committed and report.rejected == 1
    rejected = [i for i in report.issues if i.severity == "rejected"]
    assert rejected[0].row == 1 and "Self-intersection" in rejected[0].reason and "2 parts" in rejected[0].reason
    assert any(i.row == 2 and "repaired" in i.reason for i in report.issues)
    assert await owner.fetchval("select count(*) from assets") == 0

    frame.iloc[[1]].to_file(path, driver="GeoJSON")
    repaired = await load(settings, path)
    assert repaired.committed and repaired.inserted == 1
    assert await owner.fetchval("select ST_IsValid(geom) and GeometryType(geom) = 'POLYGON' from assets")


async def test_polygon_only_for_rooftop_land_park_and_inside_japan(settings: Settings, owner: asyncpg.Connection,
                                                                   tmp_path: Path) -> None:
    square = Polygon([(139.75, 35.69), (139.751, 35.69), (139.751, 35.691), (139.75, 35.691)])
    frame = gpd.GeoDataFrame({"source_id": ["a", "b", "c"], "category": ["streetlight", "rooftop", "bus_stop"],
                              "name": ["x", "y", "z"]},
                             geometry=[square, square, Point(2.35, 48.85)], crs=4326)
    path = tmp_path / "mixed.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = await load(settings, path)
    reasons = {i.row: i.reason for i in report.issues if i.severity == "rejected"}
    assert set(reasons) == {1, 3}
    assert "only for rooftop, land or park" in reasons[1] and "outside Japan" in reasons[3]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"source_id,name,category,latitude,longitude\n"])
async def test_empty_csv_is_a_clear_error(settings: Settings, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(LoadError, match=r"empty|no data rows"):
        await load(settings, path)


async def test_empty_geojson_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(LoadError, match="no features"):
        await load(settings, path)


RECOMMENDED_HEADER = [
    "都道府県コード又は市区町村コード", "NO", "都道府県名", "市区町村名", "名称", "名称_カナ", "名称_通称", "POIコード",
    "住所", "方書", "緯度", "経度", "電話番号", "内線番号", "法人番号", "団体名", "利用可能曜日", "開始時間",
    "終了時間", "利用可能日時特記事項", "説明", "バリアフリー情報", "URL", "備考"]
STANDARD_HEADER = ["全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "名称_英字", "所在地_全体",
                   "所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下", "建物名等(方書)", "緯度",
                   "経度", "電話番号", "内線番号", "法人番号", "団体名", "URL", "備考"]


async def test_recommended_public_facility_list(settings: Settings, owner: asyncpg.Connection,
                                                tmp_path: Path) -> None:
    row = dict.fromkeys(RECOMMENDED_HEADER, "")
    row.update({"都道府県コード又は市区町村コード": "131016", "NO": "1", "都道府県名": "東京都",
                "市区町村名": "千代田区", "名称": "千代田区役所", "住所": "東京都千代田区九段南1-2-1",
                "方書": "本庁舎", "緯度": "35.69389", "経度": "139.75361", "電話番号": "03-3264-2111"})
    other = {**row, "NO": "2", "名称": "千代田図書館", "緯度": "35.6940", "経度": "139.7540"}
    path = tmp_path / "131016_public_facility.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, RECOMMENDED_HEADER)
        writer.writeheader()
        writer.writerows([row, other])
    report = await load(settings, path)
    assert report.inserted == 2 and "推奨データセット 公共施設一覧" in " ".join(report.notes)
    stored = await owner.fetchrow("select category, name, address, contact, source from assets where source_id = '1'")
    assert dict(stored) == {"category": "rooftop", "name": "千代田区役所",
                            "address": "東京都千代田区九段南1-2-1 本庁舎", "contact": "03-3264-2111",
                            "source": "推奨データセット 公共施設一覧"}


async def test_standard_open_dataset_public_facilities(settings: Settings, owner: asyncpg.Connection,
                                                       tmp_path: Path) -> None:
    row = dict.fromkeys(STANDARD_HEADER, "")
    row.update({"全国地方公共団体コード": "131041", "ID": "0001", "地方公共団体名": "新宿区", "名称": "新宿区役所",
                "所在地_全体": "東京都新宿区歌舞伎町1-4-1", "緯度": "35.693840", "経度": "139.703549"})
    path = tmp_path / "131041_public_facility.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, STANDARD_HEADER)
        writer.writeheader()
        writer.writerow(row)
    report = await load(settings, path, tenant=SHINJUKU)
    assert report.inserted == 1 and report.notes[0] == "read as utf-8"
    stored = await owner.fetchrow("select municipality_code, source_id, address from assets")
    assert dict(stored) == {"municipality_code": SHINJUKU, "source_id": "0001", "address": "東京都新宿区歌舞伎町1-4-1"}


def write_lights_csv(path: Path, n: int, bad_row: int | None = None, code: str = CHIYODA) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["municipality_code", "source_id", "name", "category", "latitude", "longitude", "height_m"])
        for i in range(1, n + 1):
            lat = "abc" if i == bad_row else f"{35.68 + (i % 100) / 10_000:.5f}"
            lon = f"{139.75 + i / 1_000_000:.6f}"
            writer.writerow([code, f"L{i:05d}", f"light {i}", "streetlight", lat, lon, "10"])


async def test_one_bad_row_among_ten_thousand_stores_nothing(settings: Settings, owner: asyncpg.Connection,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 10_000, bad_row=7_777)
    report = await load(settings, path)
    assert (report.rows, report.rejected, report.committed) == (10_000, 1, False)
    [issue] = [i for i in report.issues if i.severity == "rejected"]
    assert (issue.row, issue.source_id) == (7_777, "L07777") and "not numbers" in issue.reason
    assert await counts(owner) == (0, 0, 0, 0)


async def test_dry_run_writes_nothing(settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 50)
    report = await load(settings, path, dry_run=True)
    assert (report.inserted, report.committed, report.dry_run) == (50, False, True)
    assert await counts(owner) == (0, 0, 0, 0)


async def test_rows_of_another_municipality_are_rejected(settings: Settings, owner: asyncpg.Connection,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 3, code=SHINJUKU)
    report = await load(settings, path)
    assert report.rejected == 3 and "belongs to municipality 131041" in report.issues[0].reason
    assert await owner.fetchval("select count(*) from assets") == 0


async def test_point_outside_its_loaded_boundary_is_a_warning(settings: Settings, owner: asyncpg.Connection,
                                                               tmp_path: Path) -> None:
    await owner.execute("insert into municipality_boundaries (code, geom) values ($1, ST_Multi(ST_MakeEnvelope("
                        "139.73, 35.67, 139.78, 35.70, 4326)))", CHIYODA)
    frame = points_frame(2)
    frame.loc[1, "geometry"] = Point(139.70, 35.69)
    path = tmp_path / "lights.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = await load(settings, path)
    assert report.committed and report.inserted == 2
    assert [(i.row, i.severity) for i in report.issues] == [(2, "warning")]
    assert "outside municipality 131016" in report.issues[0].reason


def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("API_DATABASE_URL", settings.api_database_url)
    return main(list(argv))


async def test_cli_mapping_flags_report_and_exit_codes(settings: Settings, owner: asyncpg.Connection,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "own_headers.csv"
    path.write_text("番号,施設,Y,X,高さ\nA1,北の丸公園灯,35.6920,139.7510,7\nA2,九段灯,35.6951,oops,7\n",
                    encoding="utf-8")
    report_path = tmp_path / "rejected.csv"
    args = ["load", "assets", str(path), "--tenant", "131016", "--map", "source_id=番号", "--map", "name=施設",
            "--map", "latitude=Y", "--map", "longitude=X", "--map", "height_m=高さ", "--default",
            "category=streetlight", "--report", str(report_path), "--quiet"]
    assert await asyncio.to_thread(cli, settings, monkeypatch, *args) == 2
    with report_path.open(encoding="utf-8-sig") as fh:
        lines = list(csv.DictReader(fh))
    assert lines == [{"row": "2", "source_id": "A2", "severity": "rejected",
                      "reason": "latitude/longitude '35.6951', 'oops' are not numbers"}]
    assert await owner.fetchval("select count(*) from assets") == 0

    path.write_text("番号,施設,Y,X,高さ\nA1,北の丸公園灯,35.6920,139.7510,7\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": {"source_id": "番号", "name": "施設", "latitude": "Y", "longitude": "X",
                                               "height_m": "高さ"}, "defaults": {"category": "streetlight"}}))
    args = ["load", "assets", str(path), "--tenant", "131016", "--mapping", str(mapping), "--quiet"]
    assert await asyncio.to_thread(cli, settings, monkeypatch, *args) == 0
    assert "1 were inserted" in capsys.readouterr().out
    assert await owner.fetchval("select height_m::float from assets where source_id = 'A1'") == 7.0

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert await asyncio.to_thread(cli, settings, monkeypatch, "load", "assets", str(empty), "--tenant",
                                   "131016") == 1
    assert "empty.csv is empty" in capsys.readouterr().err


async def test_tab_separated_text_and_an_excel_workbook(settings: Settings, owner: asyncpg.Connection,
                                                        tmp_path: Path) -> None:
    tsv = tmp_path / "lights.txt"
    tsv.write_text("source_id\tname\tcategory\tlatitude\tlongitude\nT1\t灯\tstreetlight\t35.69\t139.75\n",
                   encoding="utf-8")
    assert (await load(settings, tsv)).inserted == 1
    workbook = tmp_path / "assets.xlsx"
    with zipfile.ZipFile(workbook, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(LoadError, match="Excel workbook"):
        await load(settings, workbook)
