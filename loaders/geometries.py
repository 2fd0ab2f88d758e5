"""Every row's geometry in EPSG:4326, repaired and swapped where unambiguous, or a reason to reject it.
Pure: no database. The envelope and the vertex cap are registry.assets.rules', as the API's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from loaders.columns import RowIssues, as_number, as_text
from loaders.formats import LoadError, Source
from loaders.mapping import Mapping
from loaders.points import Points, point_wkb
from registry.assets.rules import JAPAN, MAX_ASSET_VERTICES, POLYGON_CATEGORIES
from registry.i18n import tr

WGS84 = CRS.from_epsg(4326)
_GEOM_NAMES = {1: "line", 2: "line", 4: "multi-point", 5: "multi-line", 7: "geometry collection"}
_POLYGON_WORDS = ", ".join(POLYGON_CATEGORIES[:-1]) + " or " + POLYGON_CATEGORIES[-1]


@dataclass(frozen=True)
class Shapes:
    """Every row's checked geometry: shapely objects (None where rejected), or, when every one is a 2D point in
    EPSG:4326, its coordinates (NaN where rejected), which need no GEOS object at all."""

    geoms: np.ndarray | None = None
    x: np.ndarray | None = None
    y: np.ndarray | None = None

    def type_ids(self) -> np.ndarray:
        """shapely's geometry type ids: 0 a point, 3 a polygon, 6 a multi-polygon, -1 none."""
        if self.geoms is not None:
            return shapely.get_type_id(self.geoms)
        assert self.x is not None
        return np.where(np.isnan(self.x), -1, 0)

    def wkb(self, keep: np.ndarray) -> list[bytes]:
        if self.geoms is not None:
            return shapely.to_wkb(self.geoms[keep]).tolist() if keep.any() else []
        assert self.x is not None and self.y is not None
        return point_wkb(self.x[keep], self.y[keep])


def geometries(source: Source, mapping: Mapping, raw: Callable[[str], pd.Series | None], issues: RowIssues,
               notes: list[str], source_crs: int | None, label: Callable[[int], str]) -> Shapes:
    """Every row's geometry in EPSG:4326, repaired and swapped where unambiguous; rejected rows have none."""
    n = issues.n
    if isinstance(source.geometry, Points):
        crs = CRS.from_epsg(source_crs) if source_crs else source.geometry.crs
        if crs is not None and crs.equals(WGS84):
            x, y = source.geometry.x.copy(), source.geometry.y.copy()
            issues.reject(np.isnan(x), "no geometry")
            return _points_in_japan(x, y, issues)
        source = Source(source.table, source.geometry.series(), source.fmt, source.name, source.encoding)
    if source.geometry is None:
        lat_raw, lon_raw = raw("latitude"), raw("longitude")
        assert lat_raw is not None and lon_raw is not None
        lat_t, lon_t = as_text(lat_raw), as_text(lon_raw)
        lat, lon = as_number(lat_t, lat_raw), as_number(lon_t, lon_raw)
        missing = (lat_t == "") | (lon_t == "")
        issues.reject(missing, "no latitude/longitude")
        lat_l, lon_l = lat_t.tolist(), lon_t.tolist()
        issues.reject(~missing & (lat.isna() | lon.isna()),
                      lambda i: f"latitude/longitude {lat_l[i]!r}, {lon_l[i]!r} are not numbers")
        good = lat.notna() & lon.notna()
        crs = CRS.from_epsg(source_crs) if source_crs else WGS84
        if crs.equals(WGS84):
            return _points_in_japan(lon.where(good).to_numpy(dtype=float, na_value=np.nan, copy=True),
                                    lat.where(good).to_numpy(dtype=float, na_value=np.nan, copy=True), issues)
        geoms = np.full(n, None, dtype=object)
        geoms[good.to_numpy()] = shapely.points(lon[good].to_numpy(), lat[good].to_numpy())
    else:
        geoms = np.asarray(source.geometry.values, dtype=object).copy()
        crs = CRS.from_epsg(source_crs) if source_crs else source.geometry.crs
        if crs is None:
            notes.append(undeclared_crs(geoms, source.name))
            crs = WGS84
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        issues.reject(missing, "no geometry")
        geoms[missing] = None
    geographic = crs.is_geographic
    if not crs.equals(WGS84):
        present = ~shapely.is_missing(geoms)
        moved = gpd.GeoSeries(geoms[present], crs=crs).to_crs(WGS84)
        geoms[present] = np.asarray(moved.values, dtype=object)
        notes.append(f"transformed from {crs.to_string()} ({crs.name}) to EPSG:4326")
    has_z = shapely.has_z(geoms)
    if has_z.any():
        # Assets are stored in 2D; a Z is usually a height above sea level or ground, not the asset's height.
        first_z = {int(i): float(shapely.get_coordinates(geoms[i], include_z=True)[0, 2])
                   for i in np.flatnonzero(has_z)}
        issues.warn(has_z, lambda i: f"the geometry's Z value ({first_z[i]:g}) was dropped: positions are stored "
                                     "in 2D; give the asset's height in height_m")
        geoms = shapely.force_2d(geoms)

    types = shapely.get_type_id(geoms)
    # A multi-point of one point (some shapefile writers) is that point.
    single_multi = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single_multi.any():
        geoms[single_multi] = shapely.get_geometry(geoms[single_multi], 0)
        types = shapely.get_type_id(geoms)
    wrong = (types >= 0) & ~np.isin(types, (0, 3, 6))
    type_l = types.tolist()
    issues.reject(wrong, lambda i: f"a {_GEOM_NAMES.get(type_l[i], 'geometry')} cannot be an asset; give a point, "
                  f"or a polygon for a {_POLYGON_WORDS}")
    geoms[wrong] = None

    invalid = np.isin(types, (3, 6)) & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        g = geoms[i]
        why = shapely.is_valid_reason(g)
        fixed = shapely.make_valid(g, method="structure", keep_collapsed=False)
        fixed_type = shapely.get_type_id(fixed)
        if shapely.is_valid(fixed) and not shapely.is_empty(fixed) and (
                fixed_type == 3 or (types[i] == 6 and fixed_type == 6)):
            geoms[i] = fixed
            issues.warn_at(i, f"invalid polygon ({why}) repaired")
        else:
            parts = shapely.get_num_geometries(fixed)
            issues.reject_at(i, f"invalid polygon ({why}); a repair would split it into {parts} parts, "
                          "so fix it in your GIS")
            geoms[i] = None

    # The API's cap: an outline loaded with more vertices could never be changed through the API.
    vertices = shapely.get_num_coordinates(geoms)
    too_many = vertices > MAX_ASSET_VERTICES
    counts = vertices.tolist()
    issues.reject(too_many, lambda i: f"the polygon has {counts[i]:,} vertices; an asset outline needs at most "
                  f"{MAX_ASSET_VERTICES:,}: simplify it in your GIS")
    geoms[too_many] = None

    bounds = shapely.bounds(geoms)
    present = ~np.isnan(bounds[:, 0])

    def inside(b: np.ndarray) -> np.ndarray:
        return _inside(b[:, 0], b[:, 1]) & _inside(b[:, 2], b[:, 3])

    outside = present & ~inside(bounds)
    if geographic and outside.any():
        points = outside & (shapely.get_type_id(geoms) == 0)
        idx = np.flatnonzero(points)
        swapped = shapely.points(shapely.get_y(geoms[idx]), shapely.get_x(geoms[idx]))
        fixable = inside(shapely.bounds(swapped))
        for i, g in zip(idx[fixable], swapped[fixable], strict=True):
            issues.warn_at(i, _swapped(g.x, g.y))
            geoms[i] = g
        bounds = shapely.bounds(geoms)
        outside = present & ~inside(bounds)
    hint = "" if geographic else "; is the coordinate system right? (--source-crs)"
    # Only the rows rejected need their bounds as numbers for the message, not all 100,000 of a batch.
    issues.reject(outside, lambda i: _outside(bounds[i, 0], bounds[i, 1]) + hint)
    geoms[outside] = None
    return Shapes(geoms=geoms)


def _swapped(lon: float, lat: float) -> str:
    return f"latitude and longitude were swapped; read as lat {lat:.6f}, lon {lon:.6f}"


def _outside(lon: float, lat: float) -> str:
    return f"outside Japan (lon {lon:.6g}, lat {lat:.6g})"


def _inside(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= JAPAN.west) & (x <= JAPAN.east) & (y >= JAPAN.south) & (y <= JAPAN.north)


def _points_in_japan(x: np.ndarray, y: np.ndarray, issues: RowIssues) -> Shapes:
    """The end of `geometries` for points in EPSG:4326 as coordinates (NaN: none), with the same swaps, warnings
    and rejections as for shapely points."""
    present = ~np.isnan(x)
    outside = present & ~_inside(x, y)
    if outside.any():
        fixable = outside & _inside(y, x)
        for i in np.flatnonzero(fixable):
            x[i], y[i] = y[i], x[i]
            issues.warn_at(i, _swapped(x[i], y[i]))
        outside &= ~fixable
    issues.reject(outside, lambda i: _outside(x[i], y[i]))
    x[outside] = np.nan
    y[outside] = np.nan
    return Shapes(x=x, y=y)


def undeclared_crs(geoms: np.ndarray, name: str) -> str:
    """The note for a file without a coordinate system whose coordinates are degrees; LoadError otherwise."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if xmin >= -180 and xmax <= 180 and ymin >= -90 and ymax <= 90:
        return ("the file declares no coordinate system; its coordinates look like degrees, "
                "read as EPSG:4326 (pass --source-crs if they are not)")
    raise LoadError(tr("{file} declares no coordinate system and its coordinates are not degrees; "
                       "name it with --source-crs, e.g. 6677 for JGD2011 zone IX (Tokyo)", file=name))
