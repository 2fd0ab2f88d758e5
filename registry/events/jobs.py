"""The worker's jobs, on procrastinate (a job queue kept in PostgreSQL: no broker).

Webhook deliveries run as one job per subscription (`queueing_lock` keeps at most one waiting); mail as one
job that sends what is due; reminders, escalations and round notices every minute; the digest at 08:00 JST.
"""

from __future__ import annotations

import logging

import procrastinate

from registry.applications import escalation
from registry.events import delivery, mailer
from registry.events import queries as eq
from registry.events.runtime import Runtime, as_admin

log = logging.getLogger("registry.worker")
_runtime: list[Runtime] = []


def runtime() -> Runtime:
    return _runtime[0]


def use(rt: Runtime | None) -> None:
    _runtime.clear()
    if rt is not None:
        _runtime.append(rt)


async def deadline_checks(rt: Runtime) -> tuple[int, int, int, int]:
    """Reminders, escalations (and deemed approvals), round notices: each in its own transaction."""
    async with rt.pool.acquire() as conn:
        reminded = await as_admin(conn, lambda: escalation.remind(conn))
        reminded += await as_admin(conn, lambda: escalation.remind_carriers(conn))
        escalated, deemed = await as_admin(conn, lambda: escalation.escalate(conn))
        rounds = await as_admin(conn, lambda: eq.announce_rounds(conn))
    log.info("deadlines: %d reminded, %d escalated, %d deemed approved; %d round notices",
             reminded, escalated, deemed, rounds)
    return reminded, escalated, deemed, rounds


def blueprint() -> procrastinate.Blueprint:
    """The tasks, on a fresh blueprint for each worker App (a blueprint's tasks belong to the App they join)."""
    bp = procrastinate.Blueprint()

    @bp.task(name="deliver_webhooks", queue="webhooks")
    async def deliver_webhooks(subscription_id: str) -> int:
        return await delivery.deliver(runtime(), subscription_id)

    @bp.task(name="send_mail", queue="mail")
    async def send_mail() -> int:
        return await mailer.send_due(runtime())

    @bp.periodic(cron="* * * * *")
    @bp.task(name="check_deadlines", queue="schedule")
    async def check_deadlines(timestamp: int) -> None:
        await deadline_checks(runtime())


    # 23:00 UTC is 08:00 in Japan, before office hours.
    @bp.periodic(cron="0 23 * * *")
    @bp.task(name="daily_digest", queue="schedule")
    async def daily_digest(timestamp: int) -> int:
        return await mailer.send_digests(runtime())

    return bp
