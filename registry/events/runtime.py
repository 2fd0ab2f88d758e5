"""What the worker's jobs share: settings, a connection pool as the API role, one HTTP client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import msgspec

from registry.db.admin import enter_as_admin
from registry.settings import Settings


class Runtime(msgspec.Struct):
    settings: Settings
    pool: asyncpg.Pool
    http: httpx.AsyncClient


async def as_admin(conn: asyncpg.Connection, work: Callable[[], Awaitable[Any]]) -> Any:
    """One transaction with the worker's admin principal: the row policies an admin key meets, no more."""
    async with conn.transaction():
        await enter_as_admin(conn)
        return await work()


async def open_runtime(settings: Settings) -> Runtime:
    pool = await asyncpg.create_pool(settings.api_database_url, min_size=1, max_size=8,
                                     server_settings={"application_name": "kyodo-worker", "timezone": "UTC"})
    # Receivers get 10 s to answer; a redirect is not followed (it could point inside the network).
    http = httpx.AsyncClient(timeout=10.0, follow_redirects=False,
                             limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
    return Runtime(settings, pool, http)


async def close_runtime(rt: Runtime) -> None:
    await rt.http.aclose()
    await rt.pool.close()
