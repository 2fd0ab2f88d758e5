"""A round's phase from its dates, at each boundary (pure; computed in Python since issue 17)."""

from datetime import UTC, datetime, timedelta

import pytest

from registry.procurement.states import round_phase

OPENS = datetime(2026, 4, 1, tzinfo=UTC)
CLOSES = OPENS + timedelta(days=30)
FIRM = CLOSES + timedelta(days=14)


@pytest.mark.parametrize(("at", "phase"), [
    (OPENS - timedelta(microseconds=1), "upcoming"),
    (OPENS, "open"),
    (CLOSES - timedelta(microseconds=1), "open"),
    (CLOSES, "closed"),
    (FIRM - timedelta(microseconds=1), "closed"),
    (FIRM, "firm"),
    (FIRM + timedelta(days=365), "firm"),
])
def test_phase_at_each_boundary(at: datetime, phase: str) -> None:
    assert round_phase(OPENS, CLOSES, FIRM, at) == phase
