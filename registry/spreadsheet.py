"""Cells for spreadsheets: every export that Excel or LibreOffice may open goes through here.

OWASP's advice on CSV injection: a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return is read as a formula by Excel and LibreOffice (`=HYPERLINK(...)` opens a link, `=1+2`
computes). Such text gets a leading apostrophe, which both programs take as "this cell is text"
and do not show. Numbers are written as numbers and never pass through here, so -3.5 stays -3.5.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Response
from litestar.response import Stream

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, made inert; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(content: bytes, charset: str, filename: str, headers: dict[str, str] | None = None) -> Response:
    """A CSV download with exactly one charset in its Content-Type (`text/csv; charset=shift_jis`)."""
    return Response(content, media_type="text/csv", encoding=charset,
                    headers={**(headers or {}), "Content-Disposition": f'attachment; filename="{filename}"'})


def csv_stream(pieces: AsyncIterator[bytes], charset: str, filename: str) -> Stream:
    """A CSV download sent as it is made (chunked), with the same one-charset Content-Type as csv_response."""
    return Stream(pieces, media_type="text/csv", encoding=charset,
                  headers={"Content-Disposition": f'attachment; filename="{filename}"'})
