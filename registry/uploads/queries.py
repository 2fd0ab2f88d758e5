"""The one statement the upload route needs of its own; the loader brings the rest."""

from __future__ import annotations

import asyncpg


async def allow_long_statements(db: asyncpg.Connection, seconds: int) -> None:
    """Raise the statement timeout for the rest of this transaction only (the API's default is 5 s)."""
    await db.execute("select set_config('statement_timeout', $1, true)", f"{seconds}s")
