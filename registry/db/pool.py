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


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool: the application changes session state
    only with set_config(..., true) and SET LOCAL, which end with the transaction (asyncpg still rolls
    back a transaction left open before calling this). asyncpg's default reset (advisory unlock, CLOSE
    ALL, UNLISTEN, RESET ALL) was one more round trip per release, three per request before issue 13."""


async def create_pool(settings: Settings, *, url: str | None = None, min_size: int | None = None,
                      max_size: int | None = None, application_name: str = "kyodo-registry",
                      extra: dict[str, str] | None = None) -> asyncpg.Pool:
    """The API's pool; `url` and the rest for a read replica's (registry/db/replicas.py)."""
    return await asyncpg.create_pool(
        url or settings.api_database_url,
        min_size=settings.pool_min if min_size is None else min_size,
        max_size=max_size or settings.pool_max,
        reset=_no_reset,
        server_settings={
            "statement_timeout": str(settings.statement_timeout_ms),
            # A crashed client must not hold row locks for long.
            "idle_in_transaction_session_timeout": "30000",
            "application_name": application_name,
            "timezone": "UTC",
            **(extra or {}),
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
            if is_unavailable(exc) and not is_gone(conn):
                conn.terminate()
            raise


def is_gone(conn: asyncpg.Connection) -> bool:
    """True once the connection is closed, or terminated and so already handed back by asyncpg (its
    pool proxy then refuses every call)."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


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


class RequestTransaction:
    """The connection and transaction of one request, opened by the authentication middleware before
    the principal is known, so that setting it costs no round trip of its own; provide_db hands the
    same connection to the handler and commits it."""

    __slots__ = ("conn", "rolled_back", "tx")

    def __init__(self, conn: asyncpg.Connection, tx: asyncpg.transaction.Transaction) -> None:
        self.conn, self.tx, self.rolled_back = conn, tx, False


_SCOPE_KEY = "kyodo.request_transaction"


def held_transaction(scope: dict) -> RequestTransaction | None:
    """The request's connection and transaction, while the request runs (registry/db/replicas.py reads it)."""
    return scope.get(_SCOPE_KEY)


@asynccontextmanager
async def request_transaction(pool: asyncpg.Pool, scope: dict) -> AsyncIterator[RequestTransaction]:
    """A pooled connection in a transaction for the whole request (released after the answer is sent).
    Whatever the handler left open (a route without `db`, a refusal before it ran) is committed when the
    request ended normally, so the request's count in the rate limits stays; rolled back otherwise."""
    async with pooled(pool) as conn:
        tx = conn.transaction()
        await tx.start()
        held = RequestTransaction(conn, tx)
        scope[_SCOPE_KEY] = held
        try:
            yield held
        except BaseException:
            if not is_gone(conn) and conn.is_in_transaction():
                await _rollback(conn, tx)
            raise
        finally:
            scope.pop(_SCOPE_KEY, None)
        if not is_gone(conn) and conn.is_in_transaction():
            await _commit(conn, tx)


async def provide_db(state: State, request: Request) -> AsyncGenerator[asyncpg.Connection, None]:
    """A connection in a transaction, committed only if the handler returned normally.

    Litestar runs this cleanup before the response is sent, so a client never sees success for
    a write that did not commit; any exception rolls everything back. A request that passed the key
    middleware already has its connection, transaction and principal (request_transaction); the
    others (OPTIONS, paths without a key) open their own here.
    """
    held: RequestTransaction | None = request.scope.get(_SCOPE_KEY)  # type: ignore[assignment]
    if held is not None:
        conn, tx = held.conn, held.tx
        try:
            yield conn
        except BaseException:
            held.rolled_back = True
            await _rollback(conn, tx)
            raise
        await _commit(conn, tx)
        return
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
        await _commit(conn, tx)


async def _commit(conn: asyncpg.Connection, tx: asyncpg.transaction.Transaction) -> None:
    try:
        await tx.commit()
    except BaseException:
        # Whether a commit cut off by a dying server took effect is unknown here; the client is
        # told 503 and retries with its Idempotency-Key, which replays the first answer if it did.
        conn.terminate()
        raise
