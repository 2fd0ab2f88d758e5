"""Every match of a catalogue search as one GeoPackage (GET /v1/assets/export?f=gpkg), for QGIS and ArcGIS.

A GeoPackage is an SQLite database, complete only once it is closed, so it cannot go onto the wire as it
is written (as the CSV does): the rows are appended to a temporary file `CHUNK` at a time by pyogrio
(GDAL), memory holding one chunk rather than the whole set (91,683 assets in the demo), and the finished
file is then streamed and deleted. Same statement, snapshot, principal and order as the CSV export
(export_queries), so restricted assets are at their coarse place with no address here too.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from registry.assets import export_queries
from registry.assets.search import SearchFilter
from registry.principal import Principal

LAYER = "assets"
MEDIA_TYPE = "application/geopackage+sqlite3"
_PLAIN = ["asset_id", "municipality_code", "source_id", "category", "name", "address", "position_accuracy_m",
          "height_m", "mountable_height_m", "spare_load_kg", "power", "fibre_distance_m", "area_m2", "availability",
          "current_tenants", "max_tenants", "fee_rule", "permit_type", "contact", "source", "visibility", "version",
          "distance_m"]
_NUMBERS = {"position_accuracy_m", "height_m", "mountable_height_m", "spare_load_kg", "fibre_distance_m", "area_m2",
            "distance_m"}


def _frame(rows: Sequence[asyncpg.Record]) -> gpd.GeoDataFrame:
    data: dict[str, object] = {}
    for name in _PLAIN:
        values = [r[name] for r in rows]
        # float64 even when a whole chunk is null, so every appended chunk has the layer's column types.
        data[name] = pd.array(values, dtype="float64") if name in _NUMBERS else values
    data["coarse_location"] = [bool(r["coarse"]) for r in rows]
    data["constraints"] = [";".join(r["constraints"]) for r in rows]
    data["last_verified"] = [None if r["last_verified"] is None else r["last_verified"].isoformat() for r in rows]
    data["updated_at"] = [r["updated_at"].isoformat() for r in rows]
    geometry = shapely.from_geojson([r["geometry"] for r in rows]) if rows else []
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geometry, crs="EPSG:4326"))


def _append(path: Path, rows: Sequence[asyncpg.Record], first: bool) -> None:
    # Points and polygon outlines share the layer: its geometry type is the generic GEOMETRY.
    pyogrio.write_dataframe(_frame(rows), path, layer=LAYER, driver="GPKG", geometry_type="Unknown",
                            append=not first)


def discard(path: Path) -> None:
    """Delete the export's temporary folder (after the answer is sent)."""
    shutil.rmtree(path.parent, ignore_errors=True)


async def write(pool: asyncpg.Pool, principal: Principal | None, flt: SearchFilter) -> Path:
    """The GeoPackage of every match, in a temporary folder of its own that `discard` deletes."""
    path = Path(tempfile.mkdtemp(prefix="kyodo-export-")) / "assets.gpkg"
    try:
        first = True
        async with export_queries.reading_as(pool, principal) as conn:
            async for rows in export_queries.every_match(conn, flt):
                await asyncio.to_thread(_append, path, rows, first)
                first = False
        if first:  # no match: an empty layer with the columns, rather than no file
            await asyncio.to_thread(_append, path, [], True)
    except BaseException:
        discard(path)
        raise
    return path
