"""Liveness and readiness probes (no key needed)."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import get
from litestar.datastructures import State

from registry.problems import Problem


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    postgis: str | None = None


@get("/healthz", tags=["health"], summary="The process is up")
async def healthz() -> Health:
    return Health("ok")


@get("/readyz", tags=["health"], summary="The database answers and PostGIS is there")
async def readyz(state: State) -> Health:
    pool: asyncpg.Pool = state.pool
    try:
        async with pool.acquire(timeout=2) as conn:
            version = await conn.fetchval("select postgis_lib_version()", timeout=2)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Problem(f"The database is not ready: {exc.__class__.__name__}.", status=503,
                      title="Service unavailable", slug="unavailable") from exc
    return Health("ok", version)


route_handlers = [healthz, readyz]
