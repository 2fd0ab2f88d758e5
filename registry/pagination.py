"""Keyset pagination: an opaque cursor of the last row's sort key, and a `next` link carrying it.

Every list reads one row more than it shows (`limit + 1`): that row only says whether a next page
exists, so no list ever needs a count to page.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar import Request

from registry.i18n import tr
from registry.problems import invalid_field

T = TypeVar("T")


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def not_a_cursor(param: str = "after", hint: str = tr("follow the `next` link of the previous page")) -> Exception:
    """The one answer to a cursor this API did not issue (a 422 naming the parameter)."""
    return invalid_field(param, tr("is not a cursor this API issued; {hint}", hint=hint))


def decode_cursor(cursor: str | None, arity: int, param: str = "after",
                  types: tuple[type, ...] | None = None) -> list[Any] | None:
    """The sort key a cursor carries, or a 422 when it is not one this API issued.

    `types` names the type of each value, so that a crafted cursor (["x", "y"] where a number and a
    UUID belong) is refused here instead of failing inside the query.
    """
    if cursor is None:
        return None
    try:
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, msgspec.DecodeError):
        values = None
    ok = isinstance(values, list) and len(values) == arity
    if ok and types is not None:
        ok = all(isinstance(v, t) and not (t is not bool and isinstance(v, bool)) for v, t in zip(values, types,
                                                                                                  strict=True))
    if not ok:
        raise not_a_cursor(param)
    return values


def link_to(request: Request, query: list[tuple[str, str]] | None = None, path: str | None = None) -> str:
    """A link to `path` (default: this request's) on this server.

    Absolute from KYODO_PUBLIC_URL when it is set, otherwise relative (path and query only): never
    built from the request's Host header, which any client can set to another site's name.
    """
    # The scope's own path, as request.url.path gives it without building the whole URL (2.7 % of a search's
    # worker CPU in py-spy, issue 13).
    path = request.scope.get("root_path", "") + request.scope["path"] if path is None else path
    target = path + ("?" + urlencode(query) if query else "")
    base = request.app.state.settings.public_base_url
    return base.rstrip("/") + target if base else target


def next_link(request: Request, cursor: str | None, param: str = "after") -> str | None:
    if cursor is None:
        return None
    query = [(k, v) for k, v in query_pairs(request) if k != param]
    query.append((param, cursor))
    return link_to(request, query)


def query_pairs(request: Request) -> list[tuple[str, str]]:
    """The request's query parameters in the order it sent them, decoded as Litestar decodes them.

    Not `request.query_params.multi_items()`: it walks a set, whose order follows each process's string
    hashing, so the same request got its links' parameters in another order from each worker (another
    body, another ETag: a client's If-None-Match missed on the next worker).
    """
    return parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True, separator="&")


def check_limit(limit: int, maximum: int) -> int:
    if limit < 1 or limit > maximum:
        raise invalid_field("limit", tr("must be between 1 and {maximum}", maximum=maximum))
    return limit


class PageRequest(msgspec.Struct, frozen=True):
    """A list request's validated limit and the sort key to continue after (None: from the start)."""

    limit: int
    after: list[Any] | None

    @property
    def fetch(self) -> int:
        """Rows to read: one more than the page, to learn whether a next page exists."""
        return self.limit + 1

    def first(self, default: Any = None) -> Any:
        """The cursor's single value, for lists sorted by one key."""
        return self.after[0] if self.after else default


def page_request(request: Request, after: str | None, limit: int, arity: int = 1, *,
                 types: tuple[type, ...] | None = None, maximum: int | None = None) -> PageRequest:
    """Validate `limit` against the server's page limit (KYODO_PAGE_LIMIT) and decode `after`."""
    check_limit(limit, maximum or request.app.state.settings.page_limit_max)
    return PageRequest(limit, decode_cursor(after, arity, types=types))


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next: str | None


def page_of(request: Request, rows: Sequence[T], wanted: PageRequest, key: Callable[[T], list[Any]]) -> Page[T]:
    """The rows to show and the `next` link, from rows read with `wanted.fetch`."""
    items = list(rows[:wanted.limit])
    return Page(items, next_after(request, len(rows), wanted, lambda: key(items[-1])))


def next_after(request: Request, fetched: int, wanted: PageRequest, last_key: Callable[[], list[Any]]) -> str | None:
    """The `next` link when more rows were read than the page shows (`wanted.fetch`), after the last one's key."""
    return next_link(request, encode_cursor(last_key())) if fetched > wanted.limit else None
