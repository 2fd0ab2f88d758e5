"""Authentication: `Authorization: Bearer <key>` on every /v1 and /ogc request, or the web map's session
cookie (registry/auth/sessions.py), whose writes also need the CSRF token and a same-origin `Origin`."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from registry.auth import keys, queries, sessions
from registry.problems import Forbidden

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kyodo-registry"'}


class SessionAuth(msgspec.Struct, frozen=True):
    """What a request authenticated by the session cookie carries as `request.auth`."""

    session_id: str
    expires_at: datetime
    csrf_token: str


def _unauthorised(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if not header and sessions.COOKIE in connection.cookies:
            return await self._session(connection, connection.cookies[sessions.COOKIE])
        if not header:
            raise _unauthorised("Send your API key as `Authorization: Bearer <key>`.")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorised("The Authorization header must be `Bearer <key>`.")
        parsed = keys.parse(token)
        if parsed is None:
            raise _unauthorised("That is not a Kyodo Registry API key (they look like kyd_<tenant>_<48 hex>).")
        pool: asyncpg.Pool = connection.app.state.pool
        async with pool.acquire() as conn:
            principal = await queries.authenticate(conn, *parsed)
        if principal is None:
            raise _unauthorised("This API key is unknown or has been revoked.")
        return AuthenticationResult(user=principal, auth=principal.key_id)

    async def _session(self, connection: ASGIConnection, token: str) -> AuthenticationResult:
        parsed = sessions.parse(token)
        found = None
        if parsed is not None:
            pool: asyncpg.Pool = connection.app.state.pool
            async with pool.acquire() as conn:
                found = await queries.authenticate_session(conn, *parsed)
        if found is None:
            raise _unauthorised("Your session has ended (signed out, expired, or its key was revoked); "
                                "sign in again with your API key.")
        principal, session_id, expires_at = found
        if connection.scope["method"] not in sessions.SAFE_METHODS:
            _check_same_origin(connection)
            if not sessions.csrf_matches(token, connection.headers.get(sessions.CSRF_HEADER)):
                raise Forbidden("A write made with the session cookie needs the X-CSRF-Token header that "
                                "POST or GET /v1/session returned.", slug="csrf-token")
        auth = SessionAuth(session_id, expires_at, sessions.csrf_token(token))
        return AuthenticationResult(user=principal, auth=auth)


def _check_same_origin(connection: ASGIConnection) -> None:
    """A browser names the page that made a write in `Origin`; with the cookie it must be this server."""
    origin = connection.headers.get("origin")
    if origin is None:
        return
    own = f"{connection.url.scheme}://{connection.headers.get('host', '')}"
    public = connection.app.state.settings.public_base_url
    allowed = {own, *([public.rstrip("/")] if public else [])}
    if origin not in allowed:
        raise Forbidden(f"A write made with the session cookie must come from a page of this server "
                        f"({own}), not from {origin}.", slug="cross-origin-write")
