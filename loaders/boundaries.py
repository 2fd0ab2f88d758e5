"""Municipal boundaries from 国土数値情報 N03 (administrative areas) GeoJSON.

N03 has one feature per island or exclave, so features are dissolved per code into one
MultiPolygon. N03_007 carries the five-digit code without its check digit (and sometimes without
its leading zero); features without a code (所属未定地, disputed areas) are skipped and counted.
Reference data: written with the migrating connection, not through the API role.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from loaders.formats import LoadError, read_source
from loaders.geometries import WGS84
from registry.codes import CodeError, normalise, with_check_digit
from registry.i18n import message_of, tr

_UPSERT = """
insert into municipality_boundaries (code, geom, source)
values ($1, ST_Multi(ST_GeomFromWKB($2, 4326)), $3)
on conflict (code) do update set geom = excluded.geom, source = excluded.source, loaded_at = now()
 where municipality_boundaries.geom is distinct from excluded.geom
    or municipality_boundaries.source is distinct from excluded.source
"""


@dataclass
class BoundaryReport:
    features: int
    loaded: int = 0
    codes: list[str] = field(default_factory=list)
    without_code: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    cities_from_wards: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.features:,} features", f"{self.loaded:,} municipalities loaded"]
        if self.cities_from_wards:
            parts.append(f"{len(self.cities_from_wards)} designated cities dissolved from their wards")
        if self.without_code:
            parts.append(f"{self.without_code} features without a code skipped (所属未定地)")
        if self.unknown_codes:
            parts.append(f"codes not in the reference list skipped: {', '.join(self.unknown_codes)}")
        return "; ".join(parts)


def _multipolygon(geom: BaseGeometry) -> MultiPolygon:
    if not geom.is_valid:
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    if not parts:
        raise LoadError(tr("a boundary dissolved to no polygon"))
    return MultiPolygon(parts)


def dissolve(path: Path, known: dict[str, str | None]) -> tuple[dict[str, MultiPolygon], BoundaryReport]:
    """Polygons per municipality code (and per designated city, from its wards) in EPSG:4326."""
    source = read_source(path)
    if source.geometry is None:
        raise LoadError(tr("{file} has no geometry; N03 comes as GeoJSON or a shapefile", file=path.name))
    if "N03_007" not in source.table.columns:
        raise LoadError(tr("{file} has no N03_007 (administrative area code) property; is it an N03 file?",
                           file=path.name))
    geoms = source.geometry
    if geoms.crs is not None and not geoms.crs.equals(WGS84):
        geoms = geoms.to_crs(WGS84)
    report = BoundaryReport(features=len(source.table))
    grouped: dict[str, list[BaseGeometry]] = defaultdict(list)
    unknown: set[str] = set()
    for raw, geom in zip(source.table["N03_007"].tolist(), np.asarray(geoms.values, dtype=object), strict=True):
        text = "" if raw is None or raw != raw else str(raw).strip()
        if not text or geom is None or geom.is_empty:
            report.without_code += 1
            continue
        try:
            # N03_007 is the five-digit code without its check digit; numeric columns lose the leading zero.
            code = normalise(with_check_digit(text.zfill(5)) if len(text) <= 5 else text)
        except CodeError as exc:
            raise LoadError(tr("N03_007 {value}: {error}", value=repr(text), error=message_of(exc))) from exc
        if code not in known:
            unknown.add(code)
            continue
        grouped[code].append(geom)
    result = {code: _multipolygon(shapely.union_all(parts)) for code, parts in grouped.items()}
    # A designated city's N03 features are its wards; the city's own boundary is their union.
    by_city: dict[str, list[MultiPolygon]] = defaultdict(list)
    for code, geom in result.items():
        parent = known.get(code)
        if parent:
            by_city[parent].append(geom)
    for city, parts in by_city.items():
        if city not in result:
            result[city] = _multipolygon(shapely.union_all(parts))
            report.cities_from_wards.append(city)
    report.unknown_codes = sorted(unknown)
    return result, report


async def load_boundaries(conn: asyncpg.Connection, path: Path, source: str | None = None) -> BoundaryReport:
    """Upsert every municipality found in the file, in one transaction (owner connection)."""
    known = {r[0]: r[1] for r in await conn.fetch("select code::text, parent_code::text from municipalities")}
    polygons, report = dissolve(path, known)
    label = source or f"国土数値情報 N03 ({path.name})"
    async with conn.transaction():
        await conn.executemany(_UPSERT, [(code, shapely.to_wkb(g), label) for code, g in sorted(polygons.items())])
    report.loaded = len(polygons)
    report.codes = sorted(polygons)
    return report
