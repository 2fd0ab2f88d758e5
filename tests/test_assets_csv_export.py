"""CSV export: formula cells neutralised (OWASP CSV injection), one charset in Content-Type."""

from __future__ import annotations

import csv
import io

import pytest
from litestar.testing import AsyncTestClient

from registry.assets.export_columns import COLUMNS
from tests.assets_fixture import CENTRES, CHIYODA

FORMULAS = ['=HYPERLINK("x")', "+1", "-1+2", "@A1", "\tlead"]


@pytest.fixture
async def formula_assets(client: AsyncTestClient, make_key) -> list[dict]:
    key = await make_key("municipality", CHIYODA)
    lon, lat = CENTRES[CHIYODA]
    created = []
    for i, name in enumerate(FORMULAS):
        body = {"source_id": f"F-{i}", "category": "streetlight", "name": name, "address": name,
                "geometry": {"type": "Point", "coordinates": [lon + i * 0.001, lat]}, "height_m": 7.25,
                "spare_load_kg": 12, "visibility": "public"}
        r = await client.post("/v1/assets", json=body, headers=key)
        assert r.status_code == 201, r.text
        created.append(r.json())
    return created


@pytest.mark.parametrize(("encoding", "decode", "charset"), [("utf-8", "utf-8-sig", "utf-8"),
                                                               ("cp932", "cp932", "shift_jis")])
async def test_csv_export_neutralises_formulas(client: AsyncTestClient, make_key, formula_assets: list[dict],
                                               encoding: str, decode: str, charset: str) -> None:
    key = await make_key("carrier", "docomo")
    r = await client.get("/v1/assets", params={"municipality": CHIYODA, "f": "csv", "encoding": encoding},
                         headers=key)
    assert r.status_code == 200, r.text
    content_type = r.headers["content-type"]
    assert content_type.count("charset=") == 1 and content_type.startswith("text/csv"), content_type
    assert f"charset={charset}" in content_type
    rows = list(csv.DictReader(io.StringIO(r.content.decode(decode), newline="")))
    by_id = {row["source_id"]: row for row in rows}
    for i, name in enumerate(FORMULAS):
        row = by_id[f"F-{i}"]
        assert row["name"] == "'" + name and row["address"] == "'" + name, row
        assert row["height_m"] == "7.25" and float(row["spare_load_kg"]) == 12.0
        assert float(row["longitude"]) == pytest.approx(CENTRES[CHIYODA][0] + i * 0.001)
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)


async def _paged(client: AsyncTestClient, key: dict, query: dict) -> list[list[str]]:
    """Every page of the paged CSV form, following `next`, as rows (the header once)."""
    rows: list[list[str]] = []
    params: dict | None = {**query, "f": "csv", "limit": 2}
    url = "/v1/assets"
    while url:
        r = await client.get(url, params=params, headers=key)
        assert r.status_code == 200, r.text
        decode = "cp932" if query.get("encoding") == "cp932" else "utf-8-sig"
        page = list(csv.reader(io.StringIO(r.content.decode(decode), newline="")))
        rows += page if not rows else page[1:]
        link = r.headers.get("link")
        url = link.split(">")[0].lstrip("<").replace("http://testserver.local", "") if link else ""
        params = None
    return rows


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
async def test_streamed_export_equals_the_pages_and_the_table(client: AsyncTestClient, make_key, owner,
                                                              formula_assets: list[dict], encoding: str) -> None:
    key = await make_key("carrier", "docomo")
    query = {"municipality": CHIYODA, "encoding": encoding}
    r = await client.get("/v1/assets/export", params=query, headers=key)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and r.headers["content-type"].count("charset=") == 1
    assert r.headers["content-disposition"] == 'attachment; filename="assets.csv"'
    assert r.content.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8")
    streamed = list(csv.reader(io.StringIO(r.content.decode("cp932" if encoding == "cp932" else "utf-8-sig"),
                                           newline="")))
    assert streamed == await _paged(client, key, query)
    # An oracle that is not the API: the published assets of Chiyoda in the table itself.
    ids = {str(x[0]) for x in await owner.fetch(
        "select asset_id from assets where municipality_code = $1 and status = 'published'", CHIYODA)}
    assert {row[0] for row in streamed[1:]} == ids and len(streamed) - 1 == len(ids) >= len(FORMULAS)
    for row in streamed[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


async def test_streamed_export_checks_its_parameters(client: AsyncTestClient, make_key) -> None:
    key = await make_key("carrier", "docomo")
    for params, field in (({"encoding": "latin-1"}, "encoding"), ({"bbox": "1,2,3"}, "bbox")):
        r = await client.get("/v1/assets/export", params=params, headers=key)
        assert r.status_code == 422 and field in r.text, r.text
    empty = await client.get("/v1/assets/export", params={"municipality": "472018"}, headers=key)
    assert empty.status_code == 200 and empty.content.decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]
