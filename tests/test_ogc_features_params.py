"""/ogc parameters parsed without a database: CRSs, axis order, boxes and time intervals."""

from __future__ import annotations

import datetime as dt

import pytest
from pyproj import CRS

from registry.ogc.crs import CRS84, EPSG, OFFERED, parse_crs
from registry.ogc.params import items_query, parse_datetime
from registry.problems import Problem


def test_offered_crs_axis_order_agrees_with_the_epsg_registry() -> None:
    assert len(OFFERED) == 4 + 19
    for uri, crs in OFFERED.items():
        if uri == CRS84:
            assert not crs.north_first and crs.srid == 4326
            continue
        axes = CRS.from_epsg(int(uri.removeprefix(EPSG))).axis_info
        assert crs.north_first == (axes[0].direction == "north"), uri
        assert crs.degrees == (axes[0].unit_name == "degree"), uri


def test_crs_spellings_and_refusal() -> None:
    assert parse_crs(None).uri == CRS84
    assert parse_crs("EPSG:6677") == parse_crs("[EPSG:6677]") == parse_crs(EPSG + "6677")
    with pytest.raises(Problem) as caught:
        parse_crs(EPSG + "2451", "bbox-crs")
    assert caught.value.status == 422 and "6669" in caught.value.detail


def _assets(**kw):
    return items_query(collection="assets", crs=None, datetime=None, **kw)


def test_bbox_follows_the_axis_order_of_its_crs() -> None:
    lonlat = _assets(bbox="139.7,35.6,139.8,35.7", bbox_crs=None)
    latlon = _assets(bbox="35.6,139.7,35.7,139.8", bbox_crs="EPSG:4326")
    assert lonlat.bbox == latlon.bbox == (139.7, 35.6, 139.8, 35.7)
    plane = _assets(bbox="-36000,-12000,-35000,-11000", bbox_crs="EPSG:6677")
    assert plane.bbox == (-12000, -36000, -11000, -35000)  # stored as (east, north)
    with pytest.raises(Problem):
        _assets(bbox="139.7,35.6,139.8,35.7", bbox_crs="EPSG:4326")
    with pytest.raises(Problem):
        _assets(bbox="-35000,-12000,-36000,-11000", bbox_crs="EPSG:6677")


def test_datetime_instants_and_intervals() -> None:
    utc = dt.UTC
    assert parse_datetime("2025-04-01T00:00:00Z/..") == (dt.datetime(2025, 4, 1, tzinfo=utc), None)
    assert parse_datetime("/2025-04-01T09:00:00+09:00") == (None, dt.datetime(2025, 4, 1, tzinfo=utc))
    start, end = parse_datetime("2025-04-01")
    assert start == dt.datetime(2025, 4, 1, tzinfo=utc) and end - start == dt.timedelta(days=1, microseconds=-1)
    for wrong in ("..", "../..", "2025-04-01T00:00:00", "2025-05-01/2025-04-01", "soon"):
        with pytest.raises(Problem):
            parse_datetime(wrong)
