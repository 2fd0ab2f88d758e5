"""The owner role logs in only when asked to (issue 17: a Citus cluster propagates DDL as the current role)."""

import asyncpg

from registry.db.migrate import OWNER_ROLE, migrate
from registry.settings import Settings


async def _can_login(owner: asyncpg.Connection) -> bool:
    return await owner.fetchval("select rolcanlogin from pg_roles where rolname = $1", OWNER_ROLE)


async def test_owner_logs_in_only_with_a_password(owner: asyncpg.Connection, settings: Settings) -> None:
    # Roles are shared by every database of the cluster: put the owner back as the other tests expect it.
    assert not await _can_login(owner)
    try:
        assert await migrate(owner, owner_password="owner's secret") == []
        assert await _can_login(owner)
        conn = await asyncpg.connect(settings.database_url, user=OWNER_ROLE, password="owner's secret")
        try:
            # Logged in as the owner itself, it reads what it owns with no SET ROLE.
            assert await conn.fetchval("select current_user") == OWNER_ROLE
            assert await conn.fetchval("select count(*) from prefectures") == 47
        finally:
            await conn.close()
        assert await migrate(owner) == []
        assert await _can_login(owner)  # a migration without the password leaves a DBA's choice alone
    finally:
        await owner.execute(f"ALTER ROLE {OWNER_ROLE} NOLOGIN PASSWORD NULL")
    assert not await _can_login(owner)
