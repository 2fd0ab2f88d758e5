"""5G priority areas (重点整備エリア) and their coverage by offered assets."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from registry.assets.models import GeoJSONRaw, Link, MultiPolygon, Polygon

# What counts as on offer in a priority area: coverage's default, and the OGC coverage-gaps collection.
COUNTED_AS_OFFERED: tuple[str, ...] = ("offered", "partly_available")

AreaKind = Literal["commercial_district", "major_station", "municipal_office", "disaster_hospital", "temporary_stay",
                   "evacuation_park", "walk_home_road"]


class AreaCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    kind: AreaKind
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    geometry: Polygon | MultiPolygon
    source_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    prefecture_code: Annotated[str, msgspec.Meta(description="admins name the prefecture")] | None = None


class AreaProperties(msgspec.Struct, kw_only=True):
    area_id: str
    prefecture_code: str
    kind: str
    name: str
    source_id: str | None
    version: int
    updated_at: dt.datetime


class AreaFeature(msgspec.Struct, kw_only=True, tag="Feature", tag_field="type"):
    id: str
    geometry: GeoJSONRaw
    properties: AreaProperties


class AreaCollection(msgspec.Struct, kw_only=True, tag="FeatureCollection", tag_field="type", omit_defaults=True):
    features: list[AreaFeature]
    links: list[Link] = []
    next: str | None = None


class AreaCoverage(msgspec.Struct):
    area_id: str
    prefecture_code: str
    kind: str
    name: str
    assets: int
    """Assets with one of the counted availabilities inside the area or within `distance` of it."""


class CoverageReport(msgspec.Struct):
    distance_m: float
    availability: list[str]
    areas: list[AreaCoverage]
    gaps: list[AreaCoverage]
    """The areas with no such asset: where carriers and prefectures must act."""
