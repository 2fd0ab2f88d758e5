"""The whole-set export's SQL: a search without a page, read through a server-side cursor.

Litestar commits the request's transaction before a streamed body starts, so the export reads in a
transaction of its own: a pooled connection, one repeatable-read snapshot (every row from the same
moment), the caller's principal set inside it so the catalogue's row security and coarse positions
are the caller's, and a cursor handing over `CHUNK` rows per round trip. The statement is the search's
own (queries.SEARCH) with no limit (`limit null`), so filters, visibility and order are the same as
the paged form's, page after page.

The registry layout's CSV (`CSV_LINES`) is written by PostgreSQL a line per row, with the same filters and
order: the cells as registry/exports/table.py and csv.writer write them (sql/185; tests/test_csv_lines.py
holds the two side by side). Python then joins the lines (issue 13: 567 ms of Python CPU per Tokyo export
before, bench/EXPORTS.md).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec

from registry.assets import queries
from registry.assets.labels import LABELS
from registry.assets.rules import ENUMS
from registry.assets.search import SearchFilter
from registry.db.pool import set_principal
from registry.principal import Principal

# Rows per round trip: 2,000 assets are about 0.5 MB of CSV; Tokyo's 15,170 take 8 round trips.
CHUNK = 2000

# One CSV line per asset, in export_columns.TABLE's column order; $n numbered as queries.SEARCH (filters $1-$12, $13
# the limit, $14/$15 the keyset, left null, the spatial part from $16), then the Japanese labels (a jsonb of
# LABELS, or null for the codes). The line leaves as UTF-8 bytes (convert_to): no decode and re-encode.
_SPATIAL_ARGS = {"none": 0, "bbox": 4, "near": 3, "within": 1}


def _label(column: str, labels: str) -> str:
    """An enumeration's cell: its code (a CHECK keeps it to rules.ENUMS) or Japanese label, neither of which a
    spreadsheet evaluates or csv.writer quotes (asserted below), so no app.csv_cell."""
    return f"coalesce({labels} -> '{column}' ->> s.{column}, s.{column}, '')"


assert not any(re.search(r'^[-=+@\t\r]|[,"\r\n]', word) for words in (*LABELS.values(), *ENUMS.values())
               for word in words), "an enumeration's word needs app.csv_cell"


def _csv_line(mode: str) -> str:
    labels = f"${16 + _SPATIAL_ARGS[mode]}::jsonb"
    cells = [
        "s.asset_id::text", "s.municipality_code::text", "app.csv_cell(s.source_id)",
        _label("category", labels), "app.csv_cell(s.name)", "app.csv_cell(s.address)",
        "app.csv_float(s.lon)", "app.csv_float(s.lat)", "case when s.coarse then 'true' else 'false' end",
        "app.csv_num(s.position_accuracy_m)", "app.csv_num(s.height_m)", "app.csv_num(s.mountable_height_m)",
        "app.csv_num(s.spare_load_kg)", _label("power", labels), "app.csv_num(s.fibre_distance_m)",
        "app.csv_num(s.area_m2)", _label("availability", labels), "s.current_tenants::text",
        "s.max_tenants::text",
        # Python writes str() of each element, so a null element reads None.
        "app.csv_cell(array_to_string(s.constraints, ';', 'None'))", "app.csv_cell(s.fee_rule)",
        _label("permit_type", labels), "app.csv_cell(s.contact)", "app.csv_cell(s.source)",
        "coalesce(to_char(s.last_verified, 'YYYY-MM-DD'), '')", _label("visibility", labels),
        "s.version::text", "app.csv_time(s.updated_at)", "app.csv_float(s.distance_m)",
    ]
    search = (queries._BY_DISTANCE if mode == "near" else queries._BY_CODE).format(
        cols="c.*", spatial=queries._spatial(mode, 16), filters=queries._FILTERS)
    order = "s.distance_m, s.asset_id" if mode == "near" else "s.municipality_code, s.asset_id"
    # concat_ws: one string made, where || would copy the growing line once per cell (every cell is non-null).
    return f"""select convert_to(concat_ws(',', {", ".join(cells)}) || E'\\r\\n', 'UTF8')
  from (select p.*, ST_X(ST_PointOnSurface(p.geom)) as lon, ST_Y(ST_PointOnSurface(p.geom)) as lat
          from ({search}) p offset 0) s  -- offset 0: each point computed once, not once per use
 order by {order}"""


CSV_LINES = {mode: _csv_line(mode) for mode in queries.MODES}
_LABELS_JSON = msgspec.json.encode(LABELS).decode()
# An export's statements may take longer than a page's (settings.statement_timeout_ms, 5 s): the whole
# national demo (91,683 assets) sorted in the search's order for the first fetch took 6 s on a loaded 2-core
# machine, and was cancelled at 5 s. The export's own transaction allows a minute per statement.
EXPORT_STATEMENT_TIMEOUT = "60s"


@asynccontextmanager
async def reading_as(pool: asyncpg.Pool, principal: Principal | None) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a read-only repeatable-read transaction with the caller's principal set."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await set_principal(conn, principal)
        await conn.execute(f"set local statement_timeout = '{EXPORT_STATEMENT_TIMEOUT}'")
        yield conn


async def every_match(conn: asyncpg.Connection, f: SearchFilter) -> AsyncIterator[list[asyncpg.Record]]:
    """Every asset the search matches, in the search's order, `CHUNK` rows at a time."""
    cursor = await conn.cursor(queries.SEARCH[f.mode], *queries._filter_args(f), None, None, None,
                               *queries._spatial_args(f))
    while rows := await cursor.fetch(CHUNK):
        yield rows


async def csv_lines(conn: asyncpg.Connection, f: SearchFilter, lang: str,
                    limit: int) -> AsyncIterator[list[bytes]]:
    """Every match as CSV lines (UTF-8, CRLF) in the search's order, export_columns.TABLE's cells with Japanese labels
    for `ja`, at most `limit`, `CHUNK` lines at a time."""
    cursor = await conn.cursor(CSV_LINES[f.mode], *queries._filter_args(f), limit, None, None,
                               *queries._spatial_args(f), _LABELS_JSON if lang == "ja" else None)
    while rows := await cursor.fetch(CHUNK):
        yield [r[0] for r in rows]


async def count(conn: asyncpg.Connection, f: SearchFilter) -> int:
    """How many assets the search matches, in the snapshot `every_match` reads."""
    return await queries.count(conn, f)


async def municipality_names(conn: asyncpg.Connection) -> dict[str, str]:
    """Municipality code -> name (1,912 rows of reference data), for the open-data layout's 地方公共団体名."""
    return {r["code"]: r["name"] for r in await conn.fetch("select code::text as code, name from municipalities")}
