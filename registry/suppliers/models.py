"""Supplier organisations: request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from registry.types import Email

CorporateNumber = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$",
                                              description="法人番号: 13 digits, the first a check digit")]


class SupplierCreate(msgspec.Struct, forbid_unknown_fields=True):
    corporate_number: CorporateNumber
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    name_en: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    contact_email: Email | None = None


class Supplier(msgspec.Struct, frozen=True):
    corporate_number: str
    name: str
    name_en: str | None
    contact_email: str | None
    created_at: datetime


class SupplierPage(msgspec.Struct):
    items: list[Supplier]
