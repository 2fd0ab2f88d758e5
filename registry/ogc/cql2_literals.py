"""Literals inside a CQL2 filter (registry/ogc/cql2.py): dates, BBOX and GeoJSON geometries, checked
before PostGIS sees them, each problem a 422 on `filter` (split from cql2.py, which passed 400 lines
when its messages became tr(...) calls, issue 14)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import shapely

from registry.i18n import tr
from registry.problems import invalid_field


def _bad(message: str) -> Exception:
    return invalid_field("filter", message)


def _temporal(kind: str, text: str, prop: str) -> dt.date:
    """cql2 has already normalised a TIMESTAMP to UTC (a trailing Z), so a timestamp is never naive here."""
    try:
        return dt.datetime.fromisoformat(text) if kind == "timestamp" else dt.date.fromisoformat(text)
    except ValueError as exc:
        example = "TIMESTAMP('2024-04-01T09:00:00Z')" if kind == "timestamp" else "DATE('2024-04-01')"
        raise _bad(tr("{text} is not a {kind} for {prop}; write e.g. {example}",
                      text=f"{text!r}", kind=kind, prop=prop, example=example)) from exc


def _bbox_polygon(box: Any) -> dict[str, Any]:
    if not isinstance(box, list) or len(box) not in (4, 6) or not all(isinstance(v, int | float) for v in box):
        raise _bad(tr("BBOX takes 4 numbers: min longitude, min latitude, max longitude, max latitude"))
    w, s, e, n = (box[0], box[1], box[2], box[3]) if len(box) == 4 else (box[0], box[1], box[3], box[4])
    if w >= e or s >= n:
        raise _bad(tr("BBOX is min longitude, min latitude, max longitude, max latitude, with min < max"))
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _check_coordinates(geometry: dict[str, Any]) -> None:
    stack: list[Any] = [geometry.get("coordinates", []), *geometry.get("geometries", [])]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend([item.get("coordinates", []), *item.get("geometries", [])])
        elif isinstance(item, list) and item and all(isinstance(v, int | float) for v in item):
            lon, lat = item[0], item[1] if len(item) > 1 else 0
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                hint = tr(" (latitude first? give longitude first)") if -90 <= lon <= 90 < abs(lat) <= 180 else ""
                raise _bad(tr("the position ({lon} {lat}) is outside longitude -180..180, latitude "
                              "-90..90{hint}", lon=lon, lat=lat, hint=hint))
        elif isinstance(item, list):
            stack.extend(item)


def _valid_geojson(geometry: dict[str, Any]) -> str:
    """PostGIS answers an unclosed ring with an internal error (a 500); say what is wrong instead."""
    text = json.dumps(geometry)
    try:
        parsed = shapely.from_geojson(text)
    except shapely.errors.GEOSException as exc:
        raise _bad(tr("the {geometry} cannot be read: {exc}", geometry=geometry['type'], exc=exc)) from exc
    if not parsed.is_valid:
        raise _bad(tr("the {geometry} is not valid: {parsed}",
                      geometry=geometry['type'], parsed=shapely.is_valid_reason(parsed)))
    return text
