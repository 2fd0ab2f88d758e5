"""Excel workbooks in, and the round trip of issue 14: a municipality's assets as an .xlsx, one cell changed
in openpyxl, uploaded again: exactly that asset updated, nothing else (its audit and versions prove it).

The sheet is the registry's own export (GET /v1/assets/export?f=xlsx: Japanese headers, which the loader reads
back as the attributes they name, codes and ids as text cells, labels for enumerations).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import asyncpg
import geopandas as gpd
import openpyxl
from litestar.testing import AsyncTestClient

from loaders.assets import load_source
from loaders.demo import SAMPLE_UPLOAD, Municipality, generate
from loaders.formats import Source
from loaders.mapping import HEADERS_JA
from registry.db.admin import admin_session
from registry.settings import Settings
from tests.conftest import KeyFactory, assert_problem

CHIYODA = "131016"
SHINJUKU = "131041"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TEXT_COLUMNS = ("source_id", "municipality_code")


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _with_cached_value(data: bytes, sheet_no: int, cell: str, value: str) -> bytes:
    """openpyxl writes formulas without the value Excel caches on saving; write it as Excel does."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == f"xl/worksheets/sheet{sheet_no}.xml":
                text = body.decode()
                text, n = re.subn(rf'<c r="{cell}"><f>(.*?)</f><v\s*/?>(</v>)?',
                                  lambda m: f'<c r="{cell}" t="str"><f>{m.group(1)}</f><v>{value}</v>', text)
                assert n == 1, text
                body = text.encode()
            dst.writestr(item, body)
    return out.getvalue()


async def test_public_facility_workbook_named_sheet_formulas_and_text_codes(client: AsyncTestClient,
                                                                            make_key: KeyFactory,
                                                                            owner: asyncpg.Connection) -> None:
    rows = list(csv.reader(io.StringIO(SAMPLE_UPLOAD.read_bytes().decode("cp932"))))
    header, body = rows[0], rows[1:]
    name_col = header.index("名称")
    # The first facility's name is a formula, as clerks build names from other cells; Excel cached its value.
    formula_row = [*body[0]]
    formula_row[name_col] = f'=D{2}&""'
    sheets = {"説明": [["項目", "内容"], ["作成", "新宿区"]], "公共施設一覧": [header, formula_row, *body[1:]]}
    data = _with_cached_value(_workbook(sheets), 2, f"{openpyxl.utils.get_column_letter(name_col + 1)}2",
                              body[0][name_col])
    key = await make_key("municipality", SHINJUKU)
    files = {"file": ("施設一覧.xlsx", data, XLSX)}

    # The first sheet is a note, not the list: said so, nothing stored.
    first = await client.post("/v1/assets/uploads", files=files, headers=key)
    assert "no column holds the owner's id" in assert_problem(first, 400)["detail"]
    missing = await client.post("/v1/assets/uploads", params={"sheet": "一覧"}, files=files, headers=key)
    assert "公共施設一覧" in assert_problem(missing, 400)["detail"]

    done = await client.post("/v1/assets/uploads", params={"sheet": "公共施設一覧", "publish": "true"}, files=files,
                             headers=key)
    assert done.status_code == 200, done.text
    assert (done.json()["inserted"], done.json()["rejected"]) == (len(body), 0)
    assert "read sheet '公共施設一覧'" in done.json()["notes"]
    stored = dict(await owner.fetch("select source_id, name from assets where municipality_code = $1", SHINJUKU))
    assert stored["0001"] == body[0][name_col]  # the cached value, and the id kept its zeros
    assert set(stored) == {r[header.index("ID")] for r in body}
    assert await owner.fetchval("select count(*) from assets where status = 'published' and category <> 'other' "
                                "and address is not null") == len(body) - 1  # the held tourist office stays draft


async def test_number_cells_lose_zeros_and_the_report_says_so(client: AsyncTestClient, make_key: KeyFactory,
                                                              owner: asyncpg.Connection) -> None:
    rows = [["全国地方公共団体コード", "管理番号", "名称", "種別", "緯度", "経度"],
            [131016, 1, "九段下 街路灯", "街路灯", 35.6954, 139.7514],
            ["131016", "0002", "神保町 電柱", "電柱", 35.6959, 139.7577]]
    key = await make_key("municipality", CHIYODA)
    r = await client.post("/v1/assets/uploads", files={"file": ("x.xlsx", _workbook({"s": rows}), XLSX)},
                          headers=key)
    assert r.status_code == 200, r.text
    assert any("1 cells of 管理番号 are numbers" in n for n in r.json()["notes"])
    assert sorted(dict(await owner.fetch("select source_id, category from assets")).items()) == [
        ("0002", "utility_pole"), ("1", "streetlight")]


async def _exported(client: AsyncTestClient, key: dict[str, str]) -> bytes:
    """The municipality's assets as the registry exports them for Excel (Japanese headers, codes as text)."""
    r = await client.get("/v1/assets/export", params={"municipality": CHIYODA, "f": "xlsx"}, headers=key)
    assert r.status_code == 200, r.text
    assert r.headers["X-Export-Truncated"] == "false"
    return r.content


_STATE = "select source_id, version, updated_at from assets order by source_id"


async def test_xlsx_round_trip_changes_only_the_edited_cell(settings: Settings, client: AsyncTestClient,
                                                            make_key: KeyFactory, owner: asyncpg.Connection) -> None:
    # Assets as the demo makes them (parks and rooftops partly outlined), loaded as a municipality's own file.
    chiyoda = await owner.fetchrow("select name, ST_X(town_hall) as lon, ST_Y(town_hall) as lat from municipalities "
                                   "where code = $1", CHIYODA)
    town = Municipality(CHIYODA, chiyoda["name"], chiyoda["lon"], chiyoda["lat"], 1.0, 1.3, True)
    frame = generate(town, 40, "東京都", {"streetlight": 0.3, "utility_pole": 0.2, "traffic_signal": 0.1,
                                         "bus_stop": 0.1, "park": 0.15, "rooftop": 0.15})
    geometry = gpd.GeoSeries(frame.pop("geometry"), crs=4326)
    loaded = await admin_session(settings, lambda db: load_source(
        db, Source(frame.astype(object), geometry, "demo", "seed"), tenant=CHIYODA, publish=True))
    assert loaded.committed and loaded.inserted == 40
    outlines = await owner.fetchval("select count(*) from assets where GeometryType(geom) = 'POLYGON'")
    assert outlines > 0
    key = await make_key("municipality", CHIYODA)
    data = await _exported(client, key)

    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    headers = [c.value for c in sheet[1]]
    edited_row = 8
    edited = sheet.cell(row=edited_row, column=headers.index(HEADERS_JA["height_m"]) + 1)
    edited.value = (edited.value or 0) + 1.5
    edited_id = sheet.cell(row=edited_row, column=headers.index(HEADERS_JA["source_id"]) + 1).value
    out = io.BytesIO()
    book.save(out)

    before = [tuple(r) for r in await owner.fetch(_STATE)]
    audit_before = await owner.fetchval("select count(*) from asset_audit")
    # The sheet as exported first: nothing changes at all.
    same = await client.post("/v1/assets/uploads", files={"file": ("資産.xlsx", data, XLSX)}, headers=key)
    assert same.status_code == 200, same.text
    assert [tuple(r) for r in await owner.fetch(_STATE)] == before

    r = await client.post("/v1/assets/uploads", files={"file": ("資産.xlsx", out.getvalue(), XLSX)}, headers=key)
    assert r.status_code == 200, r.text
    assert (r.json()["updated"], r.json()["unchanged"], r.json()["inserted"]) == (1, 39, 0)
    after = {row[0]: row for row in await owner.fetch(_STATE)}
    moved = sorted(sid for sid, version, _ in before if after[sid]["version"] != version)
    assert moved == [edited_id] and after[edited_id]["version"] == 2
    assert await owner.fetchval("select count(*) from assets where GeometryType(geom) = 'POLYGON'") == outlines
    # The audit log has one row more, for the edited asset, at its new version.
    assert await owner.fetchval("select count(*) from asset_audit") == audit_before + 1
    last = await owner.fetchrow("select x.op, x.version, a.source_id, a.height_m from asset_audit x join assets a "
                                "using (municipality_code, asset_id) order by x.audit_id desc limit 1")
    assert (last["op"], last["version"], last["source_id"]) == ("update", 2, edited_id)
    assert float(last["height_m"]) == edited.value
