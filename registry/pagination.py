"""Keyset pagination: an opaque cursor of the last row's sort key, and a `next` link carrying it."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request

from registry.problems import invalid_field


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int, param: str = "after") -> list[Any] | None:
    if cursor is None:
        return None
    try:
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, msgspec.DecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise invalid_field(param, "is not a cursor this API issued; follow the `next` link of the previous page")
    return values


def next_link(request: Request, cursor: str | None, param: str = "after") -> str | None:
    if cursor is None:
        return None
    query = [(k, v) for k, v in request.query_params.multi_items() if k != param]
    query.append((param, cursor))
    return str(request.url.with_replacements(query=urlencode(query)))


def check_limit(limit: int, maximum: int) -> int:
    if limit < 1 or limit > maximum:
        raise invalid_field("limit", f"must be between 1 and {maximum}")
    return limit
