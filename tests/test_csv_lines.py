"""The CSV lines PostgreSQL writes for the asset export (sql/185, export_queries.CSV_LINES) against the Python
writer they replace (registry/exports: table.csv_text, then csv.writer), value by value and whole exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import struct
from decimal import Decimal

import asyncpg
from litestar.testing import AsyncTestClient

from registry.assets import export
from registry.assets.search import SearchFilter, build_filter
from registry.exports.table import ExportOptions, csv_text
from registry.exports.writers import Outcome, csv_line_pieces, csv_pieces
from registry.principal import Principal
from tests.assets_fixture import CENTRES, CHIYODA


def _python_line(value: object) -> str:
    """One cell as the Python writer writes it, followed by a second cell (csv.writer quotes a lone empty
    field, which never happens in a 29-column export)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_text(value), "z"])
    return buffer.getvalue()


def _double(bits: int) -> float:
    return struct.unpack(">d", struct.pack(">Q", bits))[0]


def _floats() -> list[float]:
    rng = random.Random(185)
    values = [
        139.12345675, 139.00390625, 139.01171875, 35.68125, 0.125, 0.0001, 0.00009999, 1e-9, 5e-324, 2.2e-308,
        -0.0, 0.0, -1e-9, -139.12345675, -0.00000005, 0.00000005, 0.00000015, 399999999.99999997,
        400000000.0, 1e15, 1e300, 139.0, 35.7, 123456789.12345678, 2.5e-8, 7.5e-8, 99999.99999995, 1e5,
        99999.999999949, 0.00010000000000000005, 0.0001, -0.0001, 12345.00000005, -139.25,
        float("inf"), float("-inf"), float("nan"),
    ]
    # Coordinates as loaders and the demo write them (many decimals, 7, 8 ending in 5), and raw bit patterns.
    for _ in range(3000):
        lon = rng.uniform(122.5, 154.5)
        values += [lon, round(lon, 7), round(lon, 8), float(f"{lon:.7f}5"), float(f"{lon:.6f}"), -lon,
                   rng.uniform(0, 5000), rng.uniform(-1e5, 1e5), float(f"{rng.uniform(0, 1e5):.7f}5")]
    values += [_double(rng.getrandbits(64)) for _ in range(2000)]
    return values


async def test_float_cells_are_pythons_digits(owner: asyncpg.Connection) -> None:
    await owner.execute("set extra_float_digits = 0")  # no setting of the session's changes a cell
    values = _floats()
    got = await owner.fetchval("select array_agg(app.csv_float(v) || ',z' || E'\\r\\n' order by i) "
                               "from unnest($1::float8[]) with ordinality u(v, i)", values)
    wrong = [(v, g, _python_line(v)) for v, g in zip(values, got, strict=True) if g != _python_line(v)]
    assert not wrong, wrong[:10]
    # The slow path alone agrees too (the inlined one hands it ties, extremes and negatives).
    got = await owner.fetchval("select array_agg(app.py_fixed7(v) order by i) "
                               "from unnest($1::float8[]) with ordinality u(v, i)", values)
    assert [g + ",z\r\n" for g in got] == [_python_line(v) for v in values]


async def test_numeric_cells_are_the_floats_python_received(owner: asyncpg.Connection) -> None:
    rng = random.Random(7)
    values = [Decimal("0"), Decimal("12.50"), Decimal("-3.5"), Decimal("1000"), Decimal("9999999999.99"),
              Decimal("399999999.99"), Decimal("400000000.01"), Decimal("-999999999.9"), Decimal("0.01")]
    values += [Decimal(rng.randrange(-10**12, 10**12)) / 100 for _ in range(3000)]
    values += [Decimal(rng.randrange(0, 10**6)) / 10 for _ in range(1000)]
    got = await owner.fetchval("select array_agg(app.csv_num(v) || ',z' || E'\\r\\n' order by i) "
                               "from unnest($1::numeric[]) with ordinality u(v, i)", values)
    # The Python writer received these as float8 (queries._PROPS casts them).
    assert got == [_python_line(float(v)) for v in values]
    assert await owner.fetchval("select app.csv_num(null) || app.csv_float(null)") == ""


async def test_text_cells_are_neutralised_and_quoted_as_csv_writer_does(owner: asyncpg.Connection) -> None:
    texts = ["", "plain", "千代田区役所", "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "crlf\r\n", "=1+2",
             '=HYPERLINK("x")', "+1", "-1+2", "@A1", "\tlead", "\rlead", "=a,b\"c", "-", " lead space", "'quoted",
             "trail,", ",", '"', "\n", "a;b", "＝全角", "x" * 600]
    rng = random.Random(3)
    alphabet = ['a', ',', '"', '\r', '\n', '=', '+', '-', '@', '\t', ' ', '表', "'"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 8))) for _ in range(3000)]
    got = await owner.fetchval("select array_agg(app.csv_cell(t) || ',z' || E'\\r\\n' order by i) "
                               "from unnest($1::text[]) with ordinality u(t, i)", texts)
    assert got == [_python_line(t) for t in texts]
    assert await owner.fetchval("select app.csv_cell(null)") == ""


async def test_time_cells_are_isoformat(owner: asyncpg.Connection) -> None:
    base = dt.datetime(2026, 11, 30, 15, 4, 5, tzinfo=dt.UTC)
    times = [base, base.replace(microsecond=120000), base.replace(microsecond=1), base.replace(microsecond=999999),
             dt.datetime(1999, 1, 2, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, 23, 59, 59, 500, tzinfo=dt.UTC)]
    await owner.execute("set timezone = 'Asia/Tokyo'")  # the cell is UTC whatever the session's zone
    got = await owner.fetch("select app.csv_time(t) from unnest($1::timestamptz[]) t", times)
    assert [r[0] for r in got] == [t.isoformat() for t in times]


# Assets whose every text attribute needs care, exported by the database's lines and by the Python writer they
# replace (export._chunks without `lines`, then writers.csv_pieces): the same bytes in both languages and
# encodings, for a carrier (restricted assets masked) and the owner; and over HTTP the same as the pages.
AWKWARD = ["=SUM(A1)", 'a,b "c"\r\nd', "-5", "@x", "\tt", "ｶﾅ〜①𠮷", '"', "end,"]


async def _python_and_sql(pool: asyncpg.Pool, principal: Principal, flt: SearchFilter,
                          options: ExportOptions) -> tuple[bytes, bytes]:
    out = []
    for lines in (None, (options.lang, 1000)):
        chunks = export._chunks(pool, principal, flt, "registry", None, lines)
        await anext(chunks)
        pieces = (csv_line_pieces if lines else csv_pieces)(chunks, export.TABLE, options, Outcome(cap=1000))
        out.append(b"".join([piece async for piece in pieces]))
    return out[0], out[1]


async def test_whole_export_is_the_python_writers_bytes(settings, client: AsyncTestClient, make_key) -> None:
    key = await make_key("municipality", CHIYODA)
    lon, lat = CENTRES[CHIYODA]
    for i, text in enumerate(AWKWARD):
        body = {"source_id": f"{text}-{i}", "category": "rooftop" if i % 2 else "streetlight", "name": text,
                "address": text, "geometry": {"type": "Point", "coordinates": [lon + i * 0.00123456789,
                                                                               lat + 0.00000005 * i]},
                "height_m": 7.25 + i, "mountable_height_m": 3 if i % 2 else None, "spare_load_kg": 12.5,
                "fibre_distance_m": 0.1 * i, "area_m2": 1234567.89 if i % 3 == 0 else None,
                "constraints": [text, "b"], "fee_rule": text, "contact": text, "source": text,
                "permit_type": "lease" if i % 2 else None, "last_verified": f"2026-01-0{i % 9 + 1}",
                "visibility": ["public", "carriers", "restricted"][i % 3], "power": "yes"}
        r = await client.post("/v1/assets", json=body, headers=key)
        assert r.status_code == 201, r.text
    pool = await asyncpg.create_pool(settings.api_database_url, min_size=1, max_size=2)
    try:
        who = [Principal("k1", "carrier", "docomo", None, "docomo"),
               Principal("k2", "municipality", CHIYODA, "130001", "chiyoda")]
        filters = [build_filter(municipality=CHIYODA),
                   build_filter(bbox=f"{lon - 0.001},{lat - 0.001},{lon + 0.006},{lat + 0.001}"),
                   build_filter(near=f"{lon},{lat}", radius=2000)]
        for principal in who:
            for flt in filters:
                for options in (ExportOptions(), ExportOptions(encoding="cp932"), ExportOptions(lang="ja"),
                                ExportOptions(encoding="cp932", lang="ja")):
                    python, sql = await _python_and_sql(pool, principal, flt, options)
                    assert sql == python, (principal.role, flt, options)
                    assert python.count(b"\r\n") > 3, python
    finally:
        await pool.close()
    carrier = await make_key("carrier", "docomo")
    whole = await client.get("/v1/assets/export", params={"municipality": CHIYODA}, headers=carrier)
    paged = await client.get("/v1/assets", params={"municipality": CHIYODA, "f": "csv", "limit": 1000},
                             headers=carrier)
    assert whole.status_code == paged.status_code == 200 and whole.content == paged.content
    assert len(list(csv.reader(io.StringIO(whole.content.decode("utf-8-sig"), newline="")))) == len(AWKWARD) + 1
