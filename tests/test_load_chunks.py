"""A large GeoPackage read in chunks while it is checked (loaders.chunks) gives the loader the same rows, issues
and notes as the same file read whole, whatever the chunks' and the batches' sizes; and a load of it stores every
feature. Chunks and batches of a few rows here, so that a small file takes the path a million points take."""

from __future__ import annotations

import datetime as dt
from itertools import islice
from pathlib import Path

import asyncpg
import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from loaders import chunks, validate
from loaders.chunks import read_in_chunks
from loaders.formats import Source, read_source
from loaders.mapping import build_mapping
from loaders.validate import batch_sizes, prepare_in_batches
from registry.settings import Settings
from tests.test_load_assets import CHIYODA
from tests.test_load_parallel import load


def write_points(path: Path, n: int, *, with_date: bool = False, mixed: bool = False) -> gpd.GeoDataFrame:
    """n points in Chiyoda, with a few rows each loader check must name: a repeated id (across chunks), a
    height out of range, an empty geometry, a point outside Japan, a name to be normalised. `mixed` adds
    a point with latitude and longitude swapped, one with a Z, and a rooftop's outline, so that some chunks
    are plain 2D points (read as coordinates, loaders.points) and some are not (read by shapely)."""
    rows = [{"source_id": f"P{i:04d}", "name": f"pole {i}", "category": "streetlight", "height_m": 10.0 + i % 7,
             "geometry": shapely.Point(139.75 + i / 100_000, 35.68 + (i % 50) / 10_000)} for i in range(n)]
    if n > 25:
        rows[9]["source_id"] = "P0002"
        rows[13]["height_m"] = 5000.0
        rows[17]["geometry"] = shapely.Point()
        rows[21]["geometry"] = shapely.Point(10.0, 50.0)
        rows[25]["name"] = "ﾎﾟｰﾙ ２５"
    if mixed and n > 38:
        rows[5]["geometry"] = shapely.Point(35.69, 139.76)
        rows[29]["geometry"] = shapely.Point(139.77, 35.69, 12.5)
        rows[37]["category"] = "rooftop"
        rows[37]["geometry"] = shapely.box(139.75, 35.68, 139.751, 35.681)
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    if with_date:
        frame["last_verified"] = pd.to_datetime([dt.date(2026, 1, 1 + i % 28) for i in range(n)])
    frame.to_file(path, driver="GPKG", layer="poles")
    return frame


def batches(source: Source) -> list[tuple[list[tuple], list[tuple], list[str]]]:
    mapping = build_mapping([str(c) for c in source.table.columns], True, None, None, publish=False)
    return [(list(b.records()), [(i.row, i.source_id, i.severity, i.reason) for i in b.issues], b.notes)
            for b in prepare_in_batches(source, mapping, tenant=CHIYODA, known={CHIYODA: None})]


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize(("chunk", "batch"), [(7, 10), (10, 7), (10, 10), (4, 40)])
def test_chunks_give_the_rows_of_a_whole_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              chunk: int, batch: int, mixed: bool) -> None:
    path = tmp_path / "poles.gpkg"
    write_points(path, 40, mixed=mixed)
    monkeypatch.setattr(chunks, "CHUNK_ROWS", chunk)
    monkeypatch.setattr(validate, "BATCH_ROWS", batch)
    whole = read_source(path)
    chunked = read_source(path, chunked=read_in_chunks)
    assert whole.rest is None and chunked.rest is not None
    assert (len(chunked.table), chunked.rows, whole.rows) == (min(chunk, 40), 40, 40)
    expected = batches(whole)
    sizes = list(islice(batch_sizes(batch), 40))
    assert len(expected) == next(n for n in range(1, 41) if sum(sizes[:n]) >= 40)
    assert sum(len(r) for r, _, _ in expected) == 36  # 4 rejected
    reasons = {i[3].split(" ")[0] for _, issues, _ in expected for i in issues}
    assert reasons >= {"source_id", "height_m", "name", "no", "outside"}
    if mixed:
        assert reasons >= {"latitude", "the"}  # swapped, and the Z dropped
        assert any(len(wkb) > 21 for records, _, _ in expected for *_, wkb in records)  # the outline
    assert batches(chunked) == expected


def test_small_or_dated_files_are_read_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 7)
    small, dated = tmp_path / "small.gpkg", tmp_path / "dated.gpkg"
    write_points(small, 7)
    write_points(dated, 40, with_date=True)
    assert read_source(small, chunked=read_in_chunks).rest is None
    assert pyogrio.read_info(dated)["ogr_types"][-1] in ("OFTDate", "OFTDateTime")
    assert read_source(dated, chunked=read_in_chunks).rest is None


async def test_a_chunked_load_stores_every_feature(monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                                   owner: asyncpg.Connection, tmp_path: Path) -> None:
    if await owner.fetchval("select current_setting('max_prepared_transactions')::int") < 4:
        pytest.skip("this server does not allow prepared transactions (max_prepared_transactions)")
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 6)
    monkeypatch.setattr(validate, "BATCH_ROWS", 8)
    path = tmp_path / "poles.gpkg"
    frame = write_points(path, 40)
    frame = frame.drop(index=[9, 13, 17, 21])
    frame = frame[frame.source_id != "P0002"]  # the repeated id rejects the load: take it out of the file
    path.unlink()
    frame.reset_index(drop=True).to_file(path, driver="GPKG", layer="poles")
    report = await load(settings, path)
    assert (report.rows, report.rejected, report.inserted, report.committed) == (35, 0, 35, True)
    stored = {r["source_id"]: (r["x"], r["y"]) for r in await owner.fetch(
        "select source_id, ST_X(geom) as x, ST_Y(geom) as y from assets where municipality_code = $1", CHIYODA)}
    assert stored == {s: (g.x, g.y) for s, g in zip(frame.source_id, frame.geometry, strict=True)}
