"""Security headers on every answer, including the problems raised outside the middleware stack.

An API answer is data, never a page: `nosniff` stops a browser from running a JSON or CSV body as a
script, and `default-src 'none'; frame-ancestors 'none'` keeps any answer from being framed or loading
anything. The Swagger UI page at /schema/docs is the one HTML page and loads only its own files
(LGWAN reaches no CDN); its inline start-up script needs 'unsafe-inline'. An answer to a request that
carried a key is private to that key: `no-store` unless the route chose its own Cache-Control (tiles).
"""

from __future__ import annotations

from litestar.types import Message, Scope

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            b"img-src 'self' data:; frame-ancestors 'none'")
_DOCS_PREFIX = "/schema"
HSTS = b"max-age=31536000; includeSubDomains"


def security_headers(public_base_url: str | None):
    """The hook for an app served at `public_base_url` (HSTS only when that is https)."""
    hsts = bool(public_base_url and public_base_url.startswith("https://"))

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", []))
        present = {name.lower() for name, _ in headers}
        path = scope.get("path", "")
        extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                 (b"content-security-policy", DOCS_CSP if path.startswith(_DOCS_PREFIX) else API_CSP)]
        if hsts:
            extra.append((b"strict-transport-security", HSTS))
        if b"cache-control" not in present and _carries_key(scope):
            extra.append((b"cache-control", b"no-store"))
        message["headers"] = [*[(n, v) for n, v in headers if n.lower() != b"server"],
                              *[(n, v) for n, v in extra if n not in present]]

    return add_security_headers


def _carries_key(scope: Scope) -> bool:
    return any(name == b"authorization" or name == b"cookie" for name, _ in scope.get("headers", []))


async def complete_allow(message: Message, scope: Scope) -> None:
    """`Allow` on OPTIONS answers: every method of the path, not only those Litestar knew when it made
    the path's OPTIONS handler (GET alone for /v1/keys, which also takes POST)."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    handler = scope.get("route_handler")
    app = scope.get("app")
    if handler is None or app is None:
        return
    methods: set[str] = set()
    for path in getattr(handler, "paths", ()):
        methods |= set(app.route_handler_method_map.get(path, {}))
    if methods:
        allow = ", ".join(sorted(methods)).encode()
        message["headers"] = [*[(n, v) for n, v in message.get("headers", []) if n.lower() != b"allow"],
                              (b"allow", allow)]
