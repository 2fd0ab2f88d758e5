"""CSV export: formula cells neutralised (OWASP CSV injection), one charset in Content-Type."""

from __future__ import annotations

import csv
import io

import pytest
from litestar.testing import AsyncTestClient

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
