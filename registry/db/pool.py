"""The asyncpg pool and one transaction per request with the principal set inside it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from litestar import Request
from litestar.datastructures import State

from registry.principal import Principal
from registry.problems import is_unavailable
from registry.settings import Settings

_SET_PRINCIPAL = """
select set_config('app.role', $1, true),
       set_config('app.tenant_code', coalesce($2, ''), true),
       set_config('app.prefecture_code', coalesce($3, ''), true),
       set_config('app.key_id', coalesce($4, ''), true)
"""


async def create_pool(settings: Settings) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        settings.api_database_url,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        server_settings={
            "statement_timeout": str(settings.statement_timeout_ms),
            # A crashed client must not hold row locks for long.
            "idle_in_transaction_session_timeout": "30000",
            "application_name": "kyodo-registry",
            "timezone": "UTC",
        },
    )


async def set_principal(conn: asyncpg.Connection, principal: Principal | None) -> None:
    if principal is None:
        await conn.execute(_SET_PRINCIPAL, "none", None, None, None)
    else:
        await conn.execute(_SET_PRINCIPAL, principal.role, principal.tenant_code, principal.prefecture_code,
                           principal.key_id)


@asynccontextmanager
async def pooled(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection outside any request transaction (key lookup, rate limits, health); one that failed
    at the connection level is closed rather than returned, so the next caller gets a fresh one."""
    async with pool.acquire() as conn:
        try:
            yield conn
        except BaseException as exc:
            if is_unavailable(exc):
                conn.terminate()
            raise


async def check_ready(pool: asyncpg.Pool) -> None:
    """Raise unless the database answers and PostGIS is installed (the readiness probe)."""
    async with pooled(pool) as conn:
        await conn.fetchval("select postgis_lib_version()", timeout=2)


async def _rollback(conn: asyncpg.Connection, tx: asyncpg.transaction.Transaction) -> None:
    """Roll back; if the connection died under the request, close it instead.

    The server has then already rolled back, and the error to report is the one that brought us here.
    A dead connection is terminated, never handed back to the pool: asyncpg's reset on release would
    fail on it ("another operation is in progress") and turn an outage into a 500.
    """
    try:
        await tx.rollback()
    except (asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
        conn.terminate()


async def provide_db(state: State, request: Request) -> AsyncGenerator[asyncpg.Connection, None]:
    """A connection in a transaction, committed only if the handler returned normally.

    Litestar runs this cleanup before the response is sent, so a client never sees success for
    a write that did not commit; any exception rolls everything back.
    """
    pool: asyncpg.Pool = state.pool
    async with pool.acquire() as conn:
        tx = conn.transaction()
        try:
            await tx.start()
            await set_principal(conn, request.scope.get("user"))
            yield conn
        except BaseException:
            await _rollback(conn, tx)
            raise
        try:
            await tx.commit()
        except BaseException:
            # Whether a commit cut off by a dying server took effect is unknown here; the client is
            # told 503 and retries with its Idempotency-Key, which replays the first answer if it did.
            conn.terminate()
            raise
