"""Idempotency-Key for POST: a retried request gets the first answer instead of a second effect.

The key is claimed with an insert in the request's own transaction. A concurrent retry waits on
that row until the first request commits (then it replays the stored answer) or rolls back
(then it runs as if it were first). The same key with a different body answers 422.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response

from registry.i18n import tr
from registry.principal import Principal
from registry.problems import Unprocessable, invalid_field

HEADER = "Idempotency-Key"


def _check(key: str) -> str:
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise invalid_field(HEADER, tr("must be 1-255 printable characters, e.g. a UUID you generate per "
                                       "request"))
    return key


async def respond_once(
    db: asyncpg.Connection,
    request: Request,
    key: str | None,
    payload: Any,
    produce: Callable[[], Awaitable[Any]],
    status: int = 201,
    headers: Callable[[Any], dict[str, str]] | None = None,
) -> Response:
    """Run `produce` once per (tenant, key); encode its result as the JSON answer."""
    if key is None:
        result = await produce()
        return Response(msgspec.json.encode(result), status_code=status, media_type="application/json",
                        headers=headers(result) if headers else None)
    key = _check(key)
    principal: Principal = request.user
    digest = hashlib.sha256(request.method.encode() + request.url.path.encode() + msgspec.json.encode(payload)).digest()
    claimed = await db.fetchval(
        """insert into idempotency_keys (tenant_code, idempotency_key, method, path, request_hash)
           values ($1, $2, $3, $4, $5) on conflict do nothing returning true""",
        principal.tenant_code, key, request.method, request.url.path, digest)
    if not claimed:
        row = await db.fetchrow(
            """select request_hash, status, response, headers::text as headers from idempotency_keys
                where tenant_code = $1 and idempotency_key = $2""",
            principal.tenant_code, key)
        if row["request_hash"] != digest:
            raise Unprocessable(tr("{header} {key} was already used for a different request; use a new "
                                   "key for a new request, or resend exactly the same body to get the "
                                   "first answer.", header=HEADER, key=f"{key!r}"))
        stored: dict[str, str] = msgspec.json.decode(row["headers"])
        return Response(row["response"], status_code=row["status"], media_type="application/json",
                        headers={**stored, "Idempotent-Replayed": "true"})
    result = await produce()
    body = msgspec.json.encode(result)
    extra = headers(result) if headers else {}
    await db.execute(
        """update idempotency_keys set status = $3, response = $4, headers = $5::text::jsonb
            where tenant_code = $1 and idempotency_key = $2""",
        principal.tenant_code, key, status, body, msgspec.json.encode(extra).decode())
    return Response(body, status_code=status, media_type="application/json", headers=extra or None)
