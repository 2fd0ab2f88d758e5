"""Request and response shapes of the asset catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Category = Literal["rooftop", "land", "structure", "streetlight", "traffic_signal", "utility_pole", "bus_stop",
                   "subway_entrance", "park", "signage", "other"]
Availability = Literal["offered", "on_request", "partly_available", "occupied", "reserved"]
Visibility = Literal["public", "carriers", "restricted"]
Power = Literal["yes", "no", "unknown"]
PermitType = Literal["use_permit", "lease", "other"]
Status = Literal["draft", "published", "withdrawn"]

CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
AVAILABILITIES: tuple[str, ...] = Availability.__args__  # type: ignore[attr-defined]
POLYGON_CATEGORIES = frozenset({"rooftop", "land", "park"})

Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3, description="[longitude, latitude]")]
Ring = Annotated[list[Position], msgspec.Meta(min_length=4)]


class Point(msgspec.Struct, tag_field="type", tag="Point", forbid_unknown_fields=True):
    coordinates: Position


class Polygon(msgspec.Struct, tag_field="type", tag="Polygon", forbid_unknown_fields=True):
    coordinates: Annotated[list[Ring], msgspec.Meta(min_length=1)]


class MultiPolygon(msgspec.Struct, tag_field="type", tag="MultiPolygon", forbid_unknown_fields=True):
    coordinates: Annotated[list[Annotated[list[Ring], msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]


Geometry = Point | Polygon | MultiPolygon
Metres = Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
Text = Annotated[str, msgspec.Meta(max_length=500)]


class AssetFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything a municipality says about an asset (the server adds ids, version and times)."""

    source_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="the owner's own id")]
    category: Category
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    geometry: Geometry
    address: Text | None = None
    position_accuracy_m: Metres | None = None
    height_m: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None = None
    mountable_height_m: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None = None
    spare_load_kg: Metres | None = None
    power: Power = "unknown"
    fibre_distance_m: Metres | None = None
    area_m2: Annotated[float, msgspec.Meta(ge=0, le=1e9)] | None = None
    availability: Availability = "offered"
    current_tenants: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    max_tenants: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    constraints: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=20)] = []
    fee_rule: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    permit_type: PermitType | None = None
    contact: Text | None = None
    source: Text | None = None
    last_verified: dt.date | None = None
    visibility: Visibility = "carriers"
    status: Literal["draft", "published"] = "published"


class AssetCreate(AssetFields, kw_only=True, forbid_unknown_fields=True):
    municipality_code: Annotated[str, msgspec.Meta(description="admins name the owner; others own what they create")
                                 ] | None = None


class AssetPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Only the fields sent change; send null to clear an optional field."""

    source_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    category: Category | msgspec.UnsetType = msgspec.UNSET
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | msgspec.UnsetType = msgspec.UNSET
    geometry: Geometry | msgspec.UnsetType = msgspec.UNSET
    address: Text | msgspec.UnsetType | None = msgspec.UNSET
    position_accuracy_m: Metres | msgspec.UnsetType | None = msgspec.UNSET
    height_m: Annotated[float, msgspec.Meta(ge=0, le=1000)] | msgspec.UnsetType | None = msgspec.UNSET
    mountable_height_m: Annotated[float, msgspec.Meta(ge=0, le=1000)] | msgspec.UnsetType | None = msgspec.UNSET
    spare_load_kg: Metres | msgspec.UnsetType | None = msgspec.UNSET
    power: Power | msgspec.UnsetType = msgspec.UNSET
    fibre_distance_m: Metres | msgspec.UnsetType | None = msgspec.UNSET
    area_m2: Annotated[float, msgspec.Meta(ge=0, le=1000000000.0)] | msgspec.UnsetType | None = msgspec.UNSET
    availability: Availability | msgspec.UnsetType = msgspec.UNSET
    current_tenants: Annotated[int, msgspec.Meta(ge=0, le=100)] | msgspec.UnsetType = msgspec.UNSET
    max_tenants: Annotated[int, msgspec.Meta(ge=0, le=100)] | msgspec.UnsetType = msgspec.UNSET
    constraints: list[Annotated[str, msgspec.Meta(max_length=200)]] | msgspec.UnsetType = msgspec.UNSET
    fee_rule: Annotated[str, msgspec.Meta(max_length=1000)] | msgspec.UnsetType | None = msgspec.UNSET
    permit_type: PermitType | msgspec.UnsetType | None = msgspec.UNSET
    contact: Text | msgspec.UnsetType | None = msgspec.UNSET
    source: Text | msgspec.UnsetType | None = msgspec.UNSET
    last_verified: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    visibility: Visibility | msgspec.UnsetType = msgspec.UNSET
    status: Literal["draft", "published"] | msgspec.UnsetType = msgspec.UNSET


GeoJSONRaw = Annotated[msgspec.Raw, msgspec.Meta(description="GeoJSON geometry written by PostGIS")]


class AssetProperties(msgspec.Struct, kw_only=True):
    asset_id: str
    municipality_code: str
    source_id: str
    category: str
    name: str
    address: str | None
    coarse_location: bool
    position_accuracy_m: float | None
    height_m: float | None
    mountable_height_m: float | None
    spare_load_kg: float | None
    power: str
    fibre_distance_m: float | None
    area_m2: float | None
    availability: str
    current_tenants: int
    max_tenants: int
    constraints: list[str]
    fee_rule: str | None
    permit_type: str | None
    contact: str | None
    source: str | None
    last_verified: dt.date | None
    visibility: str
    status: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    distance_m: float | None = None


class AssetFeature(msgspec.Struct, kw_only=True, tag="Feature", tag_field="type"):
    id: str
    geometry: GeoJSONRaw
    properties: AssetProperties


class Link(msgspec.Struct):
    href: str
    rel: str
    type: str = "application/geo+json"


class AssetCollection(msgspec.Struct, kw_only=True, tag="FeatureCollection", tag_field="type", omit_defaults=True):
    features: list[AssetFeature]
    links: list[Link] = []
    numberReturned: int = 0
    numberMatched: int | None = None
    next: str | None = None


class AssetSearchBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The POST form of the search, for `within` polygons too large for a URL."""

    within: Polygon | MultiPolygon
    category: list[Category] | None = None
    availability: list[Availability] | None = None
    min_height: Annotated[float, msgspec.Meta(ge=0, le=1000)] | None = None
    power: Power | None = None
    max_fibre_distance: Metres | None = None
    municipality: str | None = None
    prefecture: str | None = None
    updated_since: dt.datetime | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    after: str | None = None


class AssetChange(msgspec.Struct, kw_only=True):
    change: str
    op: Literal["created", "updated", "withdrawn"]
    asset_id: str
    municipality_code: str
    version: int
    at: dt.datetime
    feature: AssetFeature | None
    """The asset as it is now; null when it is withdrawn or no longer visible to you."""


class ChangePage(msgspec.Struct):
    changes: list[AssetChange]
    cursor: str
    """Pass as `after` next time; unchanged when there was nothing new."""
    next: str | None


class StatRow(msgspec.Struct):
    key: str
    label: str | None
    count: int


class AssetStats(msgspec.Struct):
    group_by: str
    total: int
    groups: list[StatRow]


class AssetVersion(msgspec.Struct):
    version: int
    op: Literal["create", "update", "withdraw"]
    actor_role: str
    actor_tenant: str | None
    at: dt.datetime
    state: Annotated[msgspec.Raw, msgspec.Meta(description="the whole asset as this change left it")]


class AssetHistory(msgspec.Struct):
    asset_id: str
    versions: list[AssetVersion]
