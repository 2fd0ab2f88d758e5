"""`registry worker`: procrastinate's worker plus a listener that turns outbox notifications into jobs.

The outbox's fan-out trigger (sql/081) sends NOTIFY kyodo_events once per committing transaction; the listener
wakes, finds the subscriptions with deliveries due and defers one job for each (procrastinate's own NOTIFY then
starts it at once). Every `sweep_s` it looks again without a notification: retries whose backoff ended, leases
of a worker that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg
import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from registry.events import jobs
from registry.events.runtime import Runtime, as_admin, close_runtime, open_runtime
from registry.mail import queries as mq
from registry.settings import Settings
from registry.webhooks import queries as wq

log = logging.getLogger("registry.worker")


def make_app(settings: Settings) -> procrastinate.App:
    # The queue's tables live in their own schema (sql/083); procrastinate names them without one.
    connector = procrastinate.PsycopgConnector(conninfo=settings.api_database_url,
                                               kwargs={"options": "-c search_path=procrastinate,public"})
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(jobs.blueprint(), namespace="kyodo")
    return app


async def _defer(app: procrastinate.App, task: str, lock: str, **kwargs: str) -> None:
    with contextlib.suppress(AlreadyEnqueued):
        await app.configure_task(task, queueing_lock=lock).defer_async(**kwargs)


async def dispatch(app: procrastinate.App, rt: Runtime, conn: asyncpg.Connection) -> None:
    """One job per subscription with due deliveries, and one mail job when mail is due."""
    for sid in await as_admin(conn, lambda: wq.due_subscriptions(conn)):
        await _defer(app, "kyodo:deliver_webhooks", f"webhook:{sid}", subscription_id=sid)
    if await as_admin(conn, lambda: mq.any_due(conn)):
        await _defer(app, "kyodo:send_mail", "mail")


async def listen(app: procrastinate.App, rt: Runtime, sweep_s: float) -> None:
    woken = asyncio.Event()
    conn = await asyncpg.connect(rt.settings.api_database_url)
    try:
        await conn.add_listener("kyodo_events", lambda *_: woken.set())
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), sweep_s)
            woken.clear()
            try:
                await dispatch(app, rt, conn)
            except Exception:  # the listener must outlive any one failure; the sweep tries again
                log.exception("dispatch failed; trying again in %.1f s", sweep_s)
    finally:
        await conn.close()


async def run(settings: Settings, concurrency: int = 8, sweep_s: float = 2.0, signals: bool = True) -> None:
    rt = await open_runtime(settings)
    jobs.use(rt)
    app = make_app(settings)
    try:
        async with app.open_async():
            listener = asyncio.create_task(listen(app, rt, sweep_s))
            try:
                await app.run_worker_async(concurrency=concurrency, delete_jobs="successful",
                                           queues=["webhooks", "mail", "schedule"],
                                           install_signal_handlers=signals)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
    finally:
        jobs.use(None)
        await close_runtime(rt)
