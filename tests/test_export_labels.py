"""Japanese labels and headers read back by the loader, and the export writers' arithmetic. Pure: no database."""

from __future__ import annotations

import asyncio
import io

import openpyxl
import pytest

from loaders.mapping import ATTRIBUTES, COORDINATES, default_mapping
from loaders.words import CATEGORY_WORDS, WORDS
from registry.assets.export_columns import TABLE
from registry.assets.labels import LABELS, label
from registry.assets.rules import DERIVED, ENUMS
from registry.exports.table import Column, ExportOptions
from registry.exports.writers import Outcome, XlsxSheet, capped, csv_bytes, encode


@pytest.mark.parametrize("attribute", sorted(ENUMS))
def test_every_label_reads_back_as_its_code(attribute: str) -> None:
    words = CATEGORY_WORDS if attribute == "category" else WORDS[attribute]
    for code in ENUMS[attribute]:
        assert words.get(LABELS[attribute][code]) == code, (attribute, code, LABELS[attribute][code])
        assert label(attribute, code) == LABELS[attribute][code]
    assert label(attribute, None) is None


def test_japanese_headers_map_to_their_own_attribute() -> None:
    headers = [c.ja for c in TABLE]
    mapped = default_mapping(headers, has_geometry=False).columns
    by_header = {names[0]: attr for attr, names in mapped.items()}
    for column in TABLE:
        if column.ja in by_header:
            assert by_header[column.ja] == column.key, column
    # current_tenants is counted by the database from approved applications (sql/056): never imported.
    importable = [c.key for c in TABLE if (c.key in ATTRIBUTES or c.key in COORDINATES) and c.key not in DERIVED]
    missing = {k for k in importable if k not in mapped}
    assert not missing, missing
    assert {"source_id", "municipality_code", "category", "name", "address", "latitude", "longitude"} <= set(mapped)


def test_cp932_replaces_with_the_geta_mark_and_counts_each_one() -> None:
    outcome = Outcome(cap=10)
    text = "a,b\r\n𠮷野,髙橋\r\nok,𠮷\r\n"
    encoded = encode(text, "cp932", outcome, 0)
    assert encoded.decode("cp932") == "a,b\r\n〓野,髙橋\r\nok,〓\r\n"  # 髙 is in CP932 (an NEC/IBM extension)
    assert outcome.replaced == 2 and outcome.unencodable == {"𠮷": 2} and outcome.lines == [1, 2]
    assert outcome.headers()["X-Export-Unencodable"] == "count=2; characters=U+20BB7; rows=1,2"
    assert encode(text, "utf-8", Outcome(cap=1), 0) == text.encode()


def test_cap_cuts_at_the_row_and_says_so() -> None:
    async def chunks():
        for start in range(0, 25, 10):
            yield [(i,) for i in range(start, min(start + 10, 25))]

    async def take(cap: int) -> tuple[list, Outcome]:
        outcome = Outcome(cap=cap)
        return [r for chunk in [c async for c in capped(chunks(), outcome)] for r in chunk], outcome

    for cap, expected, truncated in ((25, 25, False), (100, 25, False), (24, 24, True), (10, 10, True), (0, 0, True)):
        got, outcome = asyncio.run(take(cap))
        assert (len(got), outcome.rows, outcome.truncated) == (expected, expected, truncated)
        assert got == [(i,) for i in range(expected)]


def test_csv_cells_neutralise_formulas_and_keep_numbers() -> None:
    columns = [Column("name", "名称"), Column("n", "数", "number"), Column("code", "コード", "code")]
    body = csv_bytes([("=1+2", -3.5, "011002"), ("@A1", 0.1, "0001")], columns, ExportOptions(), Outcome(cap=5))
    assert body.decode("utf-8-sig").splitlines() == ["name,n,code", "'=1+2,-3.5,011002", "'@A1,0.1,0001"]


def test_xlsx_sheet_types_cells(tmp_path) -> None:
    columns = [Column("code", "コード", "code"), Column("n", "数", "int"), Column("name", "名称", labels={"a": "あ"})]
    sheet = XlsxSheet(tmp_path / "t.xlsx", columns, "ja", "試験")
    sheet.rows([("011002", 7, "a"), ("0001", None, "-b")])
    sheet.close(["注記: test"])
    ws = openpyxl.load_workbook(io.BytesIO((tmp_path / "t.xlsx").read_bytes()))["試験"]
    values = list(ws.iter_rows(values_only=True))
    assert values == [("コード", "数", "名称"), ("011002", 7, "あ"), ("0001", None, "-b"), (None, None, None),
                      ("注記: test", None, None)]
    assert ws["A2"].data_type == "s" and ws["B2"].data_type == "n" and ws["C3"].quotePrefix
