"""Deadlines in Japanese working days. Pure: no database, no clock.

A working day is a weekday that is neither a national holiday (国民の祝日, substitute and "sandwiched"
holidays included, as `jpholiday` lists them) nor in the year-end closure of public offices, 29 December to
3 January (行政機関の休日に関する法律 第1条). Golden Week 2025 shows all three rules at once: from Tuesday
29 April to Tuesday 6 May only 30 April, 1 May and 2 May are working days.

A period of n days starts the day after the event (民法 第140条: the first day is not counted), so a
decision due "10 working days after" a Friday submission is the 10th working day after that Friday.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import jpholiday

DayBasis = Literal["calendar", "working"]


def in_year_end_closure(day: dt.date) -> bool:
    """29 December to 3 January inclusive."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and not in_year_end_closure(day) and not jpholiday.is_holiday(day)


def add_days(start: dt.date, days: int, basis: DayBasis = "working") -> dt.date:
    """The day `days` days after `start` (not counting `start`); on the working basis, the `days`-th working
    day after it. Zero days is `start` itself, whatever kind of day it is."""
    if days < 0:
        raise ValueError("a period is zero or more days")
    if basis == "calendar":
        return start + dt.timedelta(days=days)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def days_left(today: dt.date, due: dt.date, basis: DayBasis = "working") -> int:
    """Days after `today` up to and including `due` (working days on that basis): what a stopped clock keeps.
    Zero when `due` is today or past."""
    if due <= today:
        return 0
    if basis == "calendar":
        return (due - today).days
    count, day = 0, today
    while day < due:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count
