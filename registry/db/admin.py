"""Working as the platform's own administrator: the command line, the demo and the loaders use this.

The admin principal is set inside each transaction, on the API role, so the command line meets the
same row-level policies an admin key meets over HTTP and never bypasses them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from registry.db.local_principal import set_local_principal
from registry.principal import Principal
from registry.settings import Settings

COMMAND_LINE_ADMIN = Principal("cli", "admin", "admin", None, "registry command")


async def enter_as_admin(conn: asyncpg.Connection) -> None:
    """Set the command line's admin principal in the connection's open transaction."""
    await set_local_principal(conn, COMMAND_LINE_ADMIN)


async def admin_session(settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """Run `work` as the API role with an admin principal: the same policies an admin key meets."""
    conn = await asyncpg.connect(settings.api_database_url)
    try:
        async with conn.transaction():
            await enter_as_admin(conn)
            return await work(conn)
    finally:
        await conn.close()
