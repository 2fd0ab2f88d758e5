"""Imports a clerk can trust (issue 14): a 自治体標準 公共施設一覧 file in CP932 keeps its addresses, lands as
drafts, and is published only when the upload says publish=true; categories inferred from names are reported
row by row and a name that says nothing is held back; NFKC keeps the original in the report; Z is dropped
with a warning; a load never overwrites what the application workflow holds."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import asyncpg
import geopandas as gpd
from litestar.testing import AsyncTestClient
from shapely.geometry import Point

from loaders.assets import load_assets
from loaders.demo import SAMPLE_UPLOAD
from registry.db.admin import admin_session
from registry.settings import Settings
from tests.conftest import KeyFactory

SHINJUKU = "131041"
CHIYODA = "131016"
STANDARD = ["全国地方公共団体コード", "ID", "地方公共団体名", "名称", "名称_カナ", "所在地_連結表記", "所在地_都道府県",
            "所在地_市区町村", "所在地_町字", "所在地_番地以下", "建物名等(方書)", "緯度", "経度", "電話番号", "備考"]
# The sample the demo's curl line uploads, read back independently with the csv module (CP932).
SAMPLE = list(csv.DictReader(io.StringIO(SAMPLE_UPLOAD.read_bytes().decode("cp932"))))


def _expected_address(row: dict[str, str]) -> str:
    joined = row["所在地_連結表記"] or "".join(row[c] for c in ("所在地_都道府県", "所在地_市区町村", "所在地_町字",
                                                            "所在地_番地以下"))
    return unicodedata.normalize("NFKC", f"{joined} {row['建物名等(方書)']}".strip())


def _upload(csv_bytes: bytes, name: str = "131041_public_facilities.csv") -> dict:
    return {"file": (name, csv_bytes, "text/csv")}


async def test_standard_layout_in_cp932_lands_as_drafts_then_publishes(client: AsyncTestClient,
                                                                       make_key: KeyFactory,
                                                                       owner: asyncpg.Connection) -> None:
    key = await make_key("municipality", SHINJUKU)
    carrier = await make_key("carrier", "docomo")
    data = SAMPLE_UPLOAD.read_bytes()
    first = await client.post("/v1/assets/uploads", files=_upload(data), headers=key)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["inserted"], body["rejected"], body["committed"]) == (len(SAMPLE), 0, True)
    assert "read as cp932" in body["notes"] and any("drafts" in n for n in body["notes"])
    stored = {r["source_id"]: r for r in await owner.fetch(
        "select source_id, name, address, category, status, contact from assets where municipality_code = $1",
        SHINJUKU)}
    assert set(stored) == {r["ID"] for r in SAMPLE}  # ids keep their zeros: 0001, not 1
    for row in SAMPLE:
        got = stored[row["ID"]]
        assert got["address"] == _expected_address(row) and got["status"] == "draft"
        assert got["name"] == unicodedata.normalize("NFKC", row["名称"])
    # Carriers see none of them yet.
    seen = await client.get("/v1/assets", params={"bbox": "139.6,35.6,139.8,35.8"}, headers=carrier)
    assert seen.status_code == 200 and seen.json()["features"] == []

    # Every category came from the name and says so; the tourist office's name says nothing: held.
    warnings = {(i["source_id"], i["reason"]) for i in body["issues"] if i["severity"] == "warning"}
    assert ("0002", "category park inferred from '公園' in the name (the file has no category column)") in warnings
    held = [r for r in SAMPLE if r["名称"].endswith("案内所")]
    assert held and all(stored[r["ID"]]["category"] == "other" for r in held)
    assert all(any(s == r["ID"] and "cannot be inferred" in w for s, w in warnings) for r in held)
    # Half-width katakana stored full width, the original in the report.
    half = [r for r in SAMPLE if r["名称"] != unicodedata.normalize("NFKC", r["名称"])]
    assert half
    for r in half:
        assert any(s == r["ID"] and r["名称"] in w and w.startswith("name normalised") for s, w in warnings)

    published = await client.post("/v1/assets/uploads", params={"publish": "true"}, files=_upload(data),
                                  headers=key)
    assert published.status_code == 200, published.text
    # Every row but the held one changes exactly its status.
    assert (published.json()["updated"], published.json()["unchanged"]) == (len(SAMPLE) - len(held), len(held))
    statuses = dict(await owner.fetch("select source_id, status from assets where municipality_code = $1", SHINJUKU))
    assert statuses == {r["ID"]: "draft" if r in held else "published" for r in SAMPLE}
    seen = await client.get("/v1/assets", params={"bbox": "139.6,35.6,139.8,35.8"}, headers=carrier)
    assert len(seen.json()["features"]) == len(SAMPLE) - len(held)


async def test_address_from_parts_when_no_joined_column(settings: Settings, owner: asyncpg.Connection,
                                                        tmp_path: Path) -> None:
    row = dict.fromkeys(STANDARD, "")
    row.update({"全国地方公共団体コード": "131016", "ID": "A-01", "名称": "千代田区役所", "所在地_都道府県": "東京都",
                "所在地_市区町村": "千代田区", "所在地_町字": "九段南一丁目", "所在地_番地以下": "２番１号",
                "建物名等(方書)": "本庁舎", "緯度": "35.69389", "経度": "139.75361"})
    del row["所在地_連結表記"]
    path = tmp_path / "parts.csv"
    with path.open("w", encoding="cp932", newline="") as fh:
        writer = csv.DictWriter(fh, [c for c in STANDARD if c != "所在地_連結表記"])
        writer.writeheader()
        writer.writerow(row)
    report = await admin_session(settings, lambda db: load_assets(db, path, tenant=CHIYODA))
    assert report.committed and report.inserted == 1
    got = await owner.fetchrow("select address, category, status from assets where source_id = 'A-01'")
    assert tuple(got) == ("東京都千代田区九段南一丁目2番1号 本庁舎", "rooftop", "draft")
    assert any(i.reason.startswith("address normalised") and "２番１号" in i.reason for i in report.issues)


async def test_z_is_dropped_with_a_warning(settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"source_id": ["Z1", "Z2"], "category": ["streetlight"] * 2, "name": ["灯1", "灯2"]},
                             geometry=[Point(139.7530, 35.6940, 41.5), Point(139.7540, 35.6940)], crs=4326)
    path = tmp_path / "z.geojson"
    frame.to_file(path, driver="GeoJSON")
    report = await admin_session(settings, lambda db: load_assets(db, path, tenant=CHIYODA))
    assert report.committed and report.inserted == 2
    z = [i for i in report.issues if "Z value" in i.reason]
    assert [(i.source_id, "41.5" in i.reason) for i in z] == [("Z1", True)]
    assert await owner.fetchval("select count(*) from assets where ST_Zmflag(geom) = 0") == 2


async def test_a_load_keeps_what_approved_applications_hold(settings: Settings, owner: asyncpg.Connection,
                                                            client: AsyncTestClient, make_key: KeyFactory,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "site.csv"

    def write(availability: str, max_tenants: int, height: int) -> None:
        path.write_text("source_id,name,category,latitude,longitude,availability,max_tenants,current_tenants,height_m\n"
                        f"S1,庁舎屋上,rooftop,35.6940,139.7530,{availability},{max_tenants},0,{height}\n",
                        encoding="utf-8")

    write("offered", 2, 30)
    assert (await admin_session(settings, lambda db: load_assets(db, path, tenant=CHIYODA, publish=True))).inserted
    asset = await owner.fetchval("select asset_id::text from assets where source_id = 'S1'")
    chiyoda = await make_key("municipality", CHIYODA)
    for carrier in ("docomo", "kddi"):
        filed = await client.post("/v1/applications", headers=await make_key("carrier", carrier),
                                  json={"asset_ids": [asset], "purpose": "5G", "starts_on": "2027-04-01",
                                        "ends_on": "2030-03-31"})
        assert filed.status_code == 201, filed.text
        approved = await client.post(f"/v1/applications/{filed.json()['application_id']}/actions",
                                     json={"action": "approve"}, headers=chiyoda)
        assert approved.status_code == 200, approved.text
    full = tuple(await owner.fetchrow("select current_tenants, max_tenants, availability from assets"))
    assert full == (2, 2, "occupied")

    # The clerk's old sheet says offered, 1 slot, 0 tenants; only the height is really new.
    write("offered", 1, 32)
    report = await admin_session(settings, lambda db: load_assets(db, path, tenant=CHIYODA))
    assert report.updated == 1
    kept = [i.reason for i in report.issues if i.source_id == "S1" and "kept" in i.reason]
    assert kept and "availability occupied and max_tenants 2 kept" in kept[0] and "2 of its 2 slots" in kept[0]
    after = await owner.fetchrow("select current_tenants, max_tenants, availability, height_m, status from assets")
    assert (tuple(after)[:3], float(after["height_m"]), after["status"]) == (full, 32.0, "published")
