"""Every export route's options, parsed once (a Litestar dependency), and its answer.

`f` is csv or xlsx (and gpkg where a listing offers it), `encoding` utf-8 (with a BOM, for Excel) or cp932
(alias shift_jis) for CSV, `header` ja or en. CSV keeps its English keys by default, as scripts read them;
XLSX, opened by people, has Japanese headers by default.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Annotated, Literal

import brotli
from litestar import Request, Response
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
                      options: ExportOptions, name: str, sheet: str, *, lines: bool = False,
                      coding: str | None = None) -> File:
    """The export written whole to a temporary file first (XLSX; CP932; small listings), then sent and deleted.
    `lines`: CSV chunks of lines the database wrote (writers.csv_line_pieces); `coding`: compressed here (a
    PRECOMPRESSED route)."""
    outcome = Outcome(cap=max_rows(request))
    path = await to_file(chunks, columns, options, outcome, name, sheet, lines=lines)
    media = XLSX_MEDIA_TYPE if options.fmt == "xlsx" else "text/csv"
    return await file_sent(path, path.name, media, options.charset, outcome.headers(), coding)


def stream_answer(pieces: AsyncIterator[bytes], outcome: Outcome, options: ExportOptions, name: str,
                  coding: str | None = None) -> Stream:
    """A UTF-8 CSV sent as it is made; `outcome` must already know the row count (a count in the same
    snapshot), since headers leave before the body. With a `coding` (coding_for), compressed here."""
    headers = {**outcome.headers(), **_disposition(name, options)}
    if coding is not None:
        pieces = compressed(pieces, coding)
        headers |= {"Content-Encoding": coding, "Vary": "Accept-Encoding"}
    return Stream(pieces, media_type="text/csv", encoding=options.charset, headers=headers)


# A route whose exports compress themselves carries opt={PRECOMPRESSED: True}, which the app's compression
# middleware skips (registry/app.py). Its brotli quality 5 and gzip level 9 cost Tokyo's 5.3 MB CSV 75 and 105 ms
# of CPU per export; brotli quality 1 and gzip level 1 cost 12 and 24 ms for 840 and 980 KB instead of 703 and
# 729 KB (issue 13, bench/EXPORTS.md). An XLSX is a zip already and is sent as it is.
PRECOMPRESSED = "precompressed"
MINIMUM_SIZE = 1024  # as the middleware: below 1 KB nothing is compressed


def coding_for(request: Request) -> str | None:
    """br or gzip as the compression middleware would choose for this request, or None."""
    accepted = request.headers.get("accept-encoding", "")
    return "br" if "br" in accepted else "gzip" if "gzip" in accepted else None


def _compressor(coding: str) -> tuple[Callable[[bytes], bytes], Callable[[], bytes]]:
    """(compress a piece and flush it, finish) for br or gzip at the fast levels above."""
    if coding == "br":
        packer = brotli.Compressor(quality=1, mode=brotli.MODE_TEXT)
        return (lambda piece: packer.process(piece) + packer.flush()), packer.finish
    deflate = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    return (lambda piece: deflate.compress(piece) + deflate.flush(zlib.Z_SYNC_FLUSH)), deflate.flush


async def compressed(pieces: AsyncIterator[bytes], coding: str) -> AsyncIterator[bytes]:
    """The pieces compressed, each flushed as it comes, so a streamed export still streams."""
    pack, finish = _compressor(coding)
    async for piece in pieces:
        if out := pack(piece):
            yield out
    yield finish()


def compress_file(path: Path, coding: str) -> Path:
    """The file compressed beside itself (the same temporary folder, which `discard` deletes); a file under
    1 KB stays as it is."""
    if path.stat().st_size < MINIMUM_SIZE:
        return path
    target = path.with_name(path.name + (".br" if coding == "br" else ".gz"))
    pack, finish = _compressor(coding)
    with path.open("rb") as source, target.open("wb") as out:
        while piece := source.read(1 << 20):
            out.write(pack(piece))
        out.write(finish())
    return target


async def file_sent(path: Path, filename: str, media_type: str, charset: str | None, headers: dict[str, str],
                    coding: str | None) -> File:
    """A temporary file as the answer, compressed first with a `coding` (not an XLSX, nor under 1 KB); the
    folder is deleted once sent."""
    sent = path
    if coding is not None and media_type != XLSX_MEDIA_TYPE:
        sent = await asyncio.to_thread(compress_file, path, coding)
    if sent != path:
        headers = {**headers, "Content-Encoding": coding or "", "Vary": "Accept-Encoding"}
    return File(sent, filename=filename, media_type=media_type, encoding=charset or "utf-8", headers=headers,
                background=BackgroundTask(discard, path))


def csv_response(content: bytes, charset: str, filename: str, headers: dict[str, str] | None = None) -> Response:
    """A CSV download with exactly one charset in its Content-Type (`text/csv; charset=shift_jis`)."""
    return Response(content, media_type="text/csv", encoding=charset,
                    headers={**(headers or {}), "Content-Disposition": f'attachment; filename="{filename}"'})
