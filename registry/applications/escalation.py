"""Deadlines that act (issue 15): reminders before the decision date and before the carrier's information date,
escalation after it, and a deemed approval where the municipality chose one. Run by the worker
(registry/events/jobs.py) as an admin principal; each step is recorded in the application's history and
announced on the event outbox in the same transaction."""

from __future__ import annotations

import asyncpg

from registry.applications import deadlines
from registry.applications import escalation_queries as q
from registry.applications.models import Terms

DEEMED_NOTE = "処理期限までに決定がなかったため、承認されたものとみなします（みなし承認）。"
ESCALATED_NOTE = "処理期限を過ぎたため、都道府県に通知しました。"


async def remind(db: asyncpg.Connection) -> int:
    """application.decision_due_soon, once per decision date, for open applications within remind_days of it."""
    sent = 0
    terms_of: dict[str, Terms] = {}
    for a in await q.unreminded(db):
        terms = terms_of.get(a.municipality_code) or await q.terms(db, a.municipality_code)
        terms_of[a.municipality_code] = terms
        if a.decision_due < terms.today:
            continue  # overdue already: escalation, not a reminder
        if deadlines.days_left(terms.today, a.decision_due, terms.day_basis) <= terms.remind_days:
            await q.mark_reminded(db, a, "application.decision_due_soon")
            sent += 1
    return sent


async def remind_carriers(db: asyncpg.Connection) -> int:
    """application.information_due_soon, once per information date, to the carrier (and the owner) within the
    municipality's remind_days of the date by which the carrier must answer."""
    sent = 0
    terms_of: dict[str, Terms] = {}
    for a in await q.awaiting_answer(db):
        terms = terms_of.get(a.municipality_code) or await q.terms(db, a.municipality_code)
        terms_of[a.municipality_code] = terms
        if deadlines.days_left(terms.today, a.information_due, terms.day_basis) <= terms.remind_days:
            await q.remind_carrier(db, a)
            sent += 1
    return sent


async def escalate(db: asyncpg.Connection) -> tuple[int, int]:
    """Overdue applications escalated to the prefecture (once each), deemed approved where the municipality's
    rules say so and a tenancy slot is free on every asset; (escalated, deemed)."""
    escalated = deemed = 0
    for a in await q.overdue_unescalated(db):
        terms = await q.terms(db, a.municipality_code)
        await q.escalate(db, a, ESCALATED_NOTE)
        escalated += 1
        if terms.deemed_approval and await q.deem_approved(db, a, DEEMED_NOTE):
            deemed += 1
    return escalated, deemed
