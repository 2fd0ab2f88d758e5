"""Read any supported file into one frame of source columns plus an optional geometry column.

GeoJSON, GeoPackage, (zipped) Shapefile through pyogrio; CSV through pandas with the encoding
detected, because Japanese open-data CSVs come in UTF-8 (with or without BOM) and CP932 alike;
Excel workbooks (.xlsx) through python-calamine, every cell as text like a CSV's.
Nothing here interprets columns; loaders.mapping decides which column feeds which attribute.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS
from python_calamine import CalamineWorkbook

from registry.i18n import tr

if TYPE_CHECKING:
    from loaders.points import Points

FORMATS = ("geojson", "gpkg", "shapefile", "csv", "xlsx")
_SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shapefile", ".shp": "shapefile",
             ".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LoadError(Exception):
    """The file as a whole cannot be loaded (empty, unreadable, unknown format): a message to act on."""


# What a municipal clerk can do about a file GDAL cannot open. GDAL's own text names its internals
# (`sqlite3_prepare_v2(SELECT COUNT(*) FROM sqlite_master...`) and the server's temporary paths, so it
# is logged for the operator and never shown.
_UNREADABLE = {
    "gpkg": tr("this file is not a GeoPackage that GDAL can open; save it again from QGIS (Export > Save Features "
               "As..., format GeoPackage), or send the layer as GeoJSON or CSV"),
    "geojson": tr("this file is not a GeoJSON file that GDAL can read; save it again from QGIS (Export > Save "
                  "Features As..., format GeoJSON) as UTF-8 text, or send it as CSV"),
    "shapefile": tr("this shapefile cannot be opened; zip the .shp together with its .shx, .dbf and .prj files, or "
                    "save the layer again from QGIS as a GeoPackage"),
}
_log = logging.getLogger(__name__)


def unreadable(path: Path, fmt: str, exc: Exception) -> LoadError:
    _log.info("GDAL cannot read %s as %s: %s", path.name, fmt, exc)
    return LoadError(tr("{file} cannot be read as {fmt}: {why}", file=path.name, fmt=fmt, why=_UNREADABLE[fmt]))


@dataclass
class Source:
    """Source columns as read (CSV: all text), the geometry if the format has one, and where it came from."""

    table: pd.DataFrame
    geometry: gpd.GeoSeries | Points | None
    """A GeoPackage's chunks of 2D points come as their coordinates (loaders.points)."""
    fmt: str
    name: str
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    rest: Iterator[tuple[pd.DataFrame, gpd.GeoSeries | Points]] | None = None
    """The file's later rows when it is read while it is checked (loaders.chunks): `table` is its first chunk."""
    total: int | None = None
    """The file's number of rows when `rest` holds some of them."""

    @property
    def crs(self) -> CRS | None:
        return None if self.geometry is None else self.geometry.crs

    @property
    def rows(self) -> int:
        return len(self.table) if self.total is None else self.total


def detect_format(name: str, head: bytes, hint: str | None = None) -> str:
    """The format from an explicit hint, else the file name, else the first bytes."""
    if hint:
        key = hint.lower().strip().lstrip(".")
        aliases = {"json": "geojson", "geo+json": "geojson", "geopackage": "gpkg", "shp": "shapefile",
                   "zip": "shapefile", "text/csv": "csv", "application/geo+json": "geojson",
                   "application/geopackage+sqlite3": "gpkg", "application/zip": "shapefile", "excel": "xlsx",
                   XLSX_TYPE: "xlsx"}
        key = aliases.get(key, key)
        if key not in FORMATS:
            raise LoadError(tr("unknown format {format}; use one of {formats}", format=repr(hint),
                               formats=", ".join(FORMATS)))
        return key
    suffix = Path(name).suffix.lower()
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    if head.startswith(b"SQLite format 3"):
        return "gpkg"
    if head.startswith(b"PK"):
        return "shapefile"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "geojson"
    return "csv"


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 with BOM, UTF-8, or CP932 (Shift_JIS with Microsoft's extensions)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise LoadError(tr("the CSV is neither UTF-8 nor CP932 (undecodable byte at offset {offset}); "
                           "save it as UTF-8", offset=exc.start)) from exc


def read_csv_bytes(data: bytes, name: str) -> Source:
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise LoadError(tr("{file} is empty", file=name))
    text, encoding = decode_text(data)
    try:
        # Everything as text: codes like 092011 must keep their leading zero, ids stay ids.
        header = text.split("\n", 1)[0]
        # Spreadsheets saved as "Unicode text" give tab-separated files.
        sep = "\t" if "\t" in header and "," not in header else ","
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True, sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LoadError(tr("{file} is not a readable CSV: {error}", file=name, error=str(exc))) from exc
    table.columns = [str(c).strip().strip("\ufeff").replace("\u3000", " ").strip() for c in table.columns]
    if table.empty:
        raise LoadError(tr("{file} has a header but no data rows", file=name))
    table = table.apply(lambda s: s.str.strip())
    return Source(table.reset_index(drop=True), None, "csv", name, encoding)


def _vector_path(path: Path, fmt: str) -> str:
    if fmt == "shapefile" and path.suffix.lower() != ".shp":
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                shps = [n for n in names if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
        except zipfile.BadZipFile as exc:
            raise LoadError(tr("{file} is not a valid zip file", file=path.name)) from exc
        if not shps and "[Content_Types].xml" in names:
            raise LoadError(tr("{file} is an Office document (an Excel workbook?); save the sheet as CSV (UTF-8)",
                               file=path.name))
        if not shps:
            raise LoadError(tr("{file} holds no .shp file; zip the .shp with its .shx, .dbf and .prj", file=path.name))
        if len(shps) > 1:
            raise LoadError(tr("{file} holds several shapefiles ({shapefiles}); zip one per upload", file=path.name,
                               shapefiles=", ".join(shps)))
        return f"/vsizip/{path}/{shps[0]}"
    return str(path)


def _dbf_encoding(path: Path, target: str) -> str | None:
    """The encoding of a shapefile's attributes when the file does not say: GDAL would read them as
    Latin-1, and Japanese shapefiles without a .cpg are usually CP932. None when the file says."""
    if path.suffix.lower() != ".shp":
        with zipfile.ZipFile(path) as zf:
            names = {n.lower(): n for n in zf.namelist()}
            stem = target.rsplit("/", 1)[-1][:-4].lower()
            if f"{stem}.cpg" in {n.rsplit("/", 1)[-1] for n in names}:
                return None
            dbf = next((names[n] for n in names if n.rsplit("/", 1)[-1] == f"{stem}.dbf"), None)
            data = zf.read(dbf) if dbf else b""
    else:
        if path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists():
            return None
        dbf_path = path.with_suffix(".dbf")
        data = dbf_path.read_bytes() if dbf_path.exists() else b""
    # Byte 29 is the DBF language driver id; GDAL honours a non-zero one.
    if len(data) < 32 or data[29] != 0:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "CP932"
    return "UTF-8"


# Reads a large GeoPackage layer (path, GDAL's target, layer) in chunks, or gives None to have it read whole.
Chunked = Callable[[Path, str, str], "Source | None"]


def read_vector(path: Path, fmt: str, layer: str | None = None, *, chunked: Chunked | None = None) -> Source:
    if path.stat().st_size == 0:
        raise LoadError(tr("{file} is empty", file=path.name))
    target = _vector_path(path, fmt)
    encoding = _dbf_encoding(path, target) if fmt == "shapefile" else None
    try:
        layers = pyogrio.list_layers(target)
    except Exception as exc:  # pyogrio raises several DataSource errors; all mean "cannot open this file"
        raise unreadable(path, fmt, exc) from exc
    names = [str(row[0]) for row in layers]
    if layer is None:
        if len(names) > 1:
            raise LoadError(tr("{file} has several layers ({layers}); choose one with --layer", file=path.name,
                               layers=", ".join(names)))
        layer = names[0] if names else None
    elif layer not in names:
        raise LoadError(tr("{file} has no layer {layer}; its layers are {layers}", file=path.name, layer=repr(layer),
                           layers=", ".join(names)))
    if layer is None:
        raise LoadError(tr("{file} holds no layer", file=path.name))
    if chunked is not None and fmt == "gpkg" and (chunks := chunked(path, target, layer)) is not None:
        return chunks
    try:
        # A feature whose geometry cannot be parsed comes back empty and is rejected by row, not for the file.
        # Arrow reads a million features about four times faster; shapefiles whose encoding we had to
        # guess go through the row-wise reader, which applies it.
        frame = pyogrio.read_dataframe(target, layer=layer, on_invalid="ignore", encoding=encoding,
                                       use_arrow=encoding is None)
    except Exception as exc:  # pyogrio's errors for broken files have no common base worth naming
        raise unreadable(path, fmt, exc) from exc
    if len(frame) == 0:
        raise LoadError(tr("{file} contains no features", file=path.name))
    notes: list[str] = [f"shapefile attributes read as {encoding} (no .cpg file)"] if encoding else []
    geometry = frame.geometry if isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame else None
    table = pd.DataFrame(frame.drop(columns="geometry") if geometry is not None else frame).reset_index(drop=True)
    if geometry is not None:
        geometry = geometry.reset_index(drop=True)
    return Source(table, geometry, fmt, path.name, None, notes)


def _cell_text(value: Any) -> str:
    """A cell as the text a clerk sees: numbers without a trailing .0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


# Attributes whose leading zeros a number cell has lost for good (0001 -> 1): said once per file.
_ID_HEADERS = ("source_id", "id", "no", "番号", "管理番号", "整理番号")


def read_workbook(path: Path, sheet: str | None = None) -> Source:
    """The first sheet of an .xlsx, or the one named: its first non-empty row is the header, every cell text.
    A formula cell gives the value Excel cached when it last saved the file (calamine reads no formulas)."""
    if path.stat().st_size == 0:
        raise LoadError(tr("{file} is empty", file=path.name))
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine's errors for broken workbooks share no base class worth naming
        _log.info("calamine cannot read %s: %s", path.name, exc)
        raise LoadError(tr("{file} cannot be read as an Excel workbook (.xlsx); save it again from Excel, or "
                           "save the sheet as CSV (UTF-8)", file=path.name)) from exc
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        raise LoadError(tr("{file} has no sheet {sheet}; its sheets are {sheets}", file=path.name, sheet=repr(sheet),
                           sheets=", ".join(names)))
    name = sheet if sheet is not None else names[0]
    cells = book.get_sheet_by_name(name).to_python(skip_empty_area=True)
    rows = [r for r in cells if any(v not in (None, "") for v in r)]
    if not rows:
        raise LoadError(tr("sheet {sheet} of {file} is empty", sheet=repr(name), file=path.name))
    header = [_cell_text(v).strip("\ufeff").replace("\u3000", " ").strip() for v in rows[0]]
    width = max(i + 1 for i, h in enumerate(header) if h) if any(header) else 0
    header = header[:width]
    if not width or len(set(header)) != width or "" in header:
        if not any(header):
            raise LoadError(tr("the first row of sheet {sheet} must name every column once (it has nothing); "
                               "put the header in the first row", sheet=repr(name)))
        raise LoadError(tr("the first row of sheet {sheet} must name every column once (it has {header}); "
                           "put the header in the first row", sheet=repr(name),
                           header=", ".join(repr(h) for h in header)))
    body = rows[1:]
    if not body:
        raise LoadError(tr("sheet {sheet} of {file} has a header but no data rows", sheet=repr(name), file=path.name))
    table = pd.DataFrame([[_cell_text(v) for v in (list(r) + [None] * width)[:width]] for r in body],
                         columns=header, dtype=object)
    notes = [f"read sheet {name!r}" + (f" (the first of {len(names)}; another with sheet=NAME)" if len(names) > 1
                                       and sheet is None else "")]
    for column in [h for h in header if h.lower() in _ID_HEADERS]:
        numbers = sum(1 for r in body if column in header and isinstance(r[header.index(column)], int | float)
                      and not isinstance(r[header.index(column)], bool))
        if numbers:
            notes.append(f"{numbers:,} cells of {column} are numbers, not text: an id with leading zeros (0001) "
                         "has lost them in Excel and would not match on a re-load; format the column as text "
                         "(文字列) and type those ids again")
    return Source(table, None, "xlsx", path.name, None, notes)


def _is_workbook(path: Path) -> bool:
    """An .xlsx is a zip too: one that holds xl/workbook.xml is a workbook, not a zipped shapefile."""
    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def read_source(path: Path, fmt: str | None = None, layer: str | None = None, sheet: str | None = None, *,
                chunked: Chunked | None = None) -> Source:
    """Read a file of any supported format; LoadError says what is wrong with a file that cannot be read.
    `layer` is a GeoPackage's layer, `sheet` a workbook's sheet (the first when not given). `chunked`
    (loaders.chunks.read_in_chunks) may read a large GeoPackage's first chunk only, the rest in `Source.rest`."""
    if not path.exists():
        raise LoadError(tr("{path} does not exist", path=str(path)))
    with path.open("rb") as fh:
        head = fh.read(64)
    kind = detect_format(path.name, head, fmt)
    if kind == "shapefile" and head.startswith(b"PK") and _is_workbook(path):
        kind = "xlsx"
    if kind == "csv":
        return read_csv_bytes(path.read_bytes(), path.name)
    if kind == "xlsx":
        return read_workbook(path, sheet)
    return read_vector(path, kind, layer, chunked=chunked)
