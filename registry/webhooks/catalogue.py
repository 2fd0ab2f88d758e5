"""The event types Kyodo emits (sql/081 and registry/events/jobs.py write them), and who hears each."""

from __future__ import annotations

from typing import Literal

EVENT_TYPES: dict[str, str] = {
    "application.submitted": "a carrier applied (owner municipality, its prefecture, the carrier)",
    "application.information_requested": "the owner asked the carrier for information; the decision clock stops",
    "application.answered": "the carrier answered; the decision clock runs again",
    "application.approved": "approved (data.deemed is true when silence past the decision date approved it)",
    "application.refused": "refused, with the reason",
    "application.withdrawn": "the carrier withdrew it",
    "application.installed": "the carrier reported the installation",
    "application.terminated": "the owner ended the tenancy",
    "application.decision_due_soon": "the decision date is near (the municipality's remind_days)",
    "application.information_due_soon": "the carrier's date to answer an information request is near",
    "application.overdue": "the decision date passed without a decision; escalated to the prefecture",
    "round.opened": "a demand round opened",
    "round.closing_soon": "a demand round closes within three days",
    "round.closed": "a demand round closed; needs may still be withdrawn",
    "round.firm": "the withdrawal deadline passed; pledges are firm",
    "tender.formed": "a shared tender was formed from a round's needs",
    "tender.awarded": "a shared tender was awarded",
    "contract.issued": "a contract was issued to a buying municipality",
    "asset.published": "assets became visible to carriers (count, up to 100 ids, extent)",
    "asset.changed": "published assets changed",
    "asset.withdrawn": "published assets were withdrawn",
    "load.finished": "a file load finished, with its summary",
}
FAMILIES = sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES})
# What a list of wanted types may hold: a type or a family. An enum in the API description, so clients (and
# schemathesis) know the names.
EventTypeName = Literal[tuple([*EVENT_TYPES, *FAMILIES])]  # type: ignore[valid-type]


def unknown_types(types: list[str]) -> list[str]:
    return [t for t in types if t not in EVENT_TYPES and t not in FAMILIES]
