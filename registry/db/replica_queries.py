"""The statements read replicas need: positions in the WAL, and a key's last write (sql/160)."""

from __future__ import annotations

import asyncpg


async def primary_position(conn: asyncpg.Connection) -> str:
    """Where the primary's WAL has been written to (pg_current_wal_lsn: what a standby can receive)."""
    return await conn.fetchval("select pg_current_wal_lsn()::text")


async def replayed_position(conn: asyncpg.Connection) -> str | None:
    """How far a standby has replayed; None on a server that is not in recovery (a primary, or a promoted one)."""
    return await conn.fetchval("select case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text end")


async def note_write(conn: asyncpg.Connection, key_id: str) -> str:
    """After a write's COMMIT, on the primary: remember the key's position and return it."""
    return await conn.fetchval("select app.note_write($1::uuid)", key_id)
