"""Request and response shapes of the asset catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from registry.assets import rules

Category = Literal[rules.CATEGORIES]  # type: ignore[valid-type]
Availability = Literal[rules.AVAILABILITIES]  # type: ignore[valid-type]
Visibility = Literal[rules.VISIBILITIES]  # type: ignore[valid-type]
Power = Literal[rules.POWER]  # type: ignore[valid-type]
PermitType = Literal[rules.PERMIT_TYPES]  # type: ignore[valid-type]
WritableStatus = Literal[rules.WRITABLE_STATUSES]  # type: ignore[valid-type]

CATEGORIES = rules.CATEGORIES
AVAILABILITIES = rules.AVAILABILITIES
POLYGON_CATEGORIES = frozenset(rules.POLYGON_CATEGORIES)


def _bounded(attr: str) -> object:
    """The msgspec type of a numeric attribute, with the bounds of its rule."""
    r = rules.NUMBERS[attr]
    return Annotated[int if r.integer else float, msgspec.Meta(ge=r.low, le=r.high)]


def _text(attr: str) -> object:
    low, high = rules.TEXTS[attr]
    return Annotated[str, msgspec.Meta(min_length=low, max_length=high)] if low else \
        Annotated[str, msgspec.Meta(max_length=high)]


SourceId = _text("source_id")
Name = _text("name")
Address = _text("address")
FeeRule = _text("fee_rule")
Contact = _text("contact")
SourceText = _text("source")
Accuracy = _bounded("position_accuracy_m")
Height = _bounded("height_m")
MountableHeight = _bounded("mountable_height_m")
SpareLoad = _bounded("spare_load_kg")
FibreDistance = _bounded("fibre_distance_m")
Area = _bounded("area_m2")
MaxTenants = _bounded("max_tenants")
Constraint = Annotated[str, msgspec.Meta(max_length=rules.MAX_CONSTRAINT_LENGTH)]
Constraints = Annotated[list[Constraint], msgspec.Meta(max_length=rules.MAX_CONSTRAINTS)]

Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3, description="[longitude, latitude]")]
Ring = Annotated[list[Position], msgspec.Meta(min_length=4)]


class Point(msgspec.Struct, tag_field="type", tag="Point", forbid_unknown_fields=True):
    coordinates: Position


class Polygon(msgspec.Struct, tag_field="type", tag="Polygon", forbid_unknown_fields=True):
    coordinates: Annotated[list[Ring], msgspec.Meta(min_length=1)]


class MultiPolygon(msgspec.Struct, tag_field="type", tag="MultiPolygon", forbid_unknown_fields=True):
    coordinates: Annotated[list[Annotated[list[Ring], msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]


Geometry = Point | Polygon | MultiPolygon


class AssetFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything a municipality says about an asset (the server adds ids, version and times)."""

    source_id: Annotated[SourceId, msgspec.Meta(description="the owner's own id")]  # type: ignore[valid-type]
    category: Category
    name: Name  # type: ignore[valid-type]
    geometry: Geometry
    address: Address | None = None  # type: ignore[valid-type]
    position_accuracy_m: Accuracy | None = None  # type: ignore[valid-type]
    height_m: Height | None = None  # type: ignore[valid-type]
    mountable_height_m: MountableHeight | None = None  # type: ignore[valid-type]
    spare_load_kg: SpareLoad | None = None  # type: ignore[valid-type]
    power: Power = "unknown"
    fibre_distance_m: FibreDistance | None = None  # type: ignore[valid-type]
    area_m2: Area | None = None  # type: ignore[valid-type]
    availability: Availability = "offered"
    max_tenants: MaxTenants = 1  # type: ignore[valid-type]
    constraints: Constraints = []  # type: ignore[valid-type]
    fee_rule: FeeRule | None = None  # type: ignore[valid-type]
    permit_type: PermitType | None = None
    contact: Contact | None = None  # type: ignore[valid-type]
    source: SourceText | None = None  # type: ignore[valid-type]
    last_verified: dt.date | None = None
    visibility: Visibility = "carriers"
    status: WritableStatus = "published"


class AssetCreate(AssetFields, kw_only=True, forbid_unknown_fields=True):
    municipality_code: Annotated[str, msgspec.Meta(description="admins name the owner; others own what they create")
                                 ] | None = None


class AssetPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Only the fields sent change; send null to clear an optional field."""

    source_id: SourceId | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    category: Category | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    geometry: Geometry | msgspec.UnsetType = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    position_accuracy_m: Accuracy | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    height_m: Height | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    mountable_height_m: MountableHeight | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    spare_load_kg: SpareLoad | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    power: Power | msgspec.UnsetType = msgspec.UNSET
    fibre_distance_m: FibreDistance | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    area_m2: Area | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    availability: Availability | msgspec.UnsetType = msgspec.UNSET
    max_tenants: MaxTenants | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    constraints: Constraints | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    fee_rule: FeeRule | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    permit_type: PermitType | msgspec.UnsetType | None = msgspec.UNSET
    contact: Contact | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    source: SourceText | msgspec.UnsetType | None = msgspec.UNSET  # type: ignore[valid-type]
    last_verified: dt.date | msgspec.UnsetType | None = msgspec.UNSET
    visibility: Visibility | msgspec.UnsetType = msgspec.UNSET
    status: WritableStatus | msgspec.UnsetType = msgspec.UNSET


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
    min_height: Height | None = None  # type: ignore[valid-type]
    power: Power | None = None
    max_fibre_distance: FibreDistance | None = None  # type: ignore[valid-type]
    municipality: str | None = None
    prefecture: str | None = None
    updated_since: dt.datetime | None = None
    min_mountable_height: MountableHeight | None = None  # type: ignore[valid-type]
    min_spare_load: SpareLoad | None = None  # type: ignore[valid-type]
    min_free_slots: MaxTenants | None = None  # type: ignore[valid-type]
    address: Address | None = None  # type: ignore[valid-type]
    limit: Annotated[int, msgspec.Meta(description="1 to the server's page limit (KYODO_PAGE_LIMIT)")] = 100
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
