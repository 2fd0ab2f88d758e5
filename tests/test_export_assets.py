"""Asset exports a clerk can open: every format counts what the search counts, XLSX keeps every zero, CP932
reports what it cannot hold, the cap is said, formulas stay inert, and the 公共施設一覧 layout is the one the
loader recognises."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from loaders.mapping import STANDARD, detect_layout
from registry.app import create_app
from registry.assets.export_columns import OPENDATA, TABLE
from registry.assets.labels import LABELS
from tests.assets_fixture import CHIYODA, fixture_assets, publish
from tests.conftest import assert_problem
from tests.export_read import XLSX, rows, split, workbook

SAPPORO = "011002"  # a code with a leading zero, the one Excel drops
SAPPORO_HALL = (141.3544, 43.0621)
FORMATS = [{"f": "csv"}, {"f": "csv", "encoding": "cp932"}, {"f": "xlsx"}, {"f": "csv", "header": "ja"},
           {"f": "xlsx", "header": "en"}]


@pytest.fixture
async def seeded(client: AsyncTestClient, make_key) -> dict[str, dict]:
    """The fixture's assets (Chiyoda, Shinjuku, Osaka) and a Sapporo streetlight whose ids start with zeros."""
    for asset in fixture_assets(20):
        await publish(client, await make_key("municipality", asset["municipality_code"]), asset)
    sapporo = await make_key("municipality", SAPPORO)
    await publish(client, sapporo, {
        "source_id": "0001", "category": "streetlight", "name": '=HYPERLINK("http://x")', "address": "札幌市中央区",
        "geometry": {"type": "Point", "coordinates": list(SAPPORO_HALL)}, "availability": "on_request",
        "last_verified": "2026-04-01", "height_m": 8.5, "power": "yes"})
    return {"carrier": await make_key("carrier", "docomo"), "sapporo": sapporo}


async def _matched(client: AsyncTestClient, key: dict, query: dict) -> tuple[int, set[str]]:
    r = await client.get("/v1/assets", params={**query, "count": "true", "limit": 1000}, headers=key)
    assert r.status_code == 200, r.text
    return r.json()["numberMatched"], {f["id"] for f in r.json()["features"]}


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda p: "-".join(p.values()))
async def test_every_format_holds_every_match(client: AsyncTestClient, owner, seeded: dict, fmt: dict) -> None:
    # Tokyo is the largest prefecture the fixture seeds (40 of 61 assets); the search's count is the oracle,
    # and the table itself a second one.
    query = {"prefecture": "13"}
    matched, ids = await _matched(client, seeded["carrier"], query)
    in_table = await owner.fetchval("select count(*) from assets where status = 'published' "
                                    "and left(municipality_code, 2) = '13'")
    assert matched == in_table == 40
    r = await client.get("/v1/assets/export", params={**query, **fmt}, headers=seeded["carrier"])
    assert r.status_code == 200, r.text
    header, data, notes = split(rows(r))
    lang = fmt.get("header", "ja" if fmt["f"] == "xlsx" else "en")
    assert header == [c.title(lang) for c in TABLE]  # type: ignore[arg-type]
    assert len(data) == matched == int(r.headers["x-export-rows"]) and notes == []
    assert r.headers["x-export-truncated"] == "false" and "x-export-unencodable" not in r.headers
    assert {row[0] for row in data} == ids
    categories = {row[3] for row in data}
    assert categories <= (set(LABELS["category"].values()) if lang == "ja" else set(LABELS["category"]))


async def test_xlsx_keeps_zeros_types_and_neutralises_formulas(client: AsyncTestClient, seeded: dict) -> None:
    r = await client.get("/v1/assets/export", params={"municipality": SAPPORO, "f": "xlsx"}, headers=seeded["sapporo"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(XLSX)
    assert r.headers["content-disposition"] == 'attachment; filename="assets.xlsx"'
    ws = workbook(r.content).active
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref is not None
    header = [c.value for c in ws[1]]
    assert header == [c.ja for c in TABLE]
    assert ws.column_dimensions["E"].width >= 20  # 名称
    cells = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert cells["全国地方公共団体コード"].value == SAPPORO and cells["全国地方公共団体コード"].data_type == "s"
    assert cells["管理番号"].value == "0001" and cells["管理番号"].data_type == "s"
    assert cells["種別"].value == "街路灯" and cells["提供状況"].value == "要相談" and cells["電源"].value == "あり"
    assert cells["最終確認日"].is_date and cells["最終確認日"].value == dt.datetime(2026, 4, 1)
    assert cells["高さ(m)"].value == 8.5 and cells["高さ(m)"].data_type == "n"
    # The name as the municipality wrote it, a text cell Excel shows and never runs.
    name = cells["名称"]
    assert name.value == '=HYPERLINK("http://x")' and name.data_type == "s" and name.quotePrefix
    english = await client.get("/v1/assets/export", params={"municipality": SAPPORO, "f": "xlsx", "header": "en"},
                               headers=seeded["sapporo"])
    row = dict(zip(*list(workbook(english.content).active.iter_rows(values_only=True))[:2], strict=True))
    assert row["category"] == "streetlight" and row["municipality_code"] == SAPPORO and row["source_id"] == "0001"


async def test_cp932_reports_every_character_it_cannot_hold(client: AsyncTestClient, make_key, seeded: dict) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    await publish(client, chiyoda, {"source_id": "Y-1", "category": "rooftop", "name": "𠮷野ビル 屋上",
                                    "address": "千代田区𠮷野町1", "geometry": {"type": "Point",
                                                                             "coordinates": [139.7536, 35.6939]}})
    for path, extra in (("/v1/assets/export", {}), ("/v1/assets", {"f": "csv", "limit": 1000}),
                        ("/v1/assets/export", {"header": "ja"})):
        r = await client.get(path, params={"municipality": CHIYODA, "encoding": "cp932", **extra},
                             headers=seeded["carrier"])
        assert r.status_code == 200, r.text
        assert r.headers["x-export-unencodable"].startswith("count=2; characters=U+20BB7; rows="), r.headers
        _, data, notes = split(rows(r))
        row = next(row for row in data if row[2] == "Y-1")
        assert row[4] == "〓野ビル 屋上" and row[5] == "千代田区〓野町1"
        assert len(notes) == 1 and "U+20BB7" in notes[0] and ("UTF-8" in notes[0])
        assert notes[0].startswith("注記" if extra.get("header") == "ja" else "Note:")
    kept = await client.get("/v1/assets/export", params={"municipality": CHIYODA}, headers=seeded["carrier"])
    assert "𠮷野ビル 屋上" in kept.content.decode("utf-8-sig") and "x-export-unencodable" not in kept.headers


@pytest.mark.parametrize("fmt", FORMATS[:3], ids=lambda p: "-".join(p.values()))
async def test_the_cap_is_said_in_a_header_and_a_note_row(settings, make_key, fmt: dict) -> None:
    async with AsyncTestClient(app=create_app(msgspec.structs.replace(settings, export_max_rows=7))) as client:
        for asset in fixture_assets(4):
            await publish(client, await make_key("municipality", asset["municipality_code"]), asset)
        carrier = await make_key("carrier", "docomo")
        r = await client.get("/v1/assets/export", params=fmt, headers=carrier)
        assert r.status_code == 200, r.text
        assert (r.headers["x-export-rows"], r.headers["x-export-cap"], r.headers["x-export-truncated"]) == \
            ("7", "7", "true")
        _, data, notes = split(rows(r))
        assert len(data) == 7 and len(notes) == 1 and "7" in notes[0]
        exact = await client.get("/v1/assets/export", params={**fmt, "municipality": CHIYODA}, headers=carrier)
        assert exact.headers["x-export-truncated"] == "false" and split(rows(exact))[2] == []


@pytest.mark.parametrize("f", ["csv", "xlsx"])
async def test_opendata_layout_is_the_one_the_loader_recognises(client: AsyncTestClient, owner, seeded: dict,
                                                                f: str) -> None:
    r = await client.get("/v1/assets/export", params={"municipality": SAPPORO, "layout": "opendata", "f": f},
                         headers=seeded["sapporo"])
    assert r.status_code == 200, r.text
    header, data, _ = split(rows(r))
    assert header == [c.key for c in OPENDATA] and detect_layout(header) == STANDARD
    row = dict(zip(header, data[0], strict=True))
    name = await owner.fetchval("select name from municipalities where code = $1", SAPPORO)
    assert (row["全国地方公共団体コード"], row["ID"], row["地方公共団体名"]) == (SAPPORO, "0001", name)
    assert float(row["緯度"]) == pytest.approx(SAPPORO_HALL[1]) and float(row["経度"]) == pytest.approx(SAPPORO_HALL[0])
    assert row["所在地_全体"] == "札幌市中央区" and "種別: 街路灯" in row["説明"]


async def test_export_parameters_are_checked(client: AsyncTestClient, seeded: dict) -> None:
    for params, field in (({"f": "xlsx", "encoding": "latin-1"}, "encoding"), ({"encoding": "latin-1"}, "encoding"),
                          ({"f": "pdf"}, "f"), ({"bbox": "1,2,3"}, "bbox")):
        r = await client.get("/v1/assets/export", params=params, headers=seeded["carrier"])
        assert r.status_code in (400, 422) and field in str(assert_problem(r, r.status_code)), r.text
    # CSV's encoding is no matter for an XLSX file, which holds every character: the file is the same.
    plain = await client.get("/v1/assets/export", params={"f": "xlsx"}, headers=seeded["carrier"])
    named = await client.get("/v1/assets/export", params={"f": "xlsx", "encoding": "cp932"}, headers=seeded["carrier"])
    assert rows(plain) == rows(named) and "x-export-unencodable" not in named.headers
    assert (await client.get("/v1/assets/export", params={"header": "fr"}, headers=seeded["carrier"])).status_code \
        in (400, 422)


async def test_statistics_label_enumerations_and_keep_codes(client: AsyncTestClient, seeded: dict) -> None:
    for group_by in ("category", "availability"):
        r = await client.get("/v1/stats/assets", params={"group_by": group_by}, headers=seeded["carrier"])
        assert r.status_code == 200, r.text
        groups = r.json()["groups"]
        assert groups and all(g["label"] == LABELS[group_by][g["key"]] for g in groups), groups
