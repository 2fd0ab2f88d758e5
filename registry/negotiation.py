"""Content negotiation, one rule for every list: `?f=` wins, else the Accept header, else the default.

`f` is the parameter name OGC API uses, so GIS clients and people share one spelling.
"""

from __future__ import annotations

from typing import Literal

from litestar import Request

from registry.i18n import tr
from registry.problems import invalid_field

Format = Literal["json", "geojson", "csv"]
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv",
}
CSV_ENCODINGS: dict[str, str] = {"utf-8": "utf-8", "cp932": "shift_jis"}
"""CSV encodings offered, with the charset each is labelled with (UTF-8 carries a BOM for Excel)."""


def negotiate(request: Request, f: str | None, offered: tuple[Format, ...], param: str = "f") -> Format:
    """The format to answer in: `offered[0]` unless `f` or the Accept header asks for another offered one."""
    if f is not None:
        if f not in offered:
            raise invalid_field(param, tr("choose one of {offered}", offered=', '.join(offered)))
        return f  # type: ignore[return-value]
    accept = request.headers.get("accept", "")
    for fmt in offered[1:]:
        if MEDIA_TYPES[fmt] in accept and MEDIA_TYPES[offered[0]] not in accept:
            return fmt
    return offered[0]


def csv_charset(encoding: str, param: str = "encoding") -> str:
    """The charset label for a CSV encoding a client asked for, or a 422 listing those offered."""
    if encoding not in CSV_ENCODINGS:
        raise invalid_field(param, tr("choose utf-8 (with BOM, for Excel) or cp932"))
    return CSV_ENCODINGS[encoding]
