"""What an export is made of, whatever its format: columns (an English key, a Japanese header, a kind and a
width) and the options a client chose (format, encoding, header language), parsed once.

The Japanese headers of asset columns are names the file loader reads back (loaders/mapping.py), so a clerk
can edit an exported sheet and load it again; enumerations are written as their Japanese labels under a
Japanese header (屋上, 提供中), which the loader also reads back (loaders/words.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from registry.spreadsheet import neutralise

Kind = Literal["text", "code", "int", "number", "date", "datetime", "bool"]
"""code: an identifier of digits (011002, 0001) that must stay text in every format."""
Lang = Literal["ja", "en"]
Fmt = Literal["csv", "xlsx", "gpkg"]
"""gpkg only where a listing offers it (assets); the writers here make csv and xlsx."""

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# U+3013 GETA MARK, the JIS mark for "a character that could not be set": visible, and in CP932 itself.
SUBSTITUTE = "〓"


@dataclass(frozen=True)
class Column:
    key: str
    ja: str
    kind: Kind = "text"
    width: int = 12
    """Excel column width in characters (a kanji counts about 2)."""
    labels: Mapping[str, str] | None = None
    """Code -> Japanese label, written in place of the code under a Japanese header."""

    def title(self, lang: Lang) -> str:
        return self.ja if lang == "ja" else self.key


@dataclass(frozen=True)
class ExportOptions:
    """An export request, validated: format, CSV encoding (utf-8 with BOM, or cp932) and header language."""

    fmt: Fmt = "csv"
    encoding: Literal["utf-8", "cp932"] = "utf-8"
    lang: Lang = "en"

    @property
    def charset(self) -> str:
        return "shift_jis" if self.encoding == "cp932" else "utf-8"


def headers_row(columns: Sequence[Column], lang: Lang) -> list[str]:
    return [c.title(lang) for c in columns]


def plain(column: Column, value: object, lang: Lang) -> object:
    """A value as the sheet shows it: a label for a code under a Japanese header, lists joined with `;`,
    formula-like text neutralised for CSV later; numbers, dates and booleans unchanged."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    if column.labels is not None and lang == "ja" and isinstance(value, str):
        return column.labels.get(value, value)
    return value


def csv_text(value: object) -> str:
    """One CSV cell: numbers as written by Python (no exponent for floats), text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.7f}".rstrip("0").rstrip(".")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)
