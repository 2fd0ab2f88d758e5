"""SQL for answers streamed after the request's own transaction has ended (the OCDS package).

Litestar commits the request's transaction before the first byte of a streamed body is sent, so a
stream reads in a transaction of its own: a pooled connection, one repeatable-read snapshot, the
caller's principal set inside it (row security sees the same caller), and a server-side cursor
that hands over `CHUNK` rows at a time instead of the whole round.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from registry.db.pool import set_principal
from registry.principal import Principal
from registry.procurement.models import PlanNeed

# Rows per round trip of the cursor: 2,000 needs are about 1 MB of OCDS, a few milliseconds to encode.
CHUNK = 2000


@asynccontextmanager
async def reading_as(pool: asyncpg.Pool, principal: Principal | None) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a read-only repeatable-read transaction with the caller's principal set."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await set_principal(conn, principal)
        yield conn


# What a planning release shows of each need (models.PlanNeed's fields, in its order).
_PLAN_NEEDS = """select need_id::text, municipality_code::text, category_code, quantity, baseline_unit_price_yen,
                        budget_status, version, updated_at
                   from procurement_needs
                  where organiser_code = $1 and round_id = $2::uuid and status = 'active'
                  order by municipality_code, need_id"""


async def needs_by_municipality(conn: asyncpg.Connection, organiser: str, round_id: str
                                ) -> AsyncIterator[list[PlanNeed]]:
    """The round's active needs the caller may see, one municipality's at a time, by code (as active_needs)."""
    current: list[PlanNeed] = []
    async for row in conn.cursor(_PLAN_NEEDS, organiser, round_id, prefetch=CHUNK):
        need = PlanNeed(*row)
        if current and current[0].municipality_code != need.municipality_code:
            yield current
            current = []
        current.append(need)
    if current:
        yield current
