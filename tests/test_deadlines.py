"""Deadlines in Japanese working days against a table written by hand from the 2025-2026 calendars
(内閣府「国民の祝日」 and the 12/29-1/3 closure), not computed by the code under test."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.applications.deadlines import add_days, days_left, is_working_day

D = dt.date

# (start, working days, due): counted from the day after start.
TABLE = [
    # Golden Week 2025: 4/29 (Tue, 昭和の日), 5/3 (Sat), 5/4 (Sun), 5/5 (Mon, こどもの日), 5/6 (Tue, 振替休日).
    (D(2025, 4, 25), 1, D(2025, 4, 28)),
    (D(2025, 4, 25), 2, D(2025, 4, 30)),
    (D(2025, 4, 25), 5, D(2025, 5, 7)),
    (D(2025, 4, 28), 10, D(2025, 5, 15)),
    (D(2025, 5, 2), 1, D(2025, 5, 7)),
    # Year-end closure 2025/26: 12/29 (Mon) to 1/3 (Sat), then Sunday 1/4; 1/12 is 成人の日.
    (D(2025, 12, 26), 1, D(2026, 1, 5)),
    (D(2025, 12, 25), 3, D(2026, 1, 6)),
    (D(2025, 12, 24), 10, D(2026, 1, 15)),  # 1/12 成人の日 skipped
    (D(2025, 12, 30), 0, D(2025, 12, 30)),
    # Silver Week 2026: 9/21 (Mon, 敬老の日), 9/22 (Tue, 国民の休日: between two holidays), 9/23 (Wed, 秋分の日).
    (D(2026, 9, 18), 1, D(2026, 9, 24)),
    # An ordinary fortnight: 10 working days = two calendar weeks.
    (D(2025, 6, 2), 10, D(2025, 6, 16)),
]


@pytest.mark.parametrize(("start", "days", "due"), TABLE, ids=lambda v: str(v))
def test_working_days_match_the_hand_table(start: dt.date, days: int, due: dt.date) -> None:
    assert add_days(start, days, "working") == due


@pytest.mark.parametrize(("start", "days", "due"), TABLE, ids=lambda v: str(v))
def test_days_left_inverts_add_days(start: dt.date, days: int, due: dt.date) -> None:
    # the clock stopped on `start` keeps exactly the days that lead to `due`
    if days:
        assert days_left(start, due, "working") == days


def test_closure_and_holidays_are_not_working_days() -> None:
    for day in (D(2025, 12, 29), D(2025, 12, 31), D(2026, 1, 2), D(2026, 1, 3),  # closure (weekdays among them)
                D(2025, 5, 5), D(2025, 5, 6), D(2025, 4, 29), D(2026, 9, 22)):
        assert not is_working_day(day), day
    for day in (D(2025, 12, 26), D(2026, 1, 5), D(2025, 5, 2), D(2025, 5, 7)):
        assert is_working_day(day), day


def test_calendar_basis_counts_every_day() -> None:
    assert add_days(D(2025, 12, 26), 10, "calendar") == D(2026, 1, 5)
    assert days_left(D(2025, 12, 26), D(2026, 1, 5), "calendar") == 10
    assert days_left(D(2026, 1, 6), D(2026, 1, 5), "working") == 0
