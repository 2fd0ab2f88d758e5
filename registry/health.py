"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import get
from litestar.datastructures import State

from registry.auth.guards import requires
from registry.db.pool import check_ready, pooled
from registry.events.queries import worker_lag
from registry.i18n import tr
from registry.problems import Problem


class Health(msgspec.Struct):
    """Only whether the process (or the database) is ready: versions tell an attacker what to try."""

    status: str


@get("/healthz", tags=["health"], summary="The process is up")
async def healthz() -> Health:
    return Health("ok")


@get("/readyz", tags=["health"], summary="The database answers and PostGIS is there")
async def readyz(state: State) -> Health:
    pool: asyncpg.Pool = state.pool
    try:
        await check_ready(pool)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Problem(tr("The database is not ready; try again shortly."), status=503, title=tr("Service unavailable"),
                      slug="unavailable", headers={"Retry-After": "5"}) from exc
    return Health("ok")


class WorkerHealth(msgspec.Struct):
    """How far the event worker lags (registry/events): the age in seconds of the oldest webhook delivery or job
    that is due and not done; of the worker's last heartbeat (null: no worker has run); deliveries pending."""

    worker_lag_s: float
    worker_heartbeat_age_s: float | None
    pending_deliveries: int


@get("/v1/health/worker", tags=["health"], summary="The event worker's lag (admins: it is operational detail)",
     guards=[requires("admin")])
async def worker_health(state: State) -> WorkerHealth:
    async with pooled(state.pool) as conn:
        lag = await worker_lag(conn)
    heartbeat = None if lag.heartbeat_age_seconds is None else round(lag.heartbeat_age_seconds, 1)
    return WorkerHealth(round(lag.lag_seconds, 3), heartbeat, lag.pending_deliveries)


route_handlers = [healthz, readyz, worker_health]
