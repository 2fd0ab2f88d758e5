"""Request parameters shared by every domain: ids and local government codes, or a 422 saying why not."""

from __future__ import annotations

import datetime as dt
import uuid

from registry.codes import CodeError, normalise, prefecture_number, with_check_digit
from registry.i18n import message_of, tr
from registry.problems import invalid_field


def parse_uuid(value: str, field: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise invalid_field(field, tr("{value} is not an id (a UUID)", value=f"{value!r}")) from exc


def parse_code(value: str, field: str = "code") -> str:
    try:
        return normalise(value)
    except CodeError as exc:
        raise invalid_field(field, message_of(exc)) from exc


def parse_prefecture_number(value: str | None, field: str = "prefecture") -> str | None:
    """A prefecture given as its number (13) or code (130001), as its two-digit number."""
    if value is None:
        return None
    try:
        return prefecture_number(value)
    except CodeError as exc:
        raise invalid_field(field, message_of(exc)) from exc


def parse_prefecture(value: str | None, field: str = "prefecture") -> str | None:
    """A prefecture given as its number (13) or code (130001), as the prefecture's code."""
    number = parse_prefecture_number(value, field)
    return with_check_digit(number + "000") if number else None


def parse_instant(value: str | dt.datetime | None, field: str) -> dt.datetime | None:
    """An RFC 3339 date-time with its time zone (2025-04-01T09:00:00+09:00). A bare number is refused: it is
    not a date-time, though a lenient parser would read it as seconds since 1970."""
    if value is None or isinstance(value, dt.datetime):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")) if "T" in value else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise invalid_field(field, tr("{value} is not a date-time; write e.g. 2025-04-01T09:00:00+09:00",
                                      value=f"{value!r}"))
    if parsed.tzinfo is None:
        raise invalid_field(field, tr("{value} needs a time zone, e.g. Z or +09:00", value=f"{value!r}"))
    return parsed
