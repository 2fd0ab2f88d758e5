"""The asyncpg pool, the request's connection with its principal, and a transaction per request where the
route needs one."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from weakref import WeakKeyDictionary

import asyncpg
from litestar import Request
from litestar.datastructures import State

from registry.db.local_principal import principal_settings, set_local_principal
from registry.principal import Principal
from registry.problems import is_unavailable
from registry.settings import Settings

# For the connection's session (web map sessions in session scope, issue 13): cleared by _forget_principal.
_SET_PRINCIPAL_SESSION = """
select set_config('app.role', $1, false),
       set_config('app.tenant_code', coalesce($2, ''), false),
       set_config('app.prefecture_code', coalesce($3, ''), false),
       set_config('app.key_id', coalesce($4, ''), false)
"""
_FORGET_PRINCIPAL = """
select set_config('app.role', '', false), set_config('app.tenant_code', '', false),
       set_config('app.prefecture_code', '', false), set_config('app.key_id', '', false)
"""
# Backends (by pid) whose session may hold a request's principal (app.enter_session_with_key, sql/150).
# A pid of a closed connection left here costs its successor one needless clearing, never a leak.
_PRINCIPAL_IN_SESSION: set[int] = set()
# Connections (the physical ones, so a reconnect under the same pid never inherits an entry) whose session holds
# the principal of the key with this id, set by the key statement: registry/auth/key_cache.py lets a request of
# that key on such a connection skip the statement. Any other setting or clearing of the principal drops it.
_HOLDS_KEY: WeakKeyDictionary[asyncpg.Connection, str] = WeakKeyDictionary()
# True only while the key middleware acquires: it sets the principal itself in its first statement.
_SETS_OWN_PRINCIPAL: ContextVar[bool] = ContextVar("kyodo_sets_own_principal", default=False)

AUTOCOMMIT = "autocommit"
"""A GET route's `opt` key: the route only reads, one statement per query, so its `db` runs without BEGIN
and COMMIT (GET /v1/assets: two round trips, the key statement and the search) in session scope; in transaction
scope it runs inside the request's transaction like any route (four: BEGIN, key, search, COMMIT)."""


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool: the application changes session state
    only with SET LOCAL, which ends with the transaction, and with the session principal _forget_principal
    clears on the next acquire (asyncpg still rolls
    back a transaction left open before calling this). asyncpg's default reset (advisory unlock, CLOSE
    ALL, UNLISTEN, RESET ALL) was one more round trip per release, three per request before issue 13."""


async def _forget_principal(conn: asyncpg.Connection) -> None:
    """asyncpg's setup hook, run on every acquire: a connection whose session still holds the last
    request's principal is cleared before anyone but the key middleware (which overwrites all four
    settings in its first statement) gets it. One round trip, and only after a keyed request."""
    if _SETS_OWN_PRINCIPAL.get():
        return
    pid = conn.get_server_pid()
    if pid in _PRINCIPAL_IN_SESSION:
        _HOLDS_KEY.pop(_physical(conn), None)
        await conn.execute(_FORGET_PRINCIPAL)
        _PRINCIPAL_IN_SESSION.discard(pid)


async def create_pool(settings: Settings, *, url: str | None = None, min_size: int | None = None,
                      max_size: int | None = None, application_name: str = "kyodo-registry",
                      extra: dict[str, str] | None = None) -> asyncpg.Pool:
    """The API's pool; `url` and the rest for a read replica's (registry/db/replicas.py)."""
    return await asyncpg.create_pool(
        url or settings.api_database_url,
        min_size=settings.pool_min if min_size is None else min_size,
        max_size=max_size or settings.pool_max,
        reset=_no_reset,
        setup=_forget_principal,
        server_settings={
            "statement_timeout": str(settings.statement_timeout_ms),
            # A crashed client must not hold row locks for long.
            "idle_in_transaction_session_timeout": "30000",
            "application_name": application_name,
            # No parallel workers for the API's short queries: at 1,000,000 points the bbox search planned one
            # (Gather Merge) and took 37 ms instead of 5 ms, the worker's start-up costing more than it saved;
            # with 16 requests at once on 2 cores there is no idle core for it anyway (issue 13).
            "max_parallel_workers_per_gather": "0",
            "timezone": "UTC",
            **(extra or {}),
        },
    )


async def set_principal(conn: asyncpg.Connection, principal: Principal | None, *, local: bool = True) -> None:
    """For the open transaction with SET LOCAL (local), or for the session of a connection held by
    request_connection (only in session scope: Settings.principal_scope)."""
    if local:
        await set_local_principal(conn, principal)
        return
    mark_principal_in_session(conn)
    await conn.execute(_SET_PRINCIPAL_SESSION, *principal_settings(principal))


def mark_principal_in_session(conn: asyncpg.Connection) -> None:
    """Called before a statement sets a principal for the session: the next other user clears it."""
    _HOLDS_KEY.pop(_physical(conn), None)
    _PRINCIPAL_IN_SESSION.add(conn.get_server_pid())


def note_key_principal(conn: asyncpg.Connection, key_id: str) -> None:
    """The key statement has set this key's principal for the connection's session, and it committed."""
    _HOLDS_KEY[_physical(conn)] = key_id


def holds_key(conn: asyncpg.Connection) -> str | None:
    """The id of the key whose principal the connection's session holds, if a key statement set it."""
    return _HOLDS_KEY.get(_physical(conn))


def _physical(conn: asyncpg.Connection) -> asyncpg.Connection:
    """The connection behind a pool's proxy: asyncpg makes a new proxy per acquire, and a new connection (with a
    session of its own) when it reconnects."""
    return getattr(conn, "_con", None) or conn


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


class RequestConnection:
    """The pooled connection of one request, taken by the authentication middleware, whose first statement
    sets the principal: for the connection's session (sql/150), or in session scope's stead, with SET LOCAL in
    the request's one transaction (`tx`, begun before that statement: sql/175). provide_db hands it to the
    handler, in a transaction unless the route is an AUTOCOMMIT read in session scope."""

    __slots__ = ("conn", "rolled_back", "tx")

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.tx: asyncpg.transaction.Transaction | None = None
        self.rolled_back = False

    async def begin(self) -> None:
        """Transaction scope: open the request's transaction before the key statement, whose SET LOCALs need a
        transaction block; provide_db commits it before the answer is sent."""
        self.tx = self.conn.transaction()
        await self.tx.start()

    async def finish(self, *, commit: bool = True) -> None:
        """End the request's transaction, if begin() opened one that is still open."""
        tx, self.tx = self.tx, None
        if tx is None or is_gone(self.conn) or not self.conn.is_in_transaction():
            return
        if commit:
            await _commit(self.conn, tx)
        else:
            self.rolled_back = True
            await _rollback(self.conn, tx)


_SCOPE_KEY = "kyodo.request_connection"


@asynccontextmanager
async def request_connection(pool: asyncpg.Pool, scope: dict, *,
                             sets_own_principal: bool) -> AsyncIterator[RequestConnection]:
    """A pooled connection for the whole request (released after the answer is sent). With
    `sets_own_principal` the caller's first statement overwrites every principal setting, so a principal
    left by the connection's previous request is not cleared first (one round trip saved per request)."""
    token: Token[bool] | None = _SETS_OWN_PRINCIPAL.set(sets_own_principal)
    try:
        async with pooled(pool) as conn:
            _SETS_OWN_PRINCIPAL.reset(token)  # only this acquire: the handler's own ones (exports) clear
            token = None
            held = scope[_SCOPE_KEY] = RequestConnection(conn)
            try:
                yield held
            except BaseException:
                await held.finish(commit=False)
                raise
            else:
                await held.finish()  # a transaction no handler took: only the key statement's count is in it
            finally:
                scope.pop(_SCOPE_KEY, None)
    finally:
        if token is not None:
            _SETS_OWN_PRINCIPAL.reset(token)


def held_connection(scope: dict) -> RequestConnection | None:
    """The request's connection while the request runs (registry/db/replicas.py reads it after a write)."""
    return scope.get(_SCOPE_KEY)


@asynccontextmanager
async def request_transaction(pool: asyncpg.Pool, scope: dict) -> AsyncIterator[RequestConnection]:
    """A connection in one transaction for the whole request, the principal set inside it by the caller
    (set_config(..., true)): the reads a standby serves, or the primary serves in a standby's place
    (registry/auth/replica_entry.py). provide_db then runs the handler in this transaction."""
    async with request_connection(pool, scope, sets_own_principal=False) as held:
        conn = held.conn
        tx = conn.transaction()
        await tx.start()
        try:
            yield held
        except BaseException:
            if not is_gone(conn) and conn.is_in_transaction():
                await _rollback(conn, tx)
            raise
        if not is_gone(conn) and conn.is_in_transaction():
            await _commit(conn, tx)


def _autocommit(request: Request) -> bool:
    return request.scope["method"] == "GET" and bool(request.route_handler.opt.get(AUTOCOMMIT))


def autocommit_connection(request: Request) -> asyncpg.Connection:
    """The connection of an AUTOCOMMIT read, as provide_db would yield it: the one the key or session middleware
    (or a standby's entry) holds for the request, its principal set. For a route whose own dependency would
    otherwise be resolved beside `db`: Litestar resolves two dependencies of one level in an anyio task group,
    two tasks per request, 280,000 of a bbox search's 1.9 million instructions (callgrind, issue 13)."""
    held: RequestConnection | None = request.scope.get(_SCOPE_KEY)  # type: ignore[assignment]
    if held is None or not _autocommit(request):
        raise RuntimeError(f"{request.scope['path']}: autocommit_connection is for AUTOCOMMIT reads that hold one")
    return held.conn


async def provide_db(state: State, request: Request) -> AsyncGenerator[asyncpg.Connection, None]:
    """A connection in a transaction, committed only if the handler returned normally.

    Litestar runs this cleanup before the response is sent, so a client never sees success for
    a write that did not commit; any exception rolls everything back. A request that passed the key
    middleware already has its connection and principal (request_connection); an AUTOCOMMIT read then
    runs without a transaction. The others (OPTIONS, paths without a key) open their own here.
    """
    held: RequestConnection | None = request.scope.get(_SCOPE_KEY)  # type: ignore[assignment]
    if held is not None:
        conn = held.conn
        if held.tx is not None:  # transaction scope: the request's transaction, its principal set by SET LOCAL
            try:
                yield conn
            except BaseException:
                await held.finish(commit=False)
                raise
            await held.finish()
            return
        if _autocommit(request) or conn.is_in_transaction():  # the latter: request_transaction's own
            yield conn
            return
        tx = conn.transaction()
        await tx.start()
        try:
            yield conn
        except BaseException:
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
