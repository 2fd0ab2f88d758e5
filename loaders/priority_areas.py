"""5G priority areas (重点整備エリア) from GeoJSON polygons, per prefecture.

Each feature needs a name; its kind comes from a `kind` property or the load's default kind; its
id from `source_id`/`id`, else kind and name, so a re-load updates instead of duplicating. Written
through the API role (admin or the prefecture itself), all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from loaders.formats import LoadError, read_source
from loaders.geometries import WGS84
from registry.assets.rules import JAPAN
from registry.i18n import tr

KINDS = ("commercial_district", "major_station", "municipal_office", "disaster_hospital", "temporary_stay",
         "evacuation_park", "walk_home_road")
_KIND_WORDS = {"商業地域": "commercial_district", "繁華街": "commercial_district", "主要駅": "major_station",
               "駅": "major_station", "市区町村庁舎": "municipal_office", "庁舎": "municipal_office",
               "災害拠点病院": "disaster_hospital", "一時滞在施設": "temporary_stay", "避難場所": "evacuation_park",
               "避難公園": "evacuation_park", "帰宅支援道路": "walk_home_road", "徒歩帰宅道路": "walk_home_road"}

_UPSERT = """
with up as (
  insert into priority_areas as p (prefecture_code, kind, name, source_id, geom)
  select $1, k, n, s, ST_Multi(ST_GeomFromWKB(g, 4326))
    from unnest($2::text[], $3::text[], $4::text[], $5::bytea[]) as t(k, n, s, g)
  on conflict (prefecture_code, source_id) do update
     set kind = excluded.kind, name = excluded.name, geom = excluded.geom, version = p.version + 1,
         updated_at = now()
   where (p.kind, p.name) is distinct from (excluded.kind, excluded.name) or p.geom is distinct from excluded.geom
  returning (xmax = 0) as inserted)
select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated
  from up
"""


@dataclass
class AreaRow:
    kind: str
    name: str
    source_id: str
    geom: MultiPolygon


@dataclass
class AreaReport:
    features: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.features} features: {self.inserted} inserted, {self.updated} updated, "
                f"{self.unchanged} unchanged")


def _prop(row: dict, *names: str) -> str:
    for n in names:
        value = row.get(n)
        if value is not None and value == value and str(value).strip():
            return str(value).strip()
    return ""


def _polygonal(geom: BaseGeometry | None) -> tuple[MultiPolygon | None, str | None]:
    if geom is None or geom.is_empty:
        return None, "no geometry"
    geom = shapely.force_2d(geom)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None, f"a {geom.geom_type} is not an area; give a polygon (buffer roads into corridors first)"
    if not geom.is_valid:
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        if fixed.geom_type != geom.geom_type or not fixed.is_valid:
            return None, f"invalid polygon ({shapely.is_valid_reason(geom)}) without an unambiguous repair"
        geom = fixed
    west, south, east, north = JAPAN.west, JAPAN.south, JAPAN.east, JAPAN.north
    minx, miny, maxx, maxy = geom.bounds
    if minx < west or maxx > east or miny < south or maxy > north:
        return None, "outside Japan"
    return (MultiPolygon([geom]) if isinstance(geom, Polygon) else geom), None


def read_areas(path: Path, kind: str | None) -> tuple[list[AreaRow], AreaReport]:
    source = read_source(path)
    if source.geometry is None:
        raise LoadError(tr("{file} has no geometry; priority areas come as GeoJSON polygons", file=path.name))
    geoms = source.geometry
    if geoms.crs is not None and not geoms.crs.equals(WGS84):
        geoms = geoms.to_crs(WGS84)
    report = AreaReport(features=len(source.table))
    rows: list[AreaRow] = []
    seen: dict[str, int] = {}
    records = source.table.to_dict("records")
    for i, (props, geom) in enumerate(zip(records, np.asarray(geoms.values, dtype=object), strict=True), start=1):
        raw_kind = _prop(props, "kind", "種別") or (kind or "")
        this_kind = raw_kind if raw_kind in KINDS else _KIND_WORDS.get(raw_kind, "")
        name = _prop(props, "name", "名称")
        polygon, why = _polygonal(geom)
        if not this_kind:
            why = (f"kind {raw_kind!r} is not one of {', '.join(KINDS)}" if raw_kind
                   else "no kind; give a `kind` property or --kind")
        elif not name:
            why = "no name"
        source_id = _prop(props, "source_id", "id", "ID") or f"{this_kind}:{name}"
        if why is None and source_id in seen:
            why = f"id {source_id!r} repeats feature {seen[source_id]}"
        if why is not None or polygon is None:
            report.rejected.append((i, why or "no geometry"))
            continue
        seen[source_id] = i
        rows.append(AreaRow(this_kind, name[:500], source_id, polygon))
    return rows, report


async def load_priority_areas(conn: asyncpg.Connection, path: Path, prefecture_code: str,
                              kind: str | None = None, dry_run: bool = False) -> AreaReport:
    """Upsert the file's areas for one prefecture; any rejected feature stores nothing."""
    if kind is not None and kind not in KINDS:
        raise LoadError(tr("--kind {kind} is not one of {kinds}", kind=repr(kind), kinds=", ".join(KINDS)))
    rows, report = read_areas(path, kind)
    if report.rejected or not rows:
        if not rows and not report.rejected:
            raise LoadError(tr("{file} contains no areas", file=path.name))
        return report
    return await store_areas(conn, prefecture_code, rows, report, dry_run)


async def store_areas(conn: asyncpg.Connection, prefecture_code: str, rows: list[AreaRow],
                      report: AreaReport, dry_run: bool = False) -> AreaReport:
    tx = conn.transaction()
    await tx.start()
    try:
        row = await conn.fetchrow(_UPSERT, prefecture_code, [r.kind for r in rows], [r.name for r in rows],
                                  [r.source_id for r in rows], [shapely.to_wkb(r.geom) for r in rows])
    except BaseException:
        await tx.rollback()
        raise
    if dry_run:
        await tx.rollback()
    else:
        await tx.commit()
    report.inserted, report.updated = row["inserted"], row["updated"]
    report.unchanged = len(rows) - report.inserted - report.updated
    return report
