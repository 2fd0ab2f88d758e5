"""Authentication: `Authorization: Bearer <key>` on every /v1 and /ogc request, or the web map's session
cookie (registry/auth/sessions.py), whose writes also need the CSRF token and a same-origin `Origin`.

The middleware takes the request's connection (registry/db/pool.py) and, in one statement committed on
its own, counts the request for the rate limits, turns the key into a principal and sets it for row
security for the connection's session (sql/058, sql/150). The handler's `db` is that same connection: a
keyed read route marked AUTOCOMMIT (the catalogue search) makes two round trips (that statement and its
query), any other route four (BEGIN and COMMIT around its queries), where a request made nine before
issue 13. A session request makes one more: the principal is set by a statement of its own after the
session is found. Since the count commits before the handler runs, a handler that fails still counts. A key
this worker checked in the last second, on a connection that still holds its principal, skips the statement:
one round trip for the search (registry/auth/key_cache.py says what keeps revocation and rate limits whole).

With KYODO_PRINCIPAL_SCOPE=transaction (a Citus coordinator passes on only SET LOCAL, issue 17) the request
runs in one transaction begun before that statement, which sets the principal with SET LOCAL (sql/175): a
keyed read makes four round trips (BEGIN, key, query, COMMIT), a write too. The count then commits with the
handler's work; a refused key commits it at once, and a handler that fails (rolled back) is counted again.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.types import Receive, Scope, Send

from registry import ratelimit
from registry.auth import keys, queries, replica_entry, sessions
from registry.auth.key_cache import KeyCache
from registry.db.pool import (
    holds_key,
    is_gone,
    mark_principal_in_session,
    note_key_principal,
    request_connection,
    set_principal,
)
from registry.i18n import SCOPE_KEY, tr
from registry.problems import Forbidden, is_unavailable
from registry.settings import Settings

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kyodo-registry"'}


class SessionAuth(msgspec.Struct, frozen=True):
    """What a request authenticated by the session cookie carries as `request.auth`."""

    session_id: str
    expires_at: datetime
    csrf_token: str


def _unauthorised(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


def _parse(connection: ASGIConnection) -> tuple[str, bytes]:
    """(tenant, hash) of the key the request carries; 401 for anything else, without the database."""
    header = connection.headers.get("authorization")
    if not header:
        raise _unauthorised(tr("Send your API key as `Authorization: Bearer <key>`."))
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised(tr("The Authorization header must be `Bearer <key>`."))
    parsed = keys.parse(token)
    if parsed is None:
        raise _unauthorised(tr("That is not a Kyodo Registry API key (they look like kyd_<tenant>_<48 "
                               "hex>)."))
    return parsed


def _unknown_key() -> NotAuthorizedException:
    return _unauthorised(tr("This API key is unknown or has been revoked."))


def _session_ended() -> NotAuthorizedException:
    return _unauthorised(tr("Your session has ended (signed out, expired, or its key was revoked); sign "
                            "in again with your API key."))


async def _enter_in_session(scope: Scope, conn: asyncpg.Connection, tenant: str, digest: bytes,
                            key_bucket: str) -> queries.Entry:
    """Session scope: what this worker remembers of the key, when the connection already holds its principal
    (registry/auth/key_cache.py), else the key statement, which also counts the requests let through since."""
    cache: KeyCache = scope["app"].state.key_cache
    entry = cache.admit(digest, holds_key(conn))
    if entry is not None:
        return entry
    settings: Settings = scope["app"].state.settings
    mark_principal_in_session(conn)
    entry = await queries.enter_with_key(conn, tenant, digest, ratelimit.failures_bucket(scope), key_bucket,
                                         settings.rate_window_s, hits=1 + cache.take_pending(digest))
    if entry.principal is not None:
        note_key_principal(conn, entry.principal.key_id)
    cache.remember(digest, entry)
    return entry


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if should_bypass_middleware(exclude_http_methods=self.exclude_http_methods,
                                    exclude_opt_key=self.exclude_opt_key, exclude_path_pattern=self.exclude,
                                    scope=scope, scopes=self.scopes):
            await self.app(scope, receive, send)
            return
        connection = ASGIConnection(scope)
        if not connection.headers.get("authorization") and sessions.COOKIE in connection.cookies:
            await self._with_session(scope, receive, send, connection, connection.cookies[sessions.COOKIE])
            return
        tenant, digest = _parse(connection)
        if await replica_entry.serve(self.app, scope, receive, send, tenant, digest, _unknown_key):
            return  # a read a standby served, or one routed by what the replicas know (issue 17)
        settings: Settings = scope["app"].state.settings
        pool: asyncpg.Pool = scope["app"].state.pool
        key_bucket = ratelimit.key_bucket(digest)
        in_transaction = settings.principal_scope == "transaction"
        async with request_connection(pool, scope, sets_own_principal=True) as held:  # type: ignore[arg-type]
            if in_transaction:
                await held.begin()
                entry = await queries.enter_with_key(held.conn, tenant, digest, ratelimit.failures_bucket(scope),
                                                     key_bucket, settings.rate_window_s, scope="transaction")
            else:
                entry = await _enter_in_session(scope, held.conn, tenant, digest, key_bucket)
            try:
                ratelimit.enforce(settings, entry.failures, entry.requests, entry.retry_after)
                if entry.principal is None:
                    raise _unknown_key()
            except Exception:
                await held.finish()  # transaction scope: the count stands, as when committed on its own
                raise
            scope["user"] = entry.principal
            scope["auth"] = entry.principal.key_id
            if entry.lang:
                scope[SCOPE_KEY] = entry.lang  # type: ignore[literal-required]
            await self.app(scope, receive, send)
            if held.rolled_back and not is_gone(held.conn):
                try:
                    await queries.count_again(held.conn, key_bucket, settings.rate_window_s)
                except Exception as exc:  # the answer has gone out; a database that went away loses one count
                    if not is_unavailable(exc):
                        raise

    async def _with_session(self, scope: Scope, receive: Receive, send: Send, connection: ASGIConnection,
                            token: str) -> None:
        parsed = sessions.parse(token)
        if parsed is None:
            raise _session_ended()
        settings: Settings = scope["app"].state.settings
        pool: asyncpg.Pool = scope["app"].state.pool
        # A session counts against a budget of its own, as a key does.
        bucket = ratelimit.key_bucket(parsed[1])
        async with request_connection(pool, scope, sets_own_principal=False) as held:  # type: ignore[arg-type]
            entry = await queries.enter_with_session(held.conn, *parsed, ratelimit.failures_bucket(scope), bucket,
                                                     settings.rate_window_s)
            ratelimit.enforce(settings, entry.failures, entry.requests, entry.retry_after)
            if entry.principal is None or entry.session_id is None or entry.expires_at is None:
                raise _session_ended()
            if scope["method"] not in sessions.SAFE_METHODS:
                _check_same_origin(connection)
                if not sessions.csrf_matches(token, connection.headers.get(sessions.CSRF_HEADER)):
                    raise Forbidden(tr("A write made with the session cookie needs the X-CSRF-Token "
                                       "header that POST or GET /v1/session returned."), slug="csrf-token")
            if settings.principal_scope == "transaction":
                await held.begin()
                await set_principal(held.conn, entry.principal)
            else:
                await set_principal(held.conn, entry.principal, local=False)
            scope["user"] = entry.principal
            scope["auth"] = SessionAuth(entry.session_id, entry.expires_at, sessions.csrf_token(token))
            await self.app(scope, receive, send)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        raise NotImplementedError("__call__ authenticates inside the request's transaction")


def _check_same_origin(connection: ASGIConnection) -> None:
    """A browser names the page that made a write in `Origin`; with the cookie it must be this server."""
    origin = connection.headers.get("origin")
    if origin is None:
        return
    own = f"{connection.url.scheme}://{connection.headers.get('host', '')}"
    public = connection.app.state.settings.public_base_url
    allowed = {own, *([public.rstrip("/")] if public else [])}
    if origin not in allowed:
        raise Forbidden(tr("A write made with the session cookie must come from a page of this server "
                           "({own}), not from {origin}.", own=own, origin=origin), slug="cross-origin-write")
