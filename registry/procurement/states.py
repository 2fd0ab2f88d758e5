"""The shared tender's lifecycle. Pure.

planned -> active (published) -> awarded -> contracted; planned or active -> cancelled; active ->
unsuccessful (no acceptable bid). `awarded` is reached only through an award, which carries the
supplier and price, never by a bare status change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

TenderStatus = Literal["planned", "active", "awarded", "contracted", "cancelled", "unsuccessful"]
STATUSES: tuple[TenderStatus, ...] = ("planned", "active", "awarded", "contracted", "cancelled", "unsuccessful")

TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"active", "cancelled"}),
    "active": frozenset({"awarded", "cancelled", "unsuccessful"}),
    "awarded": frozenset({"contracted", "cancelled"}),
    "contracted": frozenset(),
    "cancelled": frozenset(),
    "unsuccessful": frozenset(),
}

RoundPhase = Literal["upcoming", "open", "closed", "firm"]


def round_phase(opens_at: datetime, closes_at: datetime, withdrawal_deadline: datetime, at: datetime) -> RoundPhase:
    """Where a round stands at `at`: needs are taken while open, withdrawn until the deadline, then firm.
    Computed here, not in SQL: a Citus coordinator refuses now() in the RETURNING of a reference table
    (issue 17), and one rule needs one home."""
    if at < opens_at:
        return "upcoming"
    if at < closes_at:
        return "open"
    if at < withdrawal_deadline:
        return "closed"
    return "firm"


def transition_error(current: str, wanted: str) -> str | None:
    """None when the change is allowed, otherwise a sentence saying what is possible instead."""
    if wanted not in TRANSITIONS:
        return f"{wanted!r} is not a tender status (one of {', '.join(STATUSES)})"
    if wanted in TRANSITIONS[current]:
        return None
    allowed = sorted(TRANSITIONS[current])
    then = f"from {current} it can become {', '.join(allowed)}" if allowed else f"{current} is final"
    return f"a {current} tender cannot become {wanted}; {then}"
