"""A file's 2D points as coordinates, read from their WKB and written back to it with numpy. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS

# A 2D point in little-endian WKB: byte order 1, geometry type 1 (uint32), then x and y as float64.
_POINT_HEAD = np.array([1, 1, 0, 0, 0], dtype=np.uint8)
_POINT_WKB = 21


@dataclass(frozen=True)
class Points:
    """A file's 2D points as coordinates, read from their WKB without making a GEOS object of each: for a
    million points `shapely.from_wkb` and `to_wkb` took 3.3 s of the loader's CPU (py-spy), more than the
    checks, on the two cores the database's merges need. An empty point is NaN, NaN (as in WKB)."""

    x: np.ndarray
    y: np.ndarray
    crs: CRS | None

    @classmethod
    def from_wkb(cls, wkb: pa.Array, crs: str | None) -> Points | None:
        """The points of a WKB column when every value is a 2D little-endian point with both or neither
        coordinate NaN; None for anything else (polygons, Z, big-endian, nulls), which shapely reads."""
        n = len(wkb)
        if n == 0 or wkb.null_count or (not pa.types.is_binary(wkb.type) and not pa.types.is_large_binary(wkb.type)):
            return None
        offset_type = np.dtype(np.int64 if pa.types.is_large_binary(wkb.type) else np.int32)
        offsets = np.frombuffer(wkb.buffers()[1], dtype=offset_type, count=n + 1,
                                offset=wkb.offset * offset_type.itemsize)
        if not (np.diff(offsets) == _POINT_WKB).all():
            return None
        data = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(n, _POINT_WKB)
        if not (data[:, :5] == _POINT_HEAD).all():
            return None
        x, y = data[:, 5:13].copy().view("<f8").ravel(), data[:, 13:].copy().view("<f8").ravel()
        if (np.isnan(x) != np.isnan(y)).any():
            return None
        return cls(x, y, CRS.from_user_input(crs) if crs else None)

    def __len__(self) -> int:
        return len(self.x)

    def cut(self, start: int, stop: int | None = None) -> Points:
        return Points(self.x[start:stop], self.y[start:stop], self.crs)

    def then(self, more: Points) -> Points:
        return Points(np.concatenate([self.x, more.x]), np.concatenate([self.y, more.y]), self.crs)

    def series(self) -> gpd.GeoSeries:
        """The same points as shapely reads them from the file, for a slice that joins them to other shapes."""
        return gpd.GeoSeries(shapely.from_wkb(point_wkb(self.x, self.y)), crs=self.crs, name="geometry")


def point_wkb(x: np.ndarray, y: np.ndarray) -> list[bytes]:
    """Each point's WKB, byte for byte what shapely.to_wkb writes for a 2D point."""
    out = np.empty((len(x), _POINT_WKB), dtype=np.uint8)
    out[:, :5] = _POINT_HEAD
    out[:, 5:13] = x.astype("<f8").view(np.uint8).reshape(-1, 8)
    out[:, 13:] = y.astype("<f8").view(np.uint8).reshape(-1, 8)
    return out.view(f"V{_POINT_WKB}").ravel().tolist()
