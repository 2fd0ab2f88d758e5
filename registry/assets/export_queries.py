"""The whole-set CSV export's SQL: a search without a page, read through a server-side cursor.

Litestar commits the request's transaction before a streamed body starts, so the export reads in a
transaction of its own: a pooled connection, one repeatable-read snapshot (every row from the same
moment), the caller's principal set inside it so the catalogue's row security and coarse positions
are the caller's, and a cursor handing over `CHUNK` rows per round trip. The statement is the search's
own (queries.SEARCH) with no limit (`limit null`), so filters, visibility and order are the same as
the paged form's, page after page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from registry.assets import queries
from registry.assets.search import SearchFilter
from registry.db.pool import set_principal
from registry.principal import Principal

# Rows per round trip: 2,000 assets are about 0.5 MB of CSV; Tokyo's 15,170 take 8 round trips.
CHUNK = 2000
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


async def count(conn: asyncpg.Connection, f: SearchFilter) -> int:
    """How many assets the search matches, in the snapshot `every_match` reads."""
    return await queries.count(conn, f)


async def municipality_names(conn: asyncpg.Connection) -> dict[str, str]:
    """Municipality code -> name (1,912 rows of reference data), for the open-data layout's 地方公共団体名."""
    return {r["code"]: r["name"] for r in await conn.fetch("select code::text as code, name from municipalities")}
