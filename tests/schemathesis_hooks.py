"""How schemathesis makes values of this API's own formats (registry/openapi_answers.py).

A local government code carries a check digit and a prefecture number 01-47; a bbox and a point lie
in Japan; a source CRS is an EPSG code. Without these, every generated value of such a parameter is
"schema-valid" but meaningless, and the API's correct 422 would count as a finding. Keyset cursors
(`after`) are issued by the server alone, so generated requests start from the first page; tests of
crafted cursors live beside each list's tests.
"""

from __future__ import annotations

import datetime as dt
import json

import schemathesis
from hypothesis import strategies as st

from registry.codes import with_check_digit
from registry.suppliers.corporate_number import check_digit

_prefecture = st.integers(1, 47)
schemathesis.openapi.format(
    "jisx0402", st.builds(lambda p, m: with_check_digit(f"{p:02d}{m:03d}"), _prefecture, st.integers(100, 999)))
# 法人番号: 12 digits and the NTA check digit in front (registry/suppliers/corporate_number.py).
schemathesis.openapi.format("corporate-number", st.integers(0, 10**12 - 1).map(
    lambda n: f"{check_digit(f'{n:012d}')}{n:012d}"))
# A keyset cursor is issued by the server alone; generated requests start from the first page.
schemathesis.openapi.format("keyset-cursor", st.just(""))
# A public address needs no DNS lookup (the test machine may have none); nothing is sent to it.
schemathesis.openapi.format("webhook-url", st.sampled_from(["https://1.1.1.1/kyodo-hook", "http://8.8.8.8/hook"]))
# RFC 3339 date-times as clients send them (msgspec refuses some that hypothesis makes, like year 0).
schemathesis.openapi.format("date-time", st.datetimes(min_value=dt.datetime(1900, 1, 1),
                                                      max_value=dt.datetime(2200, 1, 1),
                                                      timezones=st.just(dt.UTC)).map(dt.datetime.isoformat))
# OGC API - Features `datetime`: an instant, or an interval with `..` for an open end (registry/ogc/params.py).
_instant = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                        timezones=st.just(dt.UTC)).map(dt.datetime.isoformat)
schemathesis.openapi.format("ogc-datetime", st.one_of(
    _instant, st.builds(lambda a: f"{a}/..", _instant), st.builds(lambda b: f"../{b}", _instant),
    st.builds(lambda a, b: f"{min(a, b)}/{max(a, b)}", _instant, _instant)))
schemathesis.openapi.format("bbox", st.builds(
    lambda lon, lat, w, h: f"{lon:.4f},{lat:.4f},{lon + w:.4f},{lat + h:.4f}",
    st.floats(139.5, 139.9), st.floats(35.5, 35.8), st.floats(0.001, 0.05), st.floats(0.001, 0.05)))
schemathesis.openapi.format("lonlat", st.builds(lambda lon, lat: f"{lon:.5f},{lat:.5f}",
                                                 st.floats(130.0, 141.0), st.floats(31.0, 43.0)))


def _square(lon: float, lat: float, d: float) -> str:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [[[round(x, 4), round(y, 4)] for x, y in ring]]})


schemathesis.openapi.format("geojson-polygon", st.builds(_square, st.floats(139.5, 139.9), st.floats(35.5, 35.8),
                                                         st.floats(0.001, 0.05)))
# A CQL2 text filter on what every /ogc collection can filter: its name and its geometry.
_word = st.text(alphabet="abcxyz区駅公園0123", min_size=0, max_size=6)
_cql2_part = st.one_of(
    st.just("name IS NULL"), st.builds(lambda w: f"name = '{w}'", _word),
    st.builds(lambda w: f"name LIKE '%{w}%'", _word),
    st.builds(lambda lon, lat, d: f"S_INTERSECTS(geometry, BBOX({lon:.4f}, {lat:.4f}, {lon + d:.4f}, {lat + d:.4f}))",
              st.floats(139.5, 139.9), st.floats(35.5, 35.8), st.floats(0.001, 0.05)))
schemathesis.openapi.format("cql2", st.one_of(
    _cql2_part, st.builds(lambda a, op, b: f"({a}) {op} ({b})", _cql2_part, st.sampled_from(["AND", "OR"]), _cql2_part),
    st.builds(lambda a: f"NOT ({a})", _cql2_part)))
schemathesis.openapi.format("crs", st.sampled_from(["EPSG:6668", "6677", "EPSG:4326", "EPSG:6677"]))


def _given(query: dict, name: str) -> bool:
    return query.get(name) not in (None, "")


@schemathesis.hook
def filter_query(ctx, query):
    """Constraints between parameters that OpenAPI cannot state: one spatial filter at a time, and
    `near` and `radius` together or not at all (GET /v1/assets); a text filter is not CQL2 JSON (/ogc)."""
    if not query:
        return True
    if sum(_given(query, k) for k in ("bbox", "near", "within")) > 1:
        return False
    if _given(query, "filter") and query.get("filter-lang") == "cql2-json":
        return False  # the generated filters are CQL2 text
    return _given(query, "radius") == _given(query, "near")


@schemathesis.hook
def filter_path_parameters(ctx, path_parameters):
    """A tile's x and y run from 0 to 2^z - 1 at zoom z (either may end in .pbf or .mvt)."""
    z = (path_parameters or {}).get("z")
    if not isinstance(z, int) or not 0 <= z <= 22:
        return True
    return all(_tile_index(path_parameters.get(k)) < 2**z for k in ("x", "y"))


def _tile_index(value) -> int:
    text = str(value).removesuffix(".pbf").removesuffix(".mvt")
    return int(text) if text.isdigit() else -1


# EPSG:4326 and JGD2011 (6668) put latitude first: a box in those bbox-crs is (lat, lon, lat, lon).
_LATITUDE_FIRST = ("http://www.opengis.net/def/crs/EPSG/0/4326", "http://www.opengis.net/def/crs/EPSG/0/6668")


@schemathesis.hook
def map_query(ctx, query):
    """A generated bbox is longitude first; /ogc reads it in its bbox-crs's axis order."""
    if query and query.get("bbox-crs") in _LATITUDE_FIRST and _given(query, "bbox"):
        x1, y1, x2, y2 = query["bbox"].split(",")
        query["bbox"] = ",".join((y1, x1, y2, x2))
    return query
