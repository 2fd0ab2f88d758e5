from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from registry.applications.states import Action, RefusalReason, Status


class ApplicationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    asset_ids: Annotated[list[Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]],
                         msgspec.Meta(min_length=1, max_length=100,
                                                 description="assets of one municipality")]
    purpose: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, description="e.g. 5G small cell")]
    starts_on: dt.date
    ends_on: dt.date | None = None
    carrier_code: Annotated[str, msgspec.Meta(description="admins file for a carrier; carriers for themselves")
                            ] | None = None


class ApplicationAction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    action: Action
    reason: RefusalReason | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ApplicationEvent(msgspec.Struct):
    action: str
    from_status: str | None
    to_status: str
    actor_role: str
    actor_tenant: str | None
    reason: str | None
    note: str | None
    at: dt.datetime


class Application(msgspec.Struct, kw_only=True):
    application_id: str
    municipality_code: str
    carrier_code: str
    asset_ids: list[str]
    purpose: str
    starts_on: dt.date
    ends_on: dt.date | None
    status: Status
    refusal_reason: str | None
    decision_note: str | None
    submitted_at: dt.datetime
    decision_due: dt.date
    overdue: bool
    decided_at: dt.datetime | None
    version: int
    history: list[ApplicationEvent] = []


class ApplicationPage(msgspec.Struct):
    items: list[Application]
    next: str | None


class Locked(msgspec.Struct, frozen=True):
    """What deciding a move needs of an application, read under its row lock."""

    municipality_code: str
    status: Status
    carrier_code: str


class SlotState(msgspec.Struct, frozen=True):
    """An asset's tenancy slots, to say why an approval found none free."""

    asset_id: str
    current_tenants: int
    max_tenants: int
    status: str
