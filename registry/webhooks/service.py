"""Webhook rules between the routes and the SQL: valid types and areas, a target the guard allows."""

from __future__ import annotations

import datetime as dt

from registry.i18n import message_of, tr
from registry.pagination import not_a_cursor
from registry.problems import Unprocessable, invalid_field
from registry.webhooks import catalogue
from registry.webhooks.guard import TargetRefused, check_target
from registry.webhooks.models import Subscription


async def checked_target(url: str | None, allow: tuple[str, ...]) -> None:
    if url is None:
        return
    try:
        await check_target(url, allow)
    except TargetRefused as exc:
        raise invalid_field("url", message_of(exc)) from None


def checked_types(types: list[str] | None) -> None:
    if types is None:
        return
    unknown = catalogue.unknown_types(types)
    if unknown:
        raise invalid_field("event_types", tr("{unknown} is not an event type; see docs/events.md (e.g. "
                                              "{examples}, application.*)", unknown=f"{unknown[0]!r}",
                                              examples=', '.join(list(catalogue.EVENT_TYPES)[:3])))


def checked_bbox(bbox: list[float] | None) -> None:
    if bbox is None:
        return
    west, south, east, north = bbox
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise invalid_field("bbox", tr("is [west, south, east, north] in degrees, west < east and south < "
                                       "north"))


def list_after(cursor: list | None) -> tuple[dt.datetime | None, str | None]:
    if cursor is None:
        return None, None
    try:
        return dt.datetime.fromisoformat(cursor[0]), cursor[1]
    except ValueError:
        raise not_a_cursor() from None


def list_key(s: Subscription) -> list[str]:
    return [s.created_at.isoformat(), s.subscription_id]


def nothing_to_change() -> Unprocessable:
    return Unprocessable(tr("Send at least one field to change: url, event_types, prefectures, bbox, "
                            "description or paused."))
