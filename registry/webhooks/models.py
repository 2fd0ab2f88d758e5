from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from registry.webhooks.catalogue import EventTypeName

# `webhook-url`: an http(s) URL whose host resolves to public addresses only (registry/webhooks/guard.py).
Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2000, description="https://... receiving POSTs",
                                  extra_json_schema={"format": "webhook-url"})]
Types = Annotated[list[EventTypeName],
                  msgspec.Meta(max_length=50, description="event types or families ('application.*'); "
                                                          "empty: every type your key may hear of")]
Prefectures = Annotated[list[Annotated[str, msgspec.Meta(pattern="^[0-9]{2}$")]],
                        msgspec.Meta(max_length=47, description="two-digit prefecture numbers; empty: all")]
Bbox = Annotated[list[float], msgspec.Meta(min_length=4, max_length=4,
                                           description="area filter: [west, south, east, north] in degrees")]


class SubscriptionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    event_types: Types = []
    prefectures: Prefectures = []
    bbox: Bbox | None = None
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class SubscriptionUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url | None = None
    event_types: Types | None = None
    prefectures: Prefectures | None = None
    bbox: Bbox | None = None
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    paused: bool | None = None


class Subscription(msgspec.Struct, kw_only=True):
    subscription_id: str
    tenant_code: str
    url: str
    event_types: list[str]
    prefectures: list[str]
    bbox: list[float] | None
    description: str | None
    status: Literal["active", "paused", "failing"]
    failing_since: dt.datetime | None
    version: int
    created_at: dt.datetime
    secret: str | None = None
    """Shown once: when the subscription is created and when the secret is rotated."""


class SubscriptionPage(msgspec.Struct):
    items: list[Subscription]
    next: str | None


class Delivery(msgspec.Struct, kw_only=True):
    delivery_id: int
    event_id: int
    webhook_id: str
    type: str
    subject: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int | None
    last_error: str | None
    delivered_at: dt.datetime | None
    occurred_at: dt.datetime


class DeliveryPage(msgspec.Struct):
    items: list[Delivery]
    next: str | None


class Redelivery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    delivery_ids: Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]], msgspec.Meta(max_length=1000,
                                                    description="empty: every failed delivery")] = []


class Redelivered(msgspec.Struct):
    redelivered: int


class Pending(msgspec.Struct, frozen=True):
    """One delivery the worker is about to make, with what it signs."""

    delivery_id: int
    event_id: int
    type: str
    subject: str
    data: bytes
    occurred_at: dt.datetime
    attempts: int
    first_attempt_at: dt.datetime | None


class Target(msgspec.Struct, frozen=True):
    subscription_id: str
    url: str
    keys: list[str]
    status: str
