"""The usage-application state machine: who may move an application where. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from registry.i18n import tr

Status = Literal["submitted", "information_requested", "approved", "refused", "withdrawn", "installed",
                 "terminated"]
Action = Literal["request_information", "respond", "approve", "refuse", "withdraw", "report_installed", "terminate"]
Party = Literal["owner", "carrier"]
RefusalReason = Literal["not_technically_suitable", "no_space", "safety_or_security", "network_integrity",
                        "interference", "alternative_offered"]

OPEN: frozenset[str] = frozenset({"submitted", "information_requested"})
# Statuses in which the application holds a tenancy slot on each of its assets.
HOLDS_SLOT: frozenset[str] = frozenset({"approved", "installed"})


@dataclass(frozen=True)
class Transition:
    by: Party
    sources: frozenset[str]
    target: Status


TRANSITIONS: dict[str, Transition] = {
    "request_information": Transition("owner", frozenset({"submitted"}), "information_requested"),
    "respond": Transition("carrier", frozenset({"information_requested"}), "submitted"),
    "approve": Transition("owner", frozenset({"submitted"}), "approved"),
    "refuse": Transition("owner", OPEN, "refused"),
    "withdraw": Transition("carrier", OPEN, "withdrawn"),
    "report_installed": Transition("carrier", frozenset({"approved"}), "installed"),
    # The owner ends a tenancy (at the carrier's notice or at the end of the term) and frees the slot.
    "terminate": Transition("owner", HOLDS_SLOT, "terminated"),
}


class TransitionError(ValueError):
    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


def next_status(current: str, action: str, party: Party, reason: str | None = None) -> Status:
    """The status after `action`, or TransitionError saying why it is not possible."""
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise TransitionError(tr("unknown action {action}; choose from {transitions}",
                                 action=f"{action!r}", transitions=', '.join(TRANSITIONS)))
    if rule.by != party:
        who = "the owner municipality" if rule.by == "owner" else "the applying carrier"
        raise TransitionError(tr("only {who} may {action}", who=who, action=action.replace('_', ' ')), forbidden=True)
    if current not in rule.sources:
        allowed = " or ".join(sorted(rule.sources))
        raise TransitionError(tr("cannot {action} an application that is {current}; it must be {allowed}",
                                 action=action.replace('_', ' '), current=current, allowed=allowed))
    if action == "refuse" and reason is None:
        raise TransitionError(tr("a refusal needs a reason: not_technically_suitable, no_space, "
                                 "safety_or_security, network_integrity, interference or "
                                 "alternative_offered"))
    if action != "refuse" and reason is not None:
        raise TransitionError(tr("a reason goes with refuse only"))
    return rule.target


def slot_change(before: str, after: str) -> int:
    """+1 when the application starts holding a slot on its assets, -1 when it lets go, else 0."""
    return int(after in HOLDS_SLOT) - int(before in HOLDS_SLOT)
