"""Security headers on every answer, including the problems raised outside the middleware stack.

An API answer is data, never a page: `nosniff` stops a browser from running a JSON or CSV body as a
script, and `default-src 'none'; frame-ancestors 'none'` keeps any answer from being framed or loading
anything. The Swagger UI page at /schema/docs is the one HTML page and loads only its own files
(LGWAN reaches no CDN); its inline start-up script needs 'unsafe-inline'. An answer to a request that
carried a key is private to that key: `private, no-cache` unless the route chose its own Cache-Control
(tiles): no shared cache may keep it, and the key's own browser keeps it only to revalidate with the
ETag below, so a 304 saves the body without ever showing a stale one.

`answer_head` and `EntityTagMiddleware` give every GET a HEAD and an ETag (RFC 9110 9.3.2, 13.1.2).
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry.etags import content_tag

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            b"img-src 'self' data:; frame-ancestors 'none'")
_DOCS_PREFIX = "/schema"
# The web map (registry/web.py): its own scripts, styles, fonts and MapLibre's worker only. MapLibre draws
# into blob: and data: images and may start its worker from a blob:; labels are drawn with local fonts.
# An online basemap, when set, adds its one host to img-src.
_WEB_PATHS = ("/assets/",)
_WEB_PAGES = ("/", "/map")


def web_csp(basemap_origin: str | None = None) -> bytes:
    images = "'self' data: blob:" + (f" {basemap_origin}" if basemap_origin else "")
    return (f"default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; "
            f"img-src {images}; style-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; "
            f"base-uri 'none'; form-action 'self'; frame-ancestors 'none'").encode()
HSTS = b"max-age=31536000; includeSubDomains"
PRIVATE = b"private, no-cache"


def security_headers(public_base_url: str | None, basemap_origin: str | None = None):
    """The hook for an app served at `public_base_url` (HSTS only when that is https)."""
    hsts = bool(public_base_url and public_base_url.startswith("https://"))
    page_csp = web_csp(basemap_origin)

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", []))
        present = {name.lower() for name, _ in headers}
        path = scope.get("path", "")
        if path.startswith(_DOCS_PREFIX):
            csp = DOCS_CSP
        elif path in _WEB_PAGES or path.startswith(_WEB_PATHS):
            csp = page_csp
        else:
            csp = API_CSP
        extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                 (b"content-security-policy", csp)]
        if hsts:
            extra.append((b"strict-transport-security", HSTS))
        if b"cache-control" not in present and _carries_key(scope):
            extra.append((b"cache-control", PRIVATE))
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


def answer_head(app: ASGIApp) -> ASGIApp:
    """HEAD on every path that takes GET: the GET is run and its body dropped, its headers (Content-Length,
    ETag) kept. Wrapped around the whole application because Litestar routes by method before any
    middleware runs, and a HEAD operation per route would double the OpenAPI document for no information."""

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await app({**scope, "method": "GET"}, receive, bodiless)  # type: ignore[typeddict-item]

    return handle


# A 304 repeats only what a cache needs to update its stored answer (RFC 9110 15.4.5).
_KEPT_ON_304 = {b"etag", b"cache-control", b"vary", b"content-location", b"expires", b"date"}


def matches(if_none_match: str, tag: str) -> bool:
    """If-None-Match uses the weak comparison: `W/"a"` matches `"a"`; a list matches if any member does."""
    if if_none_match.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")
    return any(part.strip().removeprefix("W/") == opaque for part in if_none_match.split(","))


class EntityTagMiddleware:
    """An ETag on every 200 answer to a GET whose route set none (a hash of the body as sent), and 304 Not
    Modified when If-None-Match names the answer's ETag, whoever made it. Streamed answers (more than one
    body message) pass through untagged: they are exports, and holding them whole would defeat streaming.
    Compression runs inside this middleware, so a gzip and a brotli answer carry different tags, as strong
    tags of different bytes must."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        wanted = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"if-none-match"), None)
        start: Message | None = None
        passing = False

        async def tagging(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
                passing = message["status"] != 200
                if passing:
                    await send(message)
            elif message.get("more_body"):
                passing = True
                await send(start)  # type: ignore[arg-type]
                await send(message)
            else:
                await _send_tagged(send, start, message.get("body", b""), wanted)  # type: ignore[arg-type]

        await self.app(scope, receive, tagging)


async def _send_tagged(send: Send, start: Message, body: bytes, wanted: str | None) -> None:
    headers = list(start.get("headers", []))
    tag = next((v.decode("latin-1") for n, v in headers if n.lower() == b"etag"), None)
    if tag is None:
        tag = content_tag(body)
        headers.append((b"etag", tag.encode()))
    if wanted is not None and matches(wanted, tag):
        kept = [(n, v) for n, v in headers if n.lower() in _KEPT_ON_304]
        await send({**start, "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
