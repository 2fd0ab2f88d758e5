"""Source rows → asset rows ready for the staging table, or a reason per rejected row. Pure: no database.

The rules mirror the CHECK constraints of sql/010_assets.sql so that a bad row is named here with a
reason a person can act on, instead of failing the whole load inside PostgreSQL. Everything is
vectorised (pandas, shapely 2) because a million rows must pass in seconds; only rows with an issue
are visited one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from loaders.formats import LoadError, Source
from loaders.mapping import Mapping
from registry.codes import CodeError, is_prefecture, is_valid, normalise, with_check_digit

# Japan's envelope, as in the asset_geometry_in_japan constraint.
JAPAN = (122.5, 20.0, 154.5, 46.0)
WGS84 = CRS.from_epsg(4326)

CATEGORIES = ("rooftop", "land", "structure", "streetlight", "traffic_signal", "utility_pole", "bus_stop",
              "subway_entrance", "park", "signage", "other")
POLYGON_CATEGORIES = ("rooftop", "land", "park")

_CATEGORY_WORDS = {
    "屋上": "rooftop", "建物屋上": "rooftop", "建物": "rooftop", "ビル屋上": "rooftop", "土地": "land", "用地": "land",
    "構造物": "structure", "工作物": "structure", "鉄塔": "structure", "街路灯": "streetlight", "街灯": "streetlight",
    "道路照明": "streetlight", "信号機": "traffic_signal", "信号": "traffic_signal", "電柱": "utility_pole",
    "柱": "utility_pole", "バス停": "bus_stop", "バス停留所": "bus_stop", "バス停上屋": "bus_stop",
    "地下鉄出入口": "subway_entrance", "地下鉄駅出入口": "subway_entrance", "地下道出入口": "subway_entrance",
    "公園": "park", "標識": "signage", "案内標識": "signage", "看板": "signage", "その他": "other",
    "building": "rooftop", "roof": "rooftop", "street_light": "streetlight", "streetlamp": "streetlight",
    "pole": "utility_pole", "signal": "traffic_signal", "subway": "subway_entrance", "sign": "signage",
}
_POWER = {"yes": "yes", "y": "yes", "true": "yes", "1": "yes", "有": "yes", "あり": "yes", "有り": "yes", "可": "yes",
          "no": "no", "n": "no", "false": "no", "0": "no", "無": "no", "なし": "no", "無し": "no", "不可": "no",
          "unknown": "unknown", "不明": "unknown", "?": "unknown"}
_AVAILABILITY = {"offered": "offered", "提供中": "offered", "提供可": "offered", "利用可": "offered",
                 "on_request": "on_request", "on request": "on_request", "要相談": "on_request", "応相談": "on_request",
                 "partly_available": "partly_available", "partly available": "partly_available",
                 "一部利用可": "partly_available", "occupied": "occupied", "使用中": "occupied", "利用中": "occupied",
                 "reserved": "reserved", "自己利用予定": "reserved", "予約済": "reserved"}
_VISIBILITY = {"public": "public", "公開": "public", "carriers": "carriers", "事業者限定": "carriers",
               "restricted": "restricted", "非公開": "restricted", "制限": "restricted"}
_PERMIT = {"use_permit": "use_permit", "目的外使用許可": "use_permit", "行政財産目的外使用許可": "use_permit",
           "lease": "lease", "貸付": "lease", "賃貸借": "lease", "貸付契約": "lease", "other": "other",
           "その他": "other"}
_STATUS = {"draft": "draft", "下書き": "draft", "published": "published", "公開": "published",
           "withdrawn": "withdrawn", "取下げ": "withdrawn"}
_ENUMS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "power": (_POWER, ("yes", "no", "unknown")),
    "availability": (_AVAILABILITY, ("offered", "on_request", "partly_available", "occupied", "reserved")),
    "visibility": (_VISIBILITY, ("public", "carriers", "restricted")),
    "permit_type": (_PERMIT, ("use_permit", "lease", "other")),
    "status": (_STATUS, ("draft", "published", "withdrawn")),
}
# attribute: (lowest, highest exclusive upper bound from the numeric(p, s) column, inclusive maximum or None)
_NUMBERS: dict[str, tuple[float, float | None]] = {
    "position_accuracy_m": (0, 999_999.99), "height_m": (0, 1000), "mountable_height_m": (0, 1000),
    "spare_load_kg": (0, 999_999_999.9), "fibre_distance_m": (0, 999_999_999.9), "area_m2": (0, 9_999_999_999.99),
}
_INTEGERS: dict[str, tuple[int, int]] = {"current_tenants": (0, 2_147_483_647), "max_tenants": (0, 100)}
_TEXT_LIMITS = {"address": 500, "fee_rule": 1000, "contact": 500, "source": 500}
_CONSTRAINT_SPLIT = re.compile(r"\s*[;,、|]\s*")
_GEOM_NAMES = {1: "line", 2: "line", 4: "multi-point", 5: "multi-line", 7: "geometry collection"}

# Rows checked, copied and merged at a time: a loader writes one batch while the next is checked.
BATCH_ROWS = 100_000

# Staging table columns, in COPY order; see loaders.assets.
STAGING_COLUMNS = ("row_no", "municipality_code", "source_id", "category", "name", "address", "position_accuracy_m",
                   "height_m", "mountable_height_m", "spare_load_kg", "power", "fibre_distance_m", "area_m2",
                   "availability", "current_tenants", "max_tenants", "constraints", "fee_rule", "permit_type",
                   "contact", "source", "last_verified", "visibility", "status", "wkb")


@dataclass
class Issue:
    row: int
    """1-based number of the data row or feature (the CSV header is not counted)."""
    source_id: str | None
    severity: Literal["rejected", "warning"]
    reason: str


@dataclass
class Prepared:
    rows: int
    attributes: list[str]
    """Attributes this load sets (the mapping's); a re-load leaves the others as they are."""
    columns: dict[str, list[Any]]
    """Staging columns for the accepted rows, each a list (None for unmapped attributes)."""
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tenant: str | None = None
    """The one municipality every row belongs to, when the load is for one."""

    @property
    def accepted(self) -> int:
        return len(self.columns["row_no"])

    @property
    def rejected(self) -> int:
        return len({i.row for i in self.issues if i.severity == "rejected"})

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")

    def records(self) -> list[tuple]:
        return list(zip(*(self.columns[c] for c in STAGING_COLUMNS), strict=True))


class _Issues:
    def __init__(self, n: int) -> None:
        self.n = n
        self.rejected: dict[int, list[str]] = {}
        self.warned: dict[int, list[str]] = {}

    def reject(self, mask: np.ndarray | pd.Series, reason: str | Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.rejected.setdefault(int(i), []).append(reason(int(i)) if callable(reason) else reason)

    def warn(self, mask: np.ndarray | pd.Series, reason: str | Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.warned.setdefault(int(i), []).append(reason(int(i)) if callable(reason) else reason)

    def reject_at(self, i: int, reason: str) -> None:
        self.rejected.setdefault(int(i), []).append(reason)

    def warn_at(self, i: int, reason: str) -> None:
        self.warned.setdefault(int(i), []).append(reason)

    def ok(self) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        if self.rejected:
            mask[list(self.rejected)] = False
        return mask


def _text(series: pd.Series) -> pd.Series:
    """Any column as text, '' for missing; integral floats lose their '.0' (ids, codes). CSV cells were
    stripped when read; GDAL strips the padding of shapefile fields."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return series.fillna("") if series.hasnans else series
    if pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        if len(finite) and bool((finite == np.floor(finite)).all()) and bool((finite.abs() < 2**53).all()):
            series = series.astype("Int64")
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d").fillna("")
    return series.astype("string").fillna("").str.strip().astype(object)


def _number_for(text: pd.Series, raw: pd.Series | None) -> pd.Series:
    if raw is not None and pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    cleaned = text.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    cleaned = cleaned.str.replace(r"\s*(m|ｍ|メートル|kg|㎡|m2)$", "", regex=True)
    return pd.to_numeric(cleaned.where(cleaned != "", None), errors="coerce").astype(float)


def _nullable(values: pd.Series) -> list[Any]:
    return values.astype(object).where(values.notna(), None).tolist()


def prepare_in_batches(source: Source, mapping: Mapping, *, tenant: str | None, known: dict[str, str | None],
                       source_crs: int | None = None, batch_rows: int | None = None) -> Iterator[Prepared]:
    """`prepare` over consecutive slices of the file, so a loader can write one slice while the next is
    checked. Row numbers, repeated ids and the coordinate system are judged for the whole file."""
    n = len(source.table)
    if n == 0:
        raise LoadError(f"{source.name} contains no rows")
    notes = list(source.notes)
    if source.geometry is not None and source_crs is None and source.geometry.crs is None:
        notes.append(_undeclared_crs(np.asarray(source.geometry.values, dtype=object), source.name))
        source_crs = 4326
    first_rows: dict[str, int] = {}
    batch_rows = batch_rows or BATCH_ROWS
    for start in range(0, n, batch_rows):
        stop = min(start + batch_rows, n)
        part = Source(source.table.iloc[start:stop].reset_index(drop=True),
                      None if source.geometry is None else source.geometry.iloc[start:stop].reset_index(drop=True),
                      source.fmt, source.name, source.encoding, notes if start == 0 else [])
        yield prepare(part, mapping, tenant=tenant, known=known, source_crs=source_crs, first_row=start,
                      first_rows=first_rows)


def prepare(source: Source, mapping: Mapping, *, tenant: str | None, known: dict[str, str | None],
            source_crs: int | None = None, first_row: int = 0, first_rows: dict[str, int] | None = None) -> Prepared:
    """Validate and normalise every row. `known` maps every municipality and ward code to its parent city
    (None for a municipality); `tenant` is the municipality a load is for (None: codes from the file).
    For a slice of a file, `first_row` is the index of its first row in the file and `first_rows` maps every
    source id of the slices before to the row it first appeared in (it is extended with this slice's)."""
    table = source.table
    n = len(table)
    if n == 0:
        raise LoadError(f"{source.name} contains no rows")
    issues = _Issues(n)
    notes = list(source.notes)

    def raw(attr: str) -> pd.Series | None:
        names = mapping.columns.get(attr)
        if names:
            if len(names) == 1:
                return table[names[0]]
            parts = [_text(table[c]) for c in names]
            joined = parts[0]
            for p in parts[1:]:
                joined = joined.str.cat(p, sep=" ")
            return joined.str.strip()
        if attr in mapping.defaults:
            return pd.Series([mapping.defaults[attr]] * n, dtype=object)
        return None

    texts: dict[str, pd.Series | None] = {}

    def text(attr: str) -> pd.Series | None:
        if attr not in texts:
            r = raw(attr)
            texts[attr] = None if r is None else _text(r)
        return texts[attr]

    source_ids = text("source_id")
    assert source_ids is not None  # build_mapping insists on it
    sid = source_ids.tolist()

    def label(i: int) -> str:
        return sid[i]

    out: dict[str, list[Any]] = {}

    # Owner's id: present, bounded, unique within the file (a re-load matches on it).
    issues.reject(source_ids == "", "no id (source_id) in this row; a re-load could not find it again")
    issues.reject(source_ids.str.len() > 200, "source_id is longer than 200 characters")
    seen = {} if first_rows is None else first_rows
    for i, v in enumerate(sid):
        if v and (first := seen.setdefault(v, first_row + i)) != first_row + i:
            issues.reject_at(i, f"source_id {v!r} repeats row {first + 1}")

    # Municipality code: padded, check digit, a real municipality, and the one this load is for.
    codes = text("municipality_code")
    if codes is None:
        if tenant is None:
            raise LoadError("no municipality code column and no --tenant: name one or the other")
        code_values = [tenant] * n
    else:
        outcomes = {v: _code_outcome(v, tenant, known) for v in codes.unique()}
        code_list = codes.tolist()
        code_values = [outcomes[v][0] for v in code_list]
        for i, v in enumerate(code_list):
            _, warning, rejection = outcomes[v]
            if warning:
                issues.warn_at(i, warning)
            if rejection:
                issues.reject_at(i, rejection)
    out["municipality_code"] = code_values

    # Category.
    cat_text = text("category")
    assert cat_text is not None
    lowered = cat_text.str.lower().str.replace(" ", "_", regex=False)
    category = lowered.where(lowered.isin(CATEGORIES), cat_text.map(_CATEGORY_WORDS))
    category = category.where(category.notna(), lowered.map(_CATEGORY_WORDS))
    issues.reject(cat_text == "", "no category")
    cat_list = cat_text.tolist()
    issues.reject(category.isna() & (cat_text != ""),
                  lambda i: f"category {cat_list[i]!r} is not one of {', '.join(CATEGORIES)}")

    # Name and free text.
    names = text("name")
    assert names is not None
    issues.reject(names == "", "no name")
    issues.reject(names.str.len() > 500, "name is longer than 500 characters")
    out["name"] = names.tolist()
    for attr, limit in _TEXT_LIMITS.items():
        t = text(attr)
        if t is None:
            out[attr] = [None] * n
            continue
        issues.reject(t.str.len() > limit, f"{attr} is longer than {limit} characters")
        out[attr] = t.where(t != "", None).tolist()

    # Numbers with the ranges of the table's CHECK constraints and numeric precision.
    numbers: dict[str, pd.Series] = {}
    for attr, (low, high) in {**_NUMBERS, **_INTEGERS}.items():
        r = raw(attr)
        if r is None:
            out[attr] = [None] * n
            continue
        t = _text(r)
        values = _number_for(t, r)
        t_list = t.tolist()
        issues.reject(values.isna() & (t != ""), lambda i, a=attr, tl=t_list: f"{a} {tl[i]!r} is not a number")
        ok = values.notna()
        v_list = values.tolist()
        issues.reject(ok & ((values < low) | (values > high)),
                      lambda i, a=attr, lo=low, hi=high, vl=v_list: f"{a} {vl[i]:g} is outside {lo:g} to {hi:g}")
        if attr in _INTEGERS:
            issues.reject(ok & (values != np.floor(values)), lambda i, a=attr, vl=v_list: f"{a} {vl[i]:g} is not "
                          "a whole number")
            out[attr] = [None if v != v else int(v) for v in v_list]
        else:
            out[attr] = _nullable(values)
        numbers[attr] = values
    if "mountable_height_m" in numbers and "height_m" in numbers:
        issues.reject(numbers["mountable_height_m"] > numbers["height_m"],
                      "mountable_height_m is above height_m")
    if "current_tenants" in numbers:
        ceiling = numbers.get("max_tenants", pd.Series([1.0] * n)).fillna(1.0)
        issues.reject(numbers["current_tenants"].fillna(0) > ceiling,
                      "current_tenants exceeds max_tenants (1 unless the file gives max_tenants)")

    # Enumerations, with the Japanese words found in municipal spreadsheets.
    for attr, (words, allowed) in _ENUMS.items():
        t = text(attr)
        if t is None:
            out[attr] = [None] * n
            continue
        lowered = t.str.lower()
        mapped = lowered.map(words)
        t_list = t.tolist()
        issues.reject(mapped.isna() & (t != ""),
                      lambda i, a=attr, al=allowed, tl=t_list: f"{a} {tl[i]!r} is not one of {', '.join(al)}")
        out[attr] = _nullable(mapped)

    constraints = text("constraints")
    out["constraints"] = ([None] * n if constraints is None else
                          [[p for p in _CONSTRAINT_SPLIT.split(v) if p] if v else [] for v in constraints.tolist()])

    verified = raw("last_verified")
    if verified is None:
        out["last_verified"] = [None] * n
    else:
        t = _text(verified)
        parsed = pd.to_datetime(t.str.replace("/", "-", regex=False).str.slice(0, 10), format="%Y-%m-%d",
                                errors="coerce")
        t_list = t.tolist()
        issues.reject(parsed.isna() & (t != ""), lambda i: f"last_verified {t_list[i]!r} is not a date (YYYY-MM-DD)")
        out["last_verified"] = [None if pd.isna(d) else d.date() for d in parsed]

    geoms = _geometries(source, mapping, raw, issues, notes, source_crs, label)
    types = shapely.get_type_id(geoms)
    cat_values = category.tolist()
    polygon = (types == 3) | (types == 6)
    not_for_polygon = polygon & ~category.isin(POLYGON_CATEGORIES).to_numpy()
    issues.reject(not_for_polygon & category.notna().to_numpy(),
                  lambda i: f"a polygon is only for rooftop, land or park; a {cat_values[i]} is a point")
    out["category"] = cat_values

    keep = issues.ok()
    index = np.flatnonzero(keep)
    columns: dict[str, list[Any]] = {"row_no": (index + first_row + 1).tolist(), "source_id": [sid[i] for i in index]}
    for attr in STAGING_COLUMNS:
        if attr in ("row_no", "source_id", "wkb"):
            continue
        values = out[attr]
        attr_set = attr in mapping.columns or attr in mapping.defaults or attr in ("municipality_code", "category",
                                                                                   "name")
        columns[attr] = [values[i] for i in index] if attr_set else [None] * len(index)
    columns["wkb"] = shapely.to_wkb(geoms[keep]).tolist() if len(index) else []

    found: list[Issue] = []
    for i in sorted(set(issues.rejected) | set(issues.warned)):
        for reason in issues.rejected.get(i, []):
            found.append(Issue(first_row + i + 1, sid[i] or None, "rejected", reason))
        for reason in issues.warned.get(i, []):
            found.append(Issue(first_row + i + 1, sid[i] or None, "warning", reason))
    return Prepared(n, mapping.attributes, columns, found, notes, tenant)


def _geometries(source: Source, mapping: Mapping, raw: Callable[[str], pd.Series | None], issues: _Issues,
                notes: list[str], source_crs: int | None, label: Callable[[int], str]) -> np.ndarray:
    """Every row's geometry in EPSG:4326 (None where rejected), repaired and swapped where unambiguous."""
    n = issues.n
    if source.geometry is None:
        lat_raw, lon_raw = raw("latitude"), raw("longitude")
        assert lat_raw is not None and lon_raw is not None
        lat_t, lon_t = _text(lat_raw), _text(lon_raw)
        lat, lon = _number_for(lat_t, lat_raw), _number_for(lon_t, lon_raw)
        missing = (lat_t == "") | (lon_t == "")
        issues.reject(missing, "no latitude/longitude")
        lat_l, lon_l = lat_t.tolist(), lon_t.tolist()
        issues.reject(~missing & (lat.isna() | lon.isna()),
                      lambda i: f"latitude/longitude {lat_l[i]!r}, {lon_l[i]!r} are not numbers")
        good = lat.notna() & lon.notna()
        geoms = np.full(n, None, dtype=object)
        geoms[good.to_numpy()] = shapely.points(lon[good].to_numpy(), lat[good].to_numpy())
        crs = CRS.from_epsg(source_crs) if source_crs else WGS84
    else:
        geoms = np.asarray(source.geometry.values, dtype=object).copy()
        crs = CRS.from_epsg(source_crs) if source_crs else source.geometry.crs
        if crs is None:
            notes.append(_undeclared_crs(geoms, source.name))
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
    if shapely.has_z(geoms).any():
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
                  "or a polygon for a rooftop, land or park")
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

    bounds = shapely.bounds(geoms)
    present = ~np.isnan(bounds[:, 0])
    west, south, east, north = JAPAN

    def inside(b: np.ndarray) -> np.ndarray:
        return (b[:, 0] >= west) & (b[:, 2] <= east) & (b[:, 1] >= south) & (b[:, 3] <= north)

    outside = present & ~inside(bounds)
    if geographic and outside.any():
        points = outside & (shapely.get_type_id(geoms) == 0)
        idx = np.flatnonzero(points)
        swapped = shapely.points(shapely.get_y(geoms[idx]), shapely.get_x(geoms[idx]))
        fixable = inside(shapely.bounds(swapped))
        for i, g in zip(idx[fixable], swapped[fixable], strict=True):
            issues.warn_at(i, f"latitude and longitude were swapped; read as lat {g.y:.6f}, "
                        f"lon {g.x:.6f}")
            geoms[i] = g
        bounds = shapely.bounds(geoms)
        outside = present & ~inside(bounds)
    b_list = bounds.tolist()
    hint = "" if geographic else "; is the coordinate system right? (--source-crs)"
    issues.reject(outside, lambda i: f"outside Japan (lon {b_list[i][0]:.6g}, lat {b_list[i][1]:.6g}){hint}")
    geoms[outside] = None
    return geoms


def _undeclared_crs(geoms: np.ndarray, name: str) -> str:
    """The note for a file without a coordinate system whose coordinates are degrees; LoadError otherwise."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if xmin >= -180 and xmax <= 180 and ymin >= -90 and ymax <= 90:
        return ("the file declares no coordinate system; its coordinates look like degrees, "
                "read as EPSG:4326 (pass --source-crs if they are not)")
    raise LoadError(f"{name} declares no coordinate system and its coordinates are not degrees; "
                    "name it with --source-crs, e.g. 6677 for JGD2011 zone IX (Tokyo)")


def _code_outcome(value: str, tenant: str | None, known: dict[str, str | None]) -> tuple[str | None, str | None,
                                                                                         str | None]:
    """(code, warning, rejection) for one distinct value of the municipality-code column."""
    if value == "":
        return (tenant, None, None) if tenant else (None, None, "no municipality code in this row")
    warning = None
    if len(value) == 5 and value.isdigit():
        # Five digits: a six-digit code that lost its leading zero, or a code without its check digit.
        padded, completed = value.zfill(6), with_check_digit(value)
        readings = [c for c in (padded, completed) if is_valid(c) and c in known]
        if len(readings) == 2:
            return None, None, (f"municipality code {value} is ambiguous ({padded} or {completed}); "
                                "write all six digits")
        if not readings:
            return None, None, f"municipality code {value} is neither {padded} nor {completed} in the reference list"
        code = readings[0]
        warning = (f"municipality code {value} lost its leading zero; read as {code}" if code == padded
                   else f"municipality code {value} has no check digit; read as {code}")
    else:
        try:
            code = normalise(value)
        except CodeError as exc:
            return None, None, f"municipality code: {exc}"
    if is_prefecture(code):
        return None, warning, f"{code} is a prefecture code; assets belong to a municipality"
    if code not in known:
        return None, warning, f"{code} is not a municipality in the reference list"
    parent = known[code]
    if tenant is not None and code != tenant:
        if parent == tenant:
            return tenant, f"ward {code} recorded under its city {tenant}", None
        return None, warning, f"the row belongs to municipality {code}; this load is for {tenant}"
    if parent:
        return None, warning, f"{code} is a ward; record its assets under the city {parent}"
    return code, warning, None
