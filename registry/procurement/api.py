"""What every procurement route shares: tags, guards, headers, list paging, CSV answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import Parameter

from registry.auth.guards import requires
from registry.exports.answer import PRECOMPRESSED, csv_response  # PRECOMPRESSED: the opt key compression skips
from registry.idempotency import HEADER as IDEMPOTENCY_HEADER
from registry.negotiation import Format, negotiate
from registry.pagination import PageRequest, page_request
from registry.params import parse_uuid
from registry.procurement import csvio
from registry.procurement.summary import Encoded

__all__ = ["PRECOMPRESSED"]

TAG = ["procurement"]
ANY_TENANT = requires("municipality", "prefecture", "admin")
ORGANISERS = requires("prefecture", "admin")
SUBMITTERS = requires("municipality", "admin")
IdempotencyKey = Annotated[str | None, Parameter(header=IDEMPOTENCY_HEADER, description="a fresh UUID per request")]
IfMatch = Annotated[str | None, Parameter(header="If-Match")]
After = Annotated[str | None, Parameter(description="the cursor of the previous page's `next` link")]
Limit = Annotated[int, Parameter(description="page size, 1 to the server's page limit (KYODO_PAGE_LIMIT)")]
F = Annotated[str | None, Parameter(description="json or csv; without it the Accept header decides")]
FormatAlias = Annotated[str | None, Parameter(description="deprecated spelling of `f`, still accepted")]


def listing(request: Request, after: str | None, limit: int, types: tuple[type, ...]) -> PageRequest:
    """A validated page request whose cursor ends with a row id (a crafted one answers 422, never 500)."""
    wanted = page_request(request, after, limit, len(types), types=types)
    if wanted.after is not None:
        parse_uuid(wanted.after[-1], "after")
    return wanted


def wanted_format(request: Request, f: str | None, format_alias: str | None) -> Format:
    """`?f=` (as for assets and OGC API), else the deprecated `?format=`, else the Accept header."""
    if f is None and format_alias is not None:
        return negotiate(request, format_alias, ("json", "csv"), param="format")
    return negotiate(request, f, ("json", "csv"))


def precompressed(request: Request, encoded: Encoded) -> Response:
    """A JSON answer kept encoded and compressed (summary.Encoded), sent in the form the client accepts, with
    the headers the compression and ETag middlewares would have set. Its route carries
    `opt={PRECOMPRESSED: True}`, which the app's compression middleware skips."""
    coding, body, tag = encoded.form(request.headers.get("accept-encoding", ""))
    headers = {"ETag": tag}
    if coding != "identity":
        headers |= {"Content-Encoding": coding, "Vary": "Accept-Encoding"}
    return Response(body, media_type="application/json", headers=headers)


def csv_answer(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], name: str) -> Response:
    return csv_response(csvio.render(rows, columns).encode("utf-8"), "utf-8", f"{name}.csv")
