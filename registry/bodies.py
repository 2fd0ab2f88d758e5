"""Request bodies: a route that reads JSON takes only JSON (415 otherwise).

Litestar decodes a `data` parameter as JSON whatever the Content-Type says, so a `text/plain` body
created an asset. A route whose handler takes `data` accepts `application/json` and the `+json` types
(`application/geo+json`, `application/merge-patch+json`); a body without a Content-Type is read as
JSON too, as HTTP lets a server guess. Upload routes read their own body and are not touched.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from registry.i18n import tr
from registry.problems import Problem

_METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}


class UnsupportedMediaType(Problem):
    status, title, slug = 415, tr("Unsupported media type"), "unsupported-media-type"


def _takes_json(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    return signature is not None and "data" in signature.parameters


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("", "application/json") or (media.startswith("application/") and media.endswith("+json"))


class JsonBodyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _METHODS_WITH_BODY and _takes_json(scope):
            content_type = dict(scope.get("headers", [])).get(b"content-type", b"").decode("latin-1")
            if not _is_json(content_type):
                raise UnsupportedMediaType(
                    tr("This route takes a JSON body, not {value}; send it with `Content-Type: "
                       "application/json`.", value=content_type.split(';')[0]))
        await self.app(scope, receive, send)


class EmptyQueryMiddleware:
    """An empty query parameter (`?prefecture=&after=`) counts as not sent.

    HTML forms and spreadsheet-built URLs send every field, filled or not; refusing `prefecture=` as
    "not a code" would make such a URL fail for a field its author left blank on purpose.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"")
        if scope["type"] == "http" and query:
            kept = [part for part in query.split(b"&") if part.partition(b"=")[2]]
            scope = {**scope, "query_string": b"&".join(kept)}  # type: ignore[assignment]
        await self.app(scope, receive, send)
