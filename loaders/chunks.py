"""A large GeoPackage read while it is checked: its first chunk of features at once, the rest as the loader asks.

Reading a million points whole took 1.4 s (pyogrio's Arrow reader) before the first batch could be checked, and the
merges waited for it; read as a stream of Arrow batches, the first 25,000 features come in 0.03-0.04 s (100,000 took
0.15-0.17 s) and the rest are read by the checking thread, a chunk ahead of the checks, while the database merges
(bench/README.md).
Each chunk goes through the same conversions as `pyogrio.read_dataframe(use_arrow=True)` for the files taken
here (no date or JSON fields, a declared coordinate system), so the rows are the same (tests/test_load_chunks.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.raw import open_arrow

from loaders.formats import LoadError, Source, unreadable
from loaders.points import Points

CHUNK_ROWS = 25_000
"""Features per chunk; a file of more features than this is read in chunks. A quarter of loaders.validate.BATCH_ROWS,
the first batch's size: a million points read in 0.49 s in chunks of 25,000, 0.50 s in chunks of 100,000."""


def read_in_chunks(path: Path, target: str, layer: str) -> Source | None:
    """The layer as a Source whose later rows come in chunks, or None when it is to be read whole: small, with a
    date or JSON field (read_dataframe parses those after the read), or without a coordinate system (undeclared
    ones are guessed from every geometry of the file)."""
    try:
        info = pyogrio.read_info(target, layer=layer)
    except Exception:  # the whole read that follows says what is wrong with the file
        return None
    dated = any(str(d).startswith("datetime") for d in info["dtypes"]) or any(
        t in ("OFTDate", "OFTDateTime", "OFTTime") for t in info["ogr_types"])
    simple = not dated and "OFSTJSON" not in info["ogr_subtypes"]
    if not (simple and info["crs"] and info["geometry_name"] and info["features"] > CHUNK_ROWS):
        return None
    chunks = _chunks(path, target, layer)
    table, geometry = next(chunks)  # a file that cannot be read fails here, as a whole read would
    return Source(table, geometry, "gpkg", path.name, None, [], rest=chunks, total=int(info["features"]))


def _chunks(path: Path, target: str, layer: str) -> Iterator[tuple[pd.DataFrame, gpd.GeoSeries | Points]]:
    try:
        with open_arrow(target, layer=layer, batch_size=CHUNK_ROWS, use_pyarrow=True) as (meta, reader):
            name = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                table = pa.Table.from_batches([batch])
                points = Points.from_wkb(table.column(name).combine_chunks(), meta["crs"])
                if points is not None:
                    yield table.drop_columns([name]).to_pandas(), points
                    continue
                frame = table.to_pandas()
                wkb = frame.pop(name)
                if wkb.dtype != object:
                    wkb = wkb.to_numpy(na_value=None)
                # A feature whose geometry cannot be parsed comes back empty and is rejected by row (read_vector).
                yield frame, gpd.GeoSeries(shapely.from_wkb(wkb, on_invalid="ignore"), crs=meta["crs"], name="geometry")
    except LoadError:
        raise
    except Exception as exc:  # as read_vector: GDAL's errors for broken files have no common base
        raise unreadable(path, "gpkg", exc) from exc


def slices(source: Source, sizes: Iterable[int]) -> Iterator[tuple[int, Source]]:
    """The source's rows in order, as many at a time as `sizes` gives in turn, each slice with the index of its first
    row in the file."""
    table, geometry, start = source.table, source.geometry, 0
    pending = iter(source.rest or ())
    size = iter(sizes)
    rows = next(size)
    while True:
        more = next(pending, None) if len(table) < rows else None
        if more is not None and len(table) == 0:  # chunks of `rows` rows: nothing to join
            table, geometry = more[0], None if geometry is None else more[1]
            continue
        if more is not None:  # a chunk's tail waits for the next chunk: every slice but the last has `rows` rows
            table = pd.concat([table, more[0]], ignore_index=True)
            geometry = None if geometry is None else _joined(geometry, more[1])
            continue
        if len(table) == 0:
            return
        yield start, Source(table.iloc[:rows].reset_index(drop=True), _cut(geometry, 0, rows),
                            source.fmt, source.name, source.encoding)
        table, start = table.iloc[rows:], start + min(rows, len(table))
        geometry = _cut(geometry, rows)
        rows = next(size)


Geometry = gpd.GeoSeries | Points


def _cut(geometry: Geometry | None, start: int, stop: int | None = None) -> Geometry | None:
    if geometry is None:
        return None
    if isinstance(geometry, Points):
        return geometry.cut(start, stop)
    return geometry.iloc[start:stop].reset_index(drop=True)


def _joined(first: Geometry, more: Geometry) -> Geometry:
    if isinstance(first, Points) and isinstance(more, Points):
        return first.then(more)
    as_series = [g.series() if isinstance(g, Points) else g for g in (first, more)]
    return pd.concat(as_series, ignore_index=True)
