"""Applies the numbered files of sql/ in order, each once, each inside its own transaction.

Files run as the owner role, so every object has one owner whatever account connects;
the API role owns nothing. A checksum per file catches an applied migration edited later.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from registry.paths import PROJECT_ROOT
from registry.settings import API_ROLE, OWNER_ROLE

SQL_DIR = PROJECT_ROOT / "sql"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any fixed number: serialises concurrent `registry migrate` runs against one database.
_LOCK_KEY = 4_172_501


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(folder: Path = SQL_DIR) -> list[Migration]:
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_words.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations share number {version:03d}: {found[version].name}, {path.name}")
        found[version] = Migration(version, path.name, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def ensure_roles_and_extensions(conn: asyncpg.Connection, api_password: str | None = None,
                                      owner_password: str | None = None) -> None:
    """What needs more than the owner's rights: the two roles and PostGIS. Idempotent.

    The owner cannot log in unless `owner_password` is given: one server needs no more than SET ROLE. A Citus
    cluster does (issue 17): it propagates DDL to the workers by connecting as the current role, so there the
    migrations fail on their first file unless the owner may log in."""
    me = await conn.fetchrow("select rolsuper, rolcreaterole from pg_roles where rolname = current_user")
    roles = {r["rolname"] for r in await conn.fetch("select rolname from pg_roles where rolname = any($1)",
                                                     [OWNER_ROLE, API_ROLE])}
    for role, options in ((OWNER_ROLE, "NOLOGIN"), (API_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")):
        if role not in roles:
            if not (me["rolsuper"] or me["rolcreaterole"]):
                raise MigrationError(f"role {role} is missing and the connecting user may not create it; "
                                     f"ask your DBA: CREATE ROLE {role} {options}")
            await conn.execute(f"CREATE ROLE {role} {options}")
    if me["rolsuper"]:
        # The API role must never be able to step around row security, whatever was set before.
        await conn.execute(f"ALTER ROLE {API_ROLE} NOSUPERUSER NOBYPASSRLS")
        await conn.execute(f"GRANT {OWNER_ROLE} TO current_user")
        await conn.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {OWNER_ROLE}")
        db = await conn.fetchval("select current_database()")
        await conn.execute(f'GRANT CREATE, CONNECT ON DATABASE "{db}" TO {OWNER_ROLE}')
    if api_password:
        await conn.execute(f"ALTER ROLE {API_ROLE} PASSWORD {_literal(api_password)}")
    if owner_password:
        await conn.execute(f"ALTER ROLE {OWNER_ROLE} LOGIN PASSWORD {_literal(owner_password)}")
    has_postgis = await conn.fetchval("select 1 from pg_extension where extname = 'postgis'")
    if not has_postgis:
        if not me["rolsuper"]:
            raise MigrationError("PostGIS is not enabled in this database and the connecting user is not a "
                                 "superuser; ask your DBA: CREATE EXTENSION postgis")
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def migrate(conn: asyncpg.Connection, folder: Path = SQL_DIR, api_password: str | None = None,
                  owner_password: str | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    migrations = discover(folder)
    await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await ensure_roles_and_extensions(conn, api_password, owner_password)
        await conn.execute(
            """create table if not exists schema_migrations (
                   version integer primary key,
                   name text not null,
                   checksum text not null,
                   applied_at timestamptz not null default now())"""
        )
        applied = {r["version"]: r for r in await conn.fetch("select version, name, checksum from schema_migrations")}
        done: list[str] = []
        for m in migrations:
            if m.version in applied:
                if applied[m.version]["checksum"] != m.checksum:
                    raise MigrationError(
                        f"{m.name} was changed after it was applied; add a new numbered file instead")
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL ROLE {OWNER_ROLE}")
                try:
                    await conn.execute(m.sql)
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"{m.name}: {exc}") from exc
                await conn.execute("RESET ROLE")
                await conn.execute("insert into schema_migrations (version, name, checksum) values ($1, $2, $3)",
                                   m.version, m.name, m.checksum)
            done.append(m.name)
        return done
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
