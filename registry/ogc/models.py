"""The documents /ogc answers with (OGC API - Features Part 1 and 2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from registry.assets.models import GeoJSONRaw


class OgcLink(msgspec.Struct, omit_defaults=True):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(msgspec.Struct):
    title: str
    description: str
    links: list[OgcLink]


class Conformance(msgspec.Struct):
    conformsTo: list[str]


class Extent(msgspec.Struct):
    spatial: dict[str, Any]
    temporal: dict[str, Any]


class Collection(msgspec.Struct, omit_defaults=True):
    id: str
    title: str
    description: str
    links: list[OgcLink]
    extent: Extent
    itemType: str
    crs: list[str]
    storageCrs: str


class Collections(msgspec.Struct):
    links: list[OgcLink]
    collections: list[Collection]


class OgcFeature(msgspec.Struct, kw_only=True, tag="Feature", tag_field="type", omit_defaults=True):
    id: str
    geometry: GeoJSONRaw
    properties: dict[str, Any]
    links: list[OgcLink] = []


class OgcFeatureCollection(msgspec.Struct, kw_only=True, tag="FeatureCollection", tag_field="type",
                           omit_defaults=True):
    features: list[OgcFeature]
    links: list[OgcLink]
    timeStamp: dt.datetime
    numberReturned: int
    numberMatched: int | None = None
