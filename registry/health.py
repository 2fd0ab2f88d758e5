"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import get
from litestar.datastructures import State

from registry.db.pool import check_ready
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
        raise Problem("The database is not ready; try again shortly.", status=503, title="Service unavailable",
                      slug="unavailable", headers={"Retry-After": "5"}) from exc
    return Health("ok")


route_handlers = [healthz, readyz]
