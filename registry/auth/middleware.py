"""Bearer-key authentication: every /v1 request carries `Authorization: Bearer <key>`."""

from __future__ import annotations

import asyncpg
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from registry.auth import keys, queries

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kyodo-registry"'}


def _unauthorised(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization")
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
