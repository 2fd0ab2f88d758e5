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
jobs = procrastinate.Blueprint()
_runtime: list[Runtime] = []


def runtime() -> Runtime:
    return _runtime[0]


def use(rt: Runtime | None) -> None:
    _runtime.clear()
    if rt is not None:
        _runtime.append(rt)


@jobs.task(name="deliver_webhooks", queue="webhooks")
async def deliver_webhooks(subscription_id: str) -> int:
    return await delivery.deliver(runtime(), subscription_id)


@jobs.task(name="send_mail", queue="mail")
async def send_mail() -> int:
    return await mailer.send_due(runtime())


@jobs.periodic(cron="* * * * *")
@jobs.task(name="check_deadlines", queue="schedule")
async def check_deadlines(timestamp: int) -> None:
    rt = runtime()
    async with rt.pool.acquire() as conn:
        reminded = await as_admin(conn, lambda: escalation.remind(conn))
        escalated, deemed = await as_admin(conn, lambda: escalation.escalate(conn))
        rounds = await as_admin(conn, lambda: eq.announce_rounds(conn))
    log.info("deadlines: %d reminded, %d escalated, %d deemed approved; %d round notices",
             reminded, escalated, deemed, rounds)


# 23:00 UTC is 08:00 in Japan, before office hours.
@jobs.periodic(cron="0 23 * * *")
@jobs.task(name="daily_digest", queue="schedule")
async def daily_digest(timestamp: int) -> int:
    return await mailer.send_digests(runtime())
