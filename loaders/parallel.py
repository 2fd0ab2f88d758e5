"""Large loads merged by several connections at once, still all or nothing, by two-phase commit.

One backend merges about 20,000 rows a second (indexes, checks, row security, audit and feed), and
PostgreSQL never runs one INSERT on two cores. So the workers of a parallel load each merge their own
batches in their own transaction; when every batch is in, each worker PREPAREs its transaction, the
load records its decision to commit (`loader.decisions`), and only then commits the prepared
transactions. Until the decision is recorded any failure rolls every worker back; after it, a load
cut short (the machine stopped, say) is finished by `recover`, which every `registry load assets`
runs first: prepared workers of a load with a decision are committed, the others rolled
back. A running load holds an advisory lock on its id, so recovery never touches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import asyncpg

from loaders.merge import MERGE_SETTINGS, Announce, Tally, Writer
from loaders.pipeline import run_batches
from loaders.progress import Progress
from loaders.validate import Prepared
from registry.db.admin import enter_as_admin
from registry.settings import Settings

_LOCK = "select pg_advisory_lock(hashtextextended('kyodo-load:' || $1, 0))"
_TRY_LOCK = "select pg_try_advisory_lock(hashtextextended('kyodo-load:' || $1, 0))"
_UNLOCK = "select pg_advisory_unlock(hashtextextended('kyodo-load:' || $1, 0))"
_DECIDE = "insert into loader.decisions (load_id) values ($1::uuid)"
_FORGET = "delete from loader.decisions where load_id = $1::uuid"
_DECIDED = "select exists (select from loader.decisions where load_id = $1::uuid)"
_PREPARED = """
select gid from pg_prepared_xacts where database = current_database() and gid like 'kyodo-load:%' order by gid
"""
_LEFTOVERS = """
select substr(tablename, 3) from pg_tables where schemaname = 'loader' and tablename like 'e\\_%'
union select replace(load_id::text, '-', '') from loader.decisions
union select replace(load_id::text, '-', '') from loader.deferred_indexes
"""
# A load into an empty catalogue builds the indexes no constraint needs after its commit, as ogr2ogr
# does (sql/155: they were 23 % and more of a million-point load's backend CPU, row by row).
_DEFER_INDEXES = "select app.loader_defer_indexes($1::uuid)"
_RESTORE_INDEXES = "select app.loader_restore_indexes($1::uuid)"
# One deferred index by name (sql/200), so that each is built on its own connection at the same time: one
# after another they were 2.6-2.8 s of a 16 s million-point load, the GiST on geom alone 1.6 s.
_DEFERRED = "select app.loader_deferred_indexes($1::uuid)"
_RESTORE_INDEX = "select app.loader_restore_index($1::uuid, $2)"
_BUILD_SETTINGS = "set max_parallel_maintenance_workers = 0; set synchronize_seqscans = off"
_MAX_PREPARED = "select current_setting('max_prepared_transactions')::int"
# The load's time, which every row it writes carries (loaders.merge._AT): that of its snapshot of the keys.
_NOW = "select now()"
_GID = re.compile(r"^kyodo-load:([0-9a-f]{32}):[0-9]{1,3}$")
_LOAD_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Parallel:
    """How a load opens more connections: `connect` gives a new connection, `enter` sets the load's
    principal inside a transaction that connection has begun."""

    connect: Callable[[], Awaitable[asyncpg.Connection]]
    enter: Callable[[asyncpg.Connection], Awaitable[None]]
    workers: int = 2


def admin_connections(settings: Settings, workers: int) -> Parallel:
    """More connections like admin_session's, for a load merged over several."""
    return Parallel(lambda: asyncpg.connect(settings.api_database_url), enter_as_admin, workers)


async def can_run(conn: asyncpg.Connection, workers: int) -> bool:
    """Whether this server lets `workers` transactions be prepared at once (max_prepared_transactions)."""
    return workers > 1 and await conn.fetchval(_MAX_PREPARED) >= workers


async def write_parallel(parallel: Parallel, batches: Iterator[Prepared], total: int, tenant: str | None, *,
                         dry_run: bool, progress: Progress, announce: Announce | None = None) -> Tally:
    load_id = uuid.uuid4().hex
    control = await parallel.connect()
    writers: list[Writer] = []
    prepared: list[str] = []
    decided = False
    deferred = 0
    existing = f"loader.e_{load_id}"
    try:
        await control.execute(_LOCK, load_id)
        # The keys that exist before the load, committed so that every worker sees the same snapshot.
        async with control.transaction():
            await parallel.enter(control)
            snapshot = Writer(control, existing=existing, at=await control.fetchval(_NOW))
            await snapshot.create_existing(tenant, temporary=False)
            if not dry_run and not snapshot.existed:
                deferred = await control.fetchval(_DEFER_INDEXES, load_id)
        for number in range(parallel.workers):
            conn = await parallel.connect()
            writers.append(Writer(conn, staging=f"loader.s_{load_id}_{number}", existing=existing,
                                  cells=f"loader.c_{load_id}_{number}", at=snapshot.at,
                                  existed=snapshot.existed, slots_held=snapshot.slots_held))
            await conn.execute("begin")
            await parallel.enter(conn)
            await conn.execute(MERGE_SETTINGS)
            await writers[-1].create_staging(temporary=False)
        progress.stage(f"load ({parallel.workers} connections)")
        tally = await run_batches(writers, batches, total, dry_run=dry_run, progress=progress)
        if dry_run or tally.rejected_rows:
            for w in writers:
                await w.conn.execute("rollback")
            return tally
        # Each writer adds up its own tile cells, all at once: writers that committed one after the other would
        # each merge with the cells of the ones before (SKIP LOCKED keeps them from waiting on each other).
        await asyncio.gather(*(w.count_cells() for w in writers))
        if announce is not None:  # in the first worker's transaction: committed with the load, or not at all
            await announce(writers[0].conn, tally)
        for number, w in enumerate(writers):
            await w.conn.execute(f"drop table {w.staging}, {w.cells}")
            gid = f"kyodo-load:{load_id}:{number}"
            await w.conn.execute(f"prepare transaction '{gid}'")
            prepared.append(gid)
        await control.execute(_DECIDE, load_id)
        decided = True
        for gid in prepared:
            await control.execute(f"commit prepared '{gid}'")
        prepared.clear()
        await control.execute(_FORGET, load_id)
        if deferred:
            progress.stage("build indexes")
            # As many builds at once as the load had writers, not one more: on 2 cores, three at once made the GiST,
            # the longest, take 2.37 s instead of 2.2 s, while the other two fit in its time one after the other.
            await _restore_side_by_side(load_id, [w.conn for w in writers])
            await control.fetchval(_RESTORE_INDEXES, load_id)  # whatever is left (nothing, normally)
            deferred = 0
        return tally
    finally:
        # Clean-up must not hide the error that brought us here; whatever it leaves, `recover` finishes.
        with contextlib.suppress(Exception):
            if not decided:
                for gid in prepared:
                    await control.execute(f"rollback prepared '{gid}'")
        for w in writers:
            # A worker that did not get as far as PREPARE still has its transaction open: closing the
            # connection rolls it back.
            with contextlib.suppress(Exception):
                await w.conn.close()
        with contextlib.suppress(Exception):
            # A prepared worker still holds a lock on the snapshot table; recovery drops it with them.
            if not (decided and prepared):
                await control.execute(f"drop table if exists {existing}")
                # The workers are closed (rolled back) or committed: nothing holds assets any more.
                if deferred:
                    await control.fetchval(_RESTORE_INDEXES, load_id)
            await control.execute(_UNLOCK, load_id)
        await control.close()
        progress.close()


async def _restore_side_by_side(load_id: str, conns: list[asyncpg.Connection]) -> None:
    """Build the load's deferred indexes at the same time, one connection each (the longest first); an
    index left over when there are fewer connections waits for the first free one."""
    names = [r[0] for r in await conns[0].fetch(_DEFERRED, load_id)]
    free: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
    for conn in conns:
        # No parallel workers for the btree: they took the cores from the GiST build beside it, which has none
        # (PostgreSQL 15), and the GiST is the longest. On a million points: the GiST alone 3.2 s, the btree 1.3 s
        # with two workers and 2.3 s without; the two side by side 2.70-4.05 s with the workers, 2.11-3.45 s
        # without (7 interleaved pairs, a mean difference of 0.28 s; bench/README.md).
        # Each build reads the table from its first page: joined to the scan of the build beside it, the btree's
        # began mid-table, and its rows, all of one code and one time (loaders.merge._AT), came to its sort in two
        # runs instead of one, already in order: 0.69-1.82 s, against 0.69-1.0 s from the first page.
        await conn.execute(_BUILD_SETTINGS)
        free.put_nowait(conn)

    async def build(name: str) -> None:
        conn = await free.get()
        try:
            await conn.fetchval(_RESTORE_INDEX, load_id, name)
        finally:
            free.put_nowait(conn)

    # Every build ends before an error is raised: the clean-up after it uses these connections.
    for outcome in await asyncio.gather(*(build(name) for name in names), return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


async def recover(control: asyncpg.Connection) -> list[str]:
    """Finish the parallel loads that were cut short; returns what was done, one line per load.

    Runs outside a transaction. A load whose lock is held is running and is left alone."""
    loads: dict[str, list[str]] = {}
    for (gid,) in await control.fetch(_PREPARED):
        if (m := _GID.match(gid)) is not None:
            loads.setdefault(m.group(1), []).append(gid)
    for (load_id,) in await control.fetch(_LEFTOVERS):
        if _LOAD_ID.match(load_id):
            loads.setdefault(load_id, [])
    done: list[str] = []
    for load_id, gids in loads.items():
        if not await control.fetchval(_TRY_LOCK, load_id):
            continue
        try:
            verb = "commit" if await control.fetchval(_DECIDED, load_id) else "rollback"
            for gid in gids:
                await control.execute(f"{verb} prepared '{gid}'")
            await control.execute(_FORGET, load_id)
            await control.execute(f"drop table if exists loader.e_{load_id}")
            rebuilt = await control.fetchval(_RESTORE_INDEXES, load_id)
            said = [f"{'committed' if verb == 'commit' else 'rolled back'} {len(gids)} prepared transaction(s)"] \
                if gids else []
            said += [f"built again {rebuilt} index(es) of assets it had deferred"] if rebuilt else []
            if said:
                done.append(f"interrupted load {load_id}: {', '.join(said)}")
        finally:
            await control.execute(_UNLOCK, load_id)
    return done
