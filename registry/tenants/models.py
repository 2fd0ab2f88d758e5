from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import msgspec

from registry.i18n import tr
from registry.problems import invalid_field
from registry.types import Email

# The carriers table's CHECK says the same; the pattern here answers 422 before the database is asked.
CARRIER_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,31}$"

GeoJSON = Annotated[msgspec.Raw, msgspec.Meta(description="GeoJSON geometry (RFC 7946), written by PostGIS")]


class Prefecture(msgspec.Struct):
    code: str
    number: str
    name: str
    kana: str
    name_en: str
    iso_code: str


class Municipality(msgspec.Struct):
    code: str
    prefecture_code: str
    name: str
    kana: str
    kind: str
    parent_code: str | None
    town_hall: GeoJSON | None


class MunicipalityPage(msgspec.Struct):
    items: list[Municipality]
    next: str | None
    total: int | None = None


class PrefecturePage(msgspec.Struct):
    items: list[Prefecture]


class MunicipalitySettings(msgspec.Struct):
    municipality_code: str
    decision_days: int
    information_days: int
    contact_name: str | None
    contact_email: str | None
    version: int
    updated_at: datetime | None


class MunicipalitySettingsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    decision_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    information_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 10
    contact_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    contact_email: Email | None = None


class Carrier(msgspec.Struct):
    carrier_code: str
    name: str
    name_en: str | None
    contact_email: str | None


def parse_carrier_code(value: str, field: str) -> str:
    if not re.fullmatch(CARRIER_CODE_PATTERN, value):
        raise invalid_field(field, tr("{value} is not a carrier code (2-32 lower-case letters, digits and "
                                      "hyphens, e.g. docomo)",
                                      value=f"{value!r}"))
    return value


class CarrierCreate(msgspec.Struct, forbid_unknown_fields=True):
    carrier_code: Annotated[str, msgspec.Meta(pattern=CARRIER_CODE_PATTERN,
                                              description="lower-case letters, digits and hyphens")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    name_en: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    contact_email: Email | None = None


class CarrierPage(msgspec.Struct):
    items: list[Carrier]
