"""Cells for spreadsheets: every export that Excel or LibreOffice may open goes through here.

OWASP's advice on CSV injection: a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
return is read as a formula by Excel and LibreOffice (`=HYPERLINK(...)` opens a link, `=1+2`
computes). Such text gets a leading apostrophe, which both programs take as "this cell is text"
and do not show. Numbers are written as numbers and never pass through here, so -3.5 stays -3.5.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, made inert; any other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
