"""Bearer-key authentication: every /v1 request carries `Authorization: Bearer <key>`.

The middleware opens the request's connection and transaction (registry/db/pool.py) and, in one
statement inside it, counts the request for the rate limits, turns the key into a principal and sets
it for row security (sql/058). The handler's `db` is that same connection: a request makes four round
trips (BEGIN, that statement, its query, COMMIT) where it made nine.
"""

from __future__ import annotations

import asyncpg
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware._utils import should_bypass_middleware
from litestar.types import Receive, Scope, Send

from registry import ratelimit
from registry.auth import keys, queries
from registry.db.pool import request_transaction
from registry.settings import Settings

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kyodo-registry"'}


def _unauthorised(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


def _parse(connection: ASGIConnection) -> tuple[str, bytes]:
    """(tenant, hash) of the key the request carries; 401 for anything else, without the database."""
    header = connection.headers.get("authorization")
    if not header:
        raise _unauthorised("Send your API key as `Authorization: Bearer <key>`.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("The Authorization header must be `Bearer <key>`.")
    parsed = keys.parse(token)
    if parsed is None:
        raise _unauthorised("That is not a Kyodo Registry API key (they look like kyd_<tenant>_<48 hex>).")
    return parsed


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if should_bypass_middleware(exclude_http_methods=self.exclude_http_methods,
                                    exclude_opt_key=self.exclude_opt_key, exclude_path_pattern=self.exclude,
                                    scope=scope, scopes=self.scopes):
            await self.app(scope, receive, send)
            return
        tenant, digest = _parse(ASGIConnection(scope))
        settings: Settings = scope["app"].state.settings
        pool: asyncpg.Pool = scope["app"].state.pool
        key_bucket = ratelimit.key_bucket(digest)
        async with request_transaction(pool, scope) as held:  # type: ignore[arg-type]
            entry = await queries.enter_with_key(held.conn, tenant, digest, ratelimit.failures_bucket(scope),
                                                 key_bucket, settings.rate_window_s)
            ratelimit.enforce(settings, entry.failures, entry.requests, entry.retry_after)
            if entry.principal is None:
                raise _unauthorised("This API key is unknown or has been revoked.")
            scope["user"] = entry.principal
            scope["auth"] = entry.principal.key_id
            await self.app(scope, receive, send)
            if held.rolled_back:
                # The handler failed and its transaction took the request's count with it: count again.
                await ratelimit.recount(held.conn, key_bucket, settings.rate_window_s)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        raise NotImplementedError("__call__ authenticates inside the request's transaction")
