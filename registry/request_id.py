"""A request id on every response (X-Request-Id) and in every problem document.

Echoes the client's id when it sends a sane one. A before_send hook rather than a middleware,
so that responses produced by exception handling outside the middleware stack carry it too.
"""

from __future__ import annotations

import re
import uuid

from litestar.types import Message, Scope

_SANE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        sent = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        state["request_id"] = sent if _SANE.match(sent) else uuid.uuid4().hex
    return state["request_id"]


async def add_request_id(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id_of(scope).encode())]
