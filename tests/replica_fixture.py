"""Real streaming standbys for the replica tests (issue 17): pg_basebackup -R of a running cluster into a temp dir.

The shared test cluster gets one standby for the whole session (started on first use, stopped at the end); a
test that stops servers makes a private primary + standby pair of its own and never touches the shared one.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg

from registry.cluster import Cluster
from registry.db.replicas import parse_lsn


def temp_cluster_dir(prefix: str) -> Path:
    """A folder the cluster's owner (postgres, when the tests run as root) can reach."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o711)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
    return folder


def standby_of(primary: Cluster, folder: Path, offset: int = 100) -> Cluster:
    standby = Cluster(datadir=folder / "standby", port=primary.port + offset)
    standby.follow(primary)
    return standby


def remove(folder: Path, *clusters: Cluster, primary: Cluster | None = None) -> None:
    """Stop the clusters and delete their folder; a standby of a primary that stays gives back its slot."""
    for cluster in clusters:
        cluster.stop("immediate")
        if primary is not None:
            primary.forget_standby(cluster)
    shutil.rmtree(folder, ignore_errors=True)


async def wait_replayed(primary_url: str, standby_url: str, seconds: float = 20.0) -> None:
    """Until the standby has replayed everything the primary had written when this was called."""
    conn = await asyncpg.connect(primary_url)
    try:
        target = parse_lsn(await conn.fetchval("select pg_current_wal_insert_lsn()::text"))
    finally:
        await conn.close()
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn = await asyncpg.connect(standby_url)
            try:
                replayed = parse_lsn(await conn.fetchval("select pg_last_wal_replay_lsn()::text"))
            finally:
                await conn.close()
            if replayed >= target:
                return
        except asyncpg.InvalidCatalogNameError:  # the database is not replayed yet
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the standby did not reach {target} in {seconds} s")
        await asyncio.sleep(0.05)


async def reads_on(standby_url: str) -> int:
    """Table scans made on the standby in its database (statistics are per server: the primary's never count)."""
    conn = await asyncpg.connect(standby_url)
    try:
        return await conn.fetchval("select coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::bigint "
                                   "from pg_stat_user_tables")
    finally:
        await conn.close()


async def wait_reads_on(standby_url: str, above: int, seconds: float = 12.0) -> int:
    """A backend reports its statistics at most once a second (PGSTAT_MIN_INTERVAL), and one that reported less
    than a second ago (the pooled standby connection also runs the replica poller's queries) waits for the idle
    timeout, PGSTAT_IDLE_INTERVAL = 10 s, before reporting again: so poll for up to 12 s (5 s failed once in CI)."""
    deadline = time.monotonic() + seconds
    while True:
        n = await reads_on(standby_url)
        if n > above or time.monotonic() > deadline:
            return n
        await asyncio.sleep(0.2)
