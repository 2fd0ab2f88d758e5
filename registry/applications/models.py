from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

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
    information_due: dt.date | None = None
    """While information is requested: when the carrier's answer is due. The decision clock is stopped."""
    clock_days_left: int | None = None
    """While information is requested: decision days left, counted again from the carrier's answer."""
    deemed: bool = False
    """Approved by silence past the decision date, as the municipality's deadline rules allow."""
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
    decision_due: dt.date
    clock_days_left: int | None


class Terms(msgspec.Struct, frozen=True):
    """How a municipality counts its deadlines (sql/080), with today's date as the database sees it."""

    today: dt.date
    day_basis: Literal["calendar", "working"]
    decision_days: int
    information_days: int
    remind_days: int
    deemed_approval: bool


class SlotState(msgspec.Struct, frozen=True):
    """An asset's tenancy slots, to say why an approval found none free."""

    asset_id: str
    current_tenants: int
    max_tenants: int
    status: str


class DeadlineRules(msgspec.Struct, kw_only=True):
    municipality_code: str
    day_basis: Literal["calendar", "working"]
    """'working': Japanese working days (no weekends, national holidays, or 29 December to 3 January)."""
    remind_days: int
    deemed_approval: bool
    """true: an application still undecided after its decision date is approved as deemed (if slots are free)."""
    version: int


class DeadlineRulesUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    day_basis: Literal["calendar", "working"] | None = None
    remind_days: Annotated[int, msgspec.Meta(ge=0, le=60)] | None = None
    deemed_approval: bool | None = None
