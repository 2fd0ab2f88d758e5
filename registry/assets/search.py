"""Search parameters → a validated filter, pure. The SQL that runs it is in queries.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import msgspec
import shapely
from shapely.geometry import shape

from registry.assets import rules
from registry.assets.models import MultiPolygon, Polygon
from registry.assets.rules import AVAILABILITIES, CATEGORIES, JAPAN, MAX_RADIUS_M, MAX_WITHIN_VERTICES, NUMBERS, POWER
from registry.i18n import tr
from registry.params import parse_code, parse_instant, parse_prefecture_number
from registry.problems import invalid_field

SpatialMode = Literal["none", "bbox", "near", "within"]
MAX_ADDRESS_TEXT = rules.TEXTS["address"][1]
ADDRESS = ("part of the address, any case (`%` and `_` match only themselves); restricted assets you see masked "
           "have no address, so this never finds them")


@dataclass(frozen=True)
class SearchFilter:
    mode: SpatialMode = "none"
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None
    within_geojson: str | None = None
    categories: list[str] | None = None
    availabilities: list[str] | None = None
    min_height: float | None = None
    power: str | None = None
    max_fibre_distance: float | None = None
    municipality: str | None = None
    prefecture: str | None = None
    updated_since: dt.datetime | None = None
    min_mountable_height: float | None = None
    min_spare_load: float | None = None
    min_free_slots: int | None = None
    address_pattern: str | None = None
    """An ILIKE pattern: the address text with `\\`, `%` and `_` escaped, between two `%`."""


def in_japan(lon: float, lat: float) -> bool:
    """Inside Japan's envelope; anything outside is a mistake, often swapped axes."""
    return JAPAN.contains(lon, lat)


def check_position(field: str, lon: float, lat: float) -> None:
    """Reject a position outside Japan, saying so plainly when longitude and latitude are swapped."""
    if in_japan(lon, lat):
        return
    if in_japan(lat, lon):
        raise invalid_field(field, tr("({lon}, {lat}) looks like latitude, longitude; give longitude "
                                      "first, e.g. {lat},{lon}",
                                      lon=lon, lat=lat))
    raise invalid_field(field, tr("({lon}, {lat}) is outside Japan (longitude {west}-{east}, latitude "
                                  "{south}-{north})",
                                  lon=lon, lat=lat, west=JAPAN.west, east=JAPAN.east, south=JAPAN.south,
                                  north=JAPAN.north))


def _numbers(field: str, text: str, count: int) -> list[float]:
    parts = text.split(",")
    if len(parts) != count:
        raise invalid_field(field, tr("needs {count} comma-separated numbers, got {part_count}",
                                      count=count, part_count=len(parts)))
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise invalid_field(field, tr("{text} has a part that is not a number", text=f"{text!r}")) from exc
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise invalid_field(field, tr("numbers must be finite"))
    return values


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = _numbers("bbox", text, 4)
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        if -90 <= minx <= 90 and -90 <= maxx <= 90:
            raise invalid_field("bbox", tr("latitudes beyond ±90: the order is min longitude, min "
                                           "latitude, max longitude, max latitude"))
        raise invalid_field("bbox", tr("coordinates must be longitude -180..180 and latitude -90..90"))
    if minx >= maxx or miny >= maxy:
        raise invalid_field("bbox", tr("the order is min longitude, min latitude, max longitude, max "
                                       "latitude, with min < max"))
    return minx, miny, maxx, maxy


def parse_near(text: str) -> tuple[float, float]:
    lon, lat = _numbers("near", text, 2)
    check_position("near", lon, lat)
    return lon, lat


def check_radius(radius: float | None) -> float:
    if radius is None:
        raise invalid_field("radius", tr("is required with near=lon,lat (metres, 1 to {max_radius_m})",
                                         max_radius_m=f"{MAX_RADIUS_M:,}"))
    if not 1 <= radius <= MAX_RADIUS_M:
        raise invalid_field("radius", tr("{radius} m is out of range: use 1 to {max_radius_m} metres",
                                         radius=f"{radius:g}", max_radius_m=f"{MAX_RADIUS_M:,}"))
    return radius


def count_vertices(geometry: Polygon | MultiPolygon) -> int:
    polygons = [geometry.coordinates] if isinstance(geometry, Polygon) else geometry.coordinates
    return sum(len(ring) for polygon in polygons for ring in polygon)


def parse_within(value: str | Polygon | MultiPolygon, field: str = "within") -> str:
    """A GeoJSON Polygon/MultiPolygon, checked for shape and size, re-encoded for PostGIS."""
    if isinstance(value, str):
        try:
            geometry = msgspec.json.decode(value, type=Polygon | MultiPolygon)
        except msgspec.DecodeError as exc:
            raise invalid_field(field, tr("is not a GeoJSON Polygon or MultiPolygon: {exc}", exc=exc)) from exc
    else:
        geometry = value
    vertices = count_vertices(geometry)
    if vertices > MAX_WITHIN_VERTICES:
        raise invalid_field(field, tr("has {vertices} vertices; simplify it to at most "
                                      "{max_within_vertices}",
                                      vertices=f"{vertices:,}", max_within_vertices=f"{MAX_WITHIN_VERTICES:,}"))
    _check_valid(geometry, field)
    return msgspec.json.encode(geometry).decode()


def _check_valid(geometry: Polygon | MultiPolygon, field: str) -> None:
    """PostGIS cannot intersect with an invalid polygon (overlapping holes, a ring crossing itself): it
    would fail inside the query, so the polygon is checked here and the fix named."""
    try:
        polygon = shape(msgspec.to_builtins(geometry))
        reason = None if polygon.is_valid else shapely.is_valid_reason(polygon)
    except (ValueError, shapely.errors.GEOSException) as exc:
        reason = str(exc)
    if reason is not None:
        raise invalid_field(field, tr("is not a valid polygon ({reason}): rings must not cross themselves "
                                      "or each other, and holes must lie inside the outer ring without "
                                      "overlapping; repair it (QGIS: Vector > Geometry Tools > Fix "
                                      "Geometries; PostGIS: ST_MakeValid) and send it again",
                                      reason=reason))


def _choices(field: str, text: list[str] | str | None, allowed: tuple[str, ...]) -> list[str] | None:
    if text is None:
        return None
    items = text if isinstance(text, list) else text.split(",")
    values = [v.strip() for v in items if v.strip()]
    wrong = [v for v in values if v not in allowed]
    if wrong:
        raise invalid_field(field, tr("unknown value {wrong}; choose from {allowed}",
                                      wrong=f"{wrong[0]!r}", allowed=', '.join(allowed)))
    return values or None


def _at_least(field: str, value: float | None, column: str, unit: str) -> float | None:
    """A minimum compared with `column`: within the values the column can hold (rules.NUMBERS)."""
    bounds = NUMBERS[column]
    if value is not None and not bounds.low <= value <= bounds.high:
        raise invalid_field(field, tr("must be {low} to {high} {unit}",
                                      low=f"{bounds.low:,g}", high=f"{bounds.high:,g}", unit=unit))
    if value is not None and bounds.integer and value != int(value):
        raise invalid_field(field, tr("must be a whole number of {unit}, e.g. {value}", unit=unit, value=int(value)))
    return value


def address_pattern(text: str | None) -> str | None:
    """`text` as an ILIKE pattern matching any address containing it: its own `%` and `_` match only
    themselves (a `50%` in the box finds `50%`, not every address with `50`)."""
    if text is None:
        return None
    wanted = text.strip()
    if not wanted:
        raise invalid_field("address", tr("is empty; give part of an address, e.g. 千代田区丸の内"))
    if len(wanted) > MAX_ADDRESS_TEXT:
        raise invalid_field("address", tr("is {wanted_count} characters; an address holds at most "
                                          "{max_address_text}",
                                          wanted_count=len(wanted), max_address_text=MAX_ADDRESS_TEXT))
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def build_filter(
    *,
    bbox: str | None = None,
    near: str | None = None,
    radius: float | None = None,
    within: str | Polygon | MultiPolygon | None = None,
    category: list[str] | str | None = None,
    availability: list[str] | str | None = None,
    min_height: float | None = None,
    power: str | None = None,
    max_fibre_distance: float | None = None,
    municipality: str | None = None,
    prefecture: str | None = None,
    updated_since: str | dt.datetime | None = None,
    min_mountable_height: float | None = None,
    min_spare_load: float | None = None,
    min_free_slots: int | None = None,
    address: str | None = None,
) -> SearchFilter:
    spatial = [name for name, value in (("bbox", bbox), ("near", near), ("within", within)) if value is not None]
    if len(spatial) > 1:
        raise invalid_field(spatial[1], tr("use one of bbox, near or within, not {spatial}",
                                           spatial=' and '.join(spatial)))
    if radius is not None and near is None:
        raise invalid_field("radius", tr("goes with near=lon,lat"))
    if power is not None and power not in POWER:
        raise invalid_field("power", tr("choose from {power}", power=', '.join(POWER)))
    height = NUMBERS["height_m"]
    if min_height is not None and not height.low <= min_height <= height.high:
        raise invalid_field("min_height", tr("must be {low} to {high} metres",
                                             low=f"{height.low:,g}", high=f"{height.high:,g}"))
    fibre = NUMBERS["fibre_distance_m"]
    if max_fibre_distance is not None and not fibre.low <= max_fibre_distance <= fibre.high:
        raise invalid_field("max_fibre_distance", tr("must be {low} to {high} metres",
                                                     low=f"{fibre.low:,g}", high=f"{fibre.high:,g}"))
    code = parse_code(municipality, "municipality") if municipality is not None else None
    pref = parse_prefecture_number(prefecture)
    common = dict(
        categories=_choices("category", category, CATEGORIES),
        availabilities=_choices("availability", availability, AVAILABILITIES),
        min_height=min_height, power=power, max_fibre_distance=max_fibre_distance,
        municipality=code, prefecture=pref, updated_since=parse_instant(updated_since, "updated_since"),
        min_mountable_height=_at_least("min_mountable_height", min_mountable_height, "mountable_height_m", "metres"),
        min_spare_load=_at_least("min_spare_load", min_spare_load, "spare_load_kg", "kg"),
        # Free slots are max_tenants - current_tenants: at most max_tenants' own bound (100).
        min_free_slots=_at_least("min_free_slots", min_free_slots, "max_tenants", "slots"),
        address_pattern=address_pattern(address),
    )
    if bbox is not None:
        return SearchFilter(mode="bbox", bbox=parse_bbox(bbox), **common)
    if near is not None:
        return SearchFilter(mode="near", near=parse_near(near), radius_m=check_radius(radius), **common)
    if within is not None:
        return SearchFilter(mode="within", within_geojson=parse_within(within), **common)
    return SearchFilter(**common)
