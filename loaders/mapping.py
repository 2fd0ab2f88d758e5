"""Which source column feeds which asset attribute: defaults by header name, overridable per load.

A mapping file is JSON, either flat ``{"name": "名称", "address": ["住所", "方書"]}`` or
``{"columns": {...}, "defaults": {"category": "rooftop"}}``; a list of columns is joined with a
space. ``defaults`` are constants for attributes the file does not carry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from loaders.formats import LoadError
from registry.assets.export_columns import TABLE as EXPORT_TABLE
from registry.i18n import tr

# Attributes a file may feed; latitude/longitude only for files without a geometry column (CSV).
ATTRIBUTES = (
    "source_id", "municipality_code", "category", "name", "address", "position_accuracy_m", "height_m",
    "mountable_height_m", "spare_load_kg", "power", "fibre_distance_m", "area_m2", "availability",
    "current_tenants", "max_tenants", "constraints", "fee_rule", "permit_type", "contact", "source",
    "last_verified", "visibility", "status",
)
COORDINATES = ("latitude", "longitude")

# 推奨データセット 公共施設一覧 (24 columns) and 自治体標準オープンデータセット 公共施設一覧.
RECOMMENDED = "推奨データセット 公共施設一覧"
STANDARD = "自治体標準オープンデータセット 公共施設一覧"
_RECOMMENDED_COLUMNS = {"都道府県コード又は市区町村コード", "NO", "名称", "緯度", "経度"}
_STANDARD_COLUMNS = {"全国地方公共団体コード", "ID", "名称", "緯度", "経度"}

# One Japanese header per attribute: what a clerk's sheet, and the registry's own XLSX and CSV exports, call
# each column, so that an exported sheet loads back as it is (issue 14's round trip).
# One header per attribute: the Japanese column names of the registry's own export (registry/assets/export_columns.py,
# their one home), so that an exported sheet loads back as it is; status, which an export of the catalogue
# does not carry, is named here.
HEADERS_JA: dict[str, str] = {
    **{c.key: c.ja for c in EXPORT_TABLE if c.key in (*ATTRIBUTES, *COORDINATES)}, "status": "状態"}
assert set(HEADERS_JA) == {*ATTRIBUTES, *COORDINATES}

# Header names that mean an attribute, tried in order (matched without regard to case).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "source_id": ("source_id", "id", "asset_id_source", "no", "番号", "管理番号", "整理番号"),
    "municipality_code": ("municipality_code", "lgcode", "全国地方公共団体コード", "都道府県コード又は市区町村コード",
                          "市区町村コード", "団体コード"),
    "category": ("category", "種別", "資産種別", "分類"),
    "name": ("name", "名称", "施設名"),
    "address": ("address", "住所", "所在地", "所在地_全体", "所在地_連結表記"),
    "height_m": ("height_m", "height", "高さ", "高さ(m)"),
    "area_m2": ("area_m2", "area", "面積", "面積(m2)", "面積(㎡)"),
    "contact": ("contact", "連絡先", "電話番号"),
    "latitude": ("latitude", "lat", "緯度", "y座標(緯度)"),
    "longitude": ("longitude", "lon", "lng", "long", "経度", "x座標(経度)"),
}
_SYNONYMS = {a: (*_SYNONYMS.get(a, (a,)), HEADERS_JA[a]) for a in HEADERS_JA}


@dataclass
class Mapping:
    columns: dict[str, list[str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    layout: str | None = None
    publish: bool = False
    """New assets are drafts unless the load says publish (CLI --publish, upload publish=true); with it, every
    row without a status of its own is published, new or existing (held rows excepted: loaders.validate)."""
    joiners: dict[str, list[str]] = field(default_factory=dict)
    """What goes between an attribute's consecutive columns, where not a space."""
    fallbacks: dict[str, list[str]] = field(default_factory=dict)
    """Columns joined without a space that stand in for an attribute's first column where its cell is blank."""

    @property
    def infers_category(self) -> bool:
        """No category column and no constant: each row's category is inferred from its name (loaders.words)."""
        return "category" not in self.columns and "category" not in self.defaults

    @property
    def attributes(self) -> list[str]:
        """The attributes this load sets; the others keep their stored values on update."""
        return [a for a in ATTRIBUTES if a in self.columns or a in self.defaults]


def detect_layout(columns: list[str]) -> str | None:
    present = set(columns)
    if present >= _STANDARD_COLUMNS:
        return STANDARD
    if present >= _RECOMMENDED_COLUMNS:
        return RECOMMENDED
    return None


# 自治体標準 公共施設一覧: the address in one column, else in parts that read as one when joined without a
# space (東京都 + 新宿区 + 歌舞伎町一丁目 + 4番1号), then the building (方書) after a space.
_JOINED_ADDRESS = ("所在地_連結表記", "所在地_全体", "住所")
_ADDRESS_PARTS = ("所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下")
_BUILDING = ("建物名等(方書)", "建物名等（方書）", "方書")


def _layout_columns(layout: str, present: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]],
                                                              dict[str, list[str]]]:
    has = set(present)
    if layout == RECOMMENDED:
        cols = {"source_id": ["NO"], "municipality_code": ["都道府県コード又は市区町村コード"], "name": ["名称"],
                "address": [c for c in ("住所", "方書") if c in has], "latitude": ["緯度"], "longitude": ["経度"],
                "contact": ["電話番号"] if "電話番号" in has else []}
        return {k: v for k, v in cols.items() if v}, {}, {}
    joined = next((c for c in _JOINED_ADDRESS if c in has), None)
    parts = [c for c in _ADDRESS_PARTS if c in has]
    address = [joined] if joined else parts
    building = [c for c in _BUILDING if c in has][:1]
    cols = {"source_id": ["ID"], "municipality_code": ["全国地方公共団体コード"], "name": ["名称"],
            "address": address + building, "latitude": ["緯度"], "longitude": ["経度"],
            "contact": ["電話番号"] if "電話番号" in has else [],
            "height_m": ["高さ"] if "高さ" in has else []}
    joiners = {"address": [""] * (len(address) - 1) + [" "] * len(building)} if len(address) > 1 else {}
    # A file may fill the joined column for some rows and only the parts for others.
    fallbacks = {"address": parts} if joined and parts else {}
    return {k: v for k, v in cols.items() if v}, joiners, fallbacks


def default_mapping(present: list[str], has_geometry: bool) -> Mapping:
    """Columns matched by header name: the two standard layouts, else our own names and common synonyms.
    Neither layout has a category column: each row's category is inferred from its name (loaders.words)."""
    layout = detect_layout(present)
    if layout is not None:
        columns, joiners, fallbacks = _layout_columns(layout, present)
        return Mapping(columns, {"source": layout}, layout, joiners=joiners, fallbacks=fallbacks)
    lower = {c.lower(): c for c in present}
    columns: dict[str, list[str]] = {}
    for attr in (*ATTRIBUTES, *COORDINATES):
        if has_geometry and attr in COORDINATES:
            continue
        for candidate in (*_SYNONYMS.get(attr, ()), attr):
            if candidate.lower() in lower:
                columns[attr] = [lower[candidate.lower()]]
                break
    return Mapping(columns, {}, None)


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        attr, sep, value = pair.partition("=")
        if not sep or not attr.strip():
            raise LoadError(tr("{what} {pair}: write attribute=value, e.g. name=名称", what=what, pair=repr(pair)))
        out[attr.strip()] = value.strip()
    return out


def read_mapping_file(path: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise LoadError(tr("mapping file {path}: {error}", path=str(path), error=str(exc))) from exc
    if not isinstance(doc, dict):
        raise LoadError(tr("mapping file {path}: expected a JSON object of attribute: column", path=str(path)))
    raw_columns = doc.get("columns", {} if "defaults" in doc else doc)
    defaults = doc.get("defaults", {})
    if not isinstance(raw_columns, dict) or not isinstance(defaults, dict):
        raise LoadError(tr("mapping file {path}: 'columns' and 'defaults' are JSON objects", path=str(path)))
    columns: dict[str, list[str]] = {}
    for attr, value in raw_columns.items():
        names = value if isinstance(value, list) else [value]
        if not all(isinstance(n, str) for n in names):
            raise LoadError(tr("mapping file {path}: {attr} must name a column or a list of columns",
                               path=str(path), attr=attr))
        columns[str(attr)] = names
    return columns, {str(k): str(v) for k, v in defaults.items()}


def build_mapping(present: list[str], has_geometry: bool, columns: dict[str, list[str]] | None = None,
                  defaults: dict[str, str] | None = None, *, publish: bool = False) -> Mapping:
    """Defaults by header name, then the caller's columns and constants on top; checks every name."""
    mapping = default_mapping(present, has_geometry)
    mapping.publish = publish
    for attr, names in (columns or {}).items():
        if attr not in ATTRIBUTES and attr not in COORDINATES:
            raise LoadError(tr("unknown attribute {attr} in the mapping; attributes are {attributes}, "
                               "latitude, longitude",
                               attr=repr(attr), attributes=", ".join(ATTRIBUTES)))
        missing = [n for n in names if n not in present]
        if missing:
            raise LoadError(tr("mapping {attr}: the file has no column {missing}; its columns are {columns}",
                               attr=attr, missing=", ".join(map(repr, missing)), columns=", ".join(present)))
        mapping.columns[attr] = list(names)
        mapping.defaults.pop(attr, None)
        mapping.joiners.pop(attr, None)
        mapping.fallbacks.pop(attr, None)
    for attr, value in (defaults or {}).items():
        if attr not in ATTRIBUTES:
            raise LoadError(tr("unknown attribute {attr} for a default; attributes are {attributes}",
                               attr=repr(attr), attributes=", ".join(ATTRIBUTES)))
        mapping.defaults[attr] = value
    if "source_id" not in mapping.columns:
        raise LoadError(tr("no column holds the owner's id (source_id), which a re-load matches on; name one with "
                           "--map source_id=COLUMN (columns: {columns})", columns=", ".join(present)))
    if "name" not in mapping.columns and "name" not in mapping.defaults:
        raise LoadError(tr("no column holds the asset name; name one with --map name=COLUMN (columns: {columns})",
                           columns=", ".join(present)))
    if publish and "status" not in mapping.columns and "status" not in mapping.defaults:
        mapping.defaults["status"] = "published"
    if not has_geometry and not all(c in mapping.columns for c in COORDINATES):
        raise LoadError(tr("the file has no geometry and no latitude/longitude columns; name them with "
                           "--map latitude=COLUMN --map longitude=COLUMN (columns: {columns})",
                           columns=", ".join(present)))
    return mapping
