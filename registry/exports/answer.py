"""Every export route's options, parsed once (a Litestar dependency), and its answer.

`f` is csv or xlsx (and gpkg where a listing offers it), `encoding` utf-8 (with a BOM, for Excel) or cp932
(alias shift_jis) for CSV, `header` ja or en. CSV keeps its English keys by default, as scripts read them;
XLSX, opened by people, has Japanese headers by default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Literal

from litestar import Request
from litestar.background_tasks import BackgroundTask
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import File, Stream

from registry.exports.table import XLSX_MEDIA_TYPE, Column, ExportOptions
from registry.exports.writers import Outcome, Rows, discard, to_file
from registry.i18n import tr
from registry.problems import invalid_field
from registry.settings import Settings

ENCODINGS = {"utf-8": "utf-8", "cp932": "cp932", "shift_jis": "cp932"}
Header = Annotated[Literal["ja", "en"] | None, Parameter(
    description="header row: ja (Japanese names the file loader reads back, enumerations as Japanese labels) "
                "or en (the API's field names and codes); default en for CSV, ja for XLSX")]
Encoding = Annotated[str, Parameter(
    description="CSV only: utf-8 (with a BOM, for Excel) or cp932 (alias shift_jis); characters CP932 cannot "
                "hold are replaced by 〓 and reported in X-Export-Unencodable and a note row",
    schema_extra={"enum": list(ENCODINGS)})]
DESCRIPTION = ("Every matching row, no page, up to the server's cap (KYODO_EXPORT_MAX_ROWS, 200,000 unless set). "
               "Headers: X-Export-Rows (rows written), X-Export-Cap, X-Export-Truncated (true when the cap cut "
               "the export short; a note row then says so too), X-Export-Unencodable (CP932 only). XLSX: "
               "codes and ids are text cells, dates are dates, the header row is frozen and filtered.")


def parse_options(f: str, encoding: str, header: str | None) -> ExportOptions:
    if encoding not in ENCODINGS:
        raise invalid_field("encoding", tr("choose utf-8 (with BOM, for Excel) or cp932 (shift_jis)"))
    # An XLSX file holds every character as it is: `encoding` (valid, as checked above) is for CSV only.
    lang = header or ("ja" if f == "xlsx" else "en")
    return ExportOptions(fmt=f, encoding=ENCODINGS[encoding] if f == "csv" else "utf-8", lang=lang)  # type: ignore[arg-type]


def _table_options(f: Annotated[Literal["csv", "xlsx"], Parameter(description="csv or xlsx")] = "csv",
                   encoding: Encoding = "utf-8", header: Header = None) -> ExportOptions:
    return parse_options(f, encoding, header)


TABLE_OPTIONS = Provide(_table_options, sync_to_thread=False)
"""For `dependencies={"options": TABLE_OPTIONS}`: the route then takes `options: ExportOptions`."""


def max_rows(request: Request) -> int:
    settings: Settings = request.app.state.settings
    return settings.export_max_rows


def _disposition(name: str, options: ExportOptions) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}.{options.fmt}"'}


async def file_answer(request: Request, chunks: AsyncIterator[Rows], columns: Sequence[Column],
                      options: ExportOptions, name: str, sheet: str, *, lines: bool = False) -> File:
    """The export written whole to a temporary file first (XLSX; CP932; small listings), then sent and deleted.
    `lines`: CSV chunks of lines the database wrote (writers.csv_line_pieces)."""
    outcome = Outcome(cap=max_rows(request))
    path = await to_file(chunks, columns, options, outcome, name, sheet, lines=lines)
    media = XLSX_MEDIA_TYPE if options.fmt == "xlsx" else "text/csv"
    return File(path, filename=path.name, media_type=media, encoding=options.charset,
                headers=outcome.headers(), background=BackgroundTask(discard, path))


def stream_answer(pieces: AsyncIterator[bytes], outcome: Outcome, options: ExportOptions, name: str) -> Stream:
    """A UTF-8 CSV sent as it is made; `outcome` must already know the row count (a count in the same
    snapshot), since headers leave before the body."""
    return Stream(pieces, media_type="text/csv", encoding=options.charset,
                  headers={**outcome.headers(), **_disposition(name, options)})
