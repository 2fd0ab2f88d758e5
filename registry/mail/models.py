from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from registry.webhooks.catalogue import EventTypeName

# Shape only (an @ with something either side); whether the address takes mail, the mail server says.
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, extra_json_schema={"format": "email"})]
Types = Annotated[list[EventTypeName], msgspec.Meta(max_length=50)]


class ContactCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    language: Literal["ja", "en"] = "ja"
    digest: Annotated[bool, msgspec.Meta(description="one mail a day instead of one per event")] = False
    event_types: Annotated[Types, msgspec.Meta(description="empty: every type but asset.*")] = []
    unsubscribed: Annotated[Types, msgspec.Meta(description="event types this address never gets")] = []
    this_key: Annotated[bool, msgspec.Meta(description="the contact of the calling key, not the whole tenant")] = False


class ContactUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email | None = None
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    language: Literal["ja", "en"] | None = None
    digest: bool | None = None
    event_types: Types | None = None
    unsubscribed: Types | None = None


class Contact(msgspec.Struct, kw_only=True):
    contact_id: str
    tenant_code: str
    key_id: str | None
    email: str
    name: str | None
    language: str
    digest: bool
    event_types: list[str]
    unsubscribed: list[str]
    version: int
    created_at: dt.datetime


class ContactPage(msgspec.Struct):
    items: list[Contact]
    next: str | None


class Outgoing(msgspec.Struct, frozen=True):
    """A mail the worker is to send."""

    delivery_id: int
    email: str
    name: str | None
    language: str
    event_type: str
    data: dict
