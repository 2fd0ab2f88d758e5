"""Real PostgreSQL + PostGIS for every test.

The session migrates one template database; each test that needs the database gets a fresh
copy of it (CREATE DATABASE ... TEMPLATE), so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.auth import queries as key_queries
from registry.db.admin import admin_session
from registry.db.migrate import migrate
from registry.principal import Principal
from registry.settings import Settings, api_url_for, with_database
from registry.tenants.reference import load_reference

_counter = itertools.count()


def _admin_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from registry.cluster import Cluster

    cluster = Cluster.default()
    cluster.up()
    return cluster.url()


@pytest.fixture(scope="session")
def admin_url() -> str:
    return _admin_url()


async def _drop(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(with_database(admin_url, "postgres"))
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_db(admin_url: str) -> AsyncIterator[str]:
    name = f"kyodo_tpl_{os.getpid()}"
    await _drop(admin_url, name)
    conn = await asyncpg.connect(with_database(admin_url, "postgres"))
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(with_database(admin_url, name))
    try:
        await migrate(conn)
        await load_reference(conn)
    finally:
        await conn.close()
    yield name
    await _drop(admin_url, name)


@pytest.fixture
async def settings(admin_url: str, template_db: str) -> AsyncIterator[Settings]:
    name = f"kyodo_t_{os.getpid()}_{next(_counter)}"
    conn = await asyncpg.connect(with_database(admin_url, "postgres"))
    try:
        await conn.execute(f'create database "{name}" template "{template_db}" strategy file_copy')
    finally:
        await conn.close()
    url = with_database(admin_url, name)
    yield Settings(database_url=url, api_database_url=api_url_for(url, os.environ.get("KYODO_API_PASSWORD")),
                   pool_min=1, pool_max=5)
    await _drop(admin_url, name)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


@pytest.fixture
async def owner(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the migrating user, for setting up fixtures and inspecting the catalogue."""
    conn = await asyncpg.connect(settings.database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def api_conn(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection as the API role, with no principal set."""
    conn = await asyncpg.connect(settings.api_database_url)
    yield conn
    await conn.close()


KeyFactory = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def make_key(settings: Settings) -> KeyFactory:
    """Create a key as `registry keys create` does; returns the Authorization header for it."""

    async def make(role: str, tenant: str, name: str = "test") -> dict[str, str]:
        if role == "carrier":
            await admin_session(settings, lambda db: db.execute(
                "insert into carriers (carrier_code, name) values ($1, $1) on conflict do nothing", tenant))
        if role == "supplier":
            await admin_session(settings, lambda db: db.execute(
                "insert into suppliers (corporate_number, name) values ($1, $1) on conflict do nothing", tenant))
        created = await admin_session(settings, lambda db: key_queries.create_key(db, role, tenant, name))
        return {"Authorization": f"Bearer {created.key}"}

    return make


async def as_principal(conn: asyncpg.Connection, principal: Principal | None, sql: str, *args: Any) -> list:
    from registry.db.pool import set_principal

    async with conn.transaction():
        await set_principal(conn, principal)
        return await conn.fetch(sql, *args)


def assert_problem(response: Any, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["detail"] and "Traceback" not in response.text
    return body


async def feed_until(client: Any, headers: dict[str, str], done: Callable[[list], bool], after: str | None = None,
                     seconds: float = 20.0) -> dict:
    """Read the change feed until `done(changes)` holds.

    The feed holds back changes while any older transaction in the cluster is still open (that is
    how it never skips one), so another session's transaction can delay, not drop, a change.
    """
    import asyncio
    import time

    deadline = time.monotonic() + seconds
    while True:
        params = {"after": after} if after else {}
        body = (await client.get("/v1/assets/changes", params=params, headers=headers)).json()
        if done(body["changes"]) or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)
