"""Read replicas: which requests a streaming standby may serve, which standby, and when it has caught up.

`DATABASE_REPLICA_URLS` names one or more hot standbys. The read-only routes (READ_ROUTES: searches, OGC items
and tiles, statistics, coverage, the change feed, exports) are served from one of them; everything else, and a
read no standby has caught up for, from the primary. docs/scaling.md has the whole design and its numbers.

- Read-your-writes. A write answers with `Kyodo-WAL-Position`, the primary's WAL insert position taken after its
  COMMIT (so at or past the commit record), and the primary remembers it per key (sql/160). A read carrying the
  header, or made by a key with a remembered position, goes to a standby only if `pg_last_wal_replay_lsn()` there
  has reached the larger of the two; the check is part of the statement that sets the principal on the standby,
  so it costs no round trip of its own.
- Lag. A poller samples the primary's WAL position and each standby's replay position every
  `replica_check_s`; a standby's lag is how long ago the primary was at the oldest sampled position the standby
  has not replayed (LagClock). A standby that is down or lags more than `replica_max_lag_s` is skipped.
- Primary away. Reads go on from the standbys (key checked on the standby, rate limit counted in the process);
  writes answer 503 (PrimaryAway).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
from litestar.datastructures import State
from litestar.types import Message, Scope

from registry.db import replica_queries
from registry.db.pool import create_pool, held_connection, is_gone
from registry.i18n import tr
from registry.problems import Problem, invalid_field, is_unavailable
from registry.settings import Settings

log = logging.getLogger(__name__)

WAL_HEADER = "Kyodo-WAL-Position"
_SAFE = frozenset({"GET", "HEAD"})

# The routes a standby serves: they only read (POST /v1/assets/search is a search with its polygon in the
# body). Listed here, once, by path rather than marked on each handler, so the routing reads in one place.
READ_ROUTES: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = tuple(
    (frozenset(methods), re.compile(pattern)) for methods, pattern in (
        (_SAFE, r"/v1/assets"),
        ({"POST"}, r"/v1/assets/search"),
        (_SAFE, r"/v1/assets/export"),
        (_SAFE, r"/v1/assets/changes"),
        (_SAFE, r"/v1/stats/assets"),
        (_SAFE, r"/v1/tiles/assets/\d+/\d+/[^/]+"),
        (_SAFE, r"/v1/priority-areas/coverage"),
        (_SAFE, r"/ogc/collections/[^/]+/items(/[^/]+)?"),
        (_SAFE, r"/ogc/collections/[^/]+/tiles/WebMercatorQuad/\d+/[^/]+/[^/]+"),
    ))


def is_read_route(method: str, path: str) -> bool:
    return any(method in methods and pattern.fullmatch(path) for methods, pattern in READ_ROUTES)


def parse_lsn(text: str) -> int:
    """PostgreSQL's `16/B374D848` as a number (ValueError for anything else)."""
    high, sep, low = text.strip().partition("/")
    if not sep or not (0 < len(high) <= 8 and 0 < len(low) <= 8):
        raise ValueError(text)
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def requested_position(scope: Scope) -> int:
    """The WAL position a read sent back (0 when it sent none); 400 for a malformed one."""
    for name, value in scope["headers"]:
        if name == b"kyodo-wal-position":
            try:
                return parse_lsn(value.decode("latin-1"))
            except ValueError:
                raise invalid_field(WAL_HEADER, tr("is not a WAL position; send back the {header} header a write "
                                                   "answered with (such as 0/16B3748)",
                                                   header=WAL_HEADER)) from None
    return 0


class PrimaryAway(Problem):
    status, title, slug = 503, tr("Service unavailable"), "primary-unavailable"


def primary_away() -> PrimaryAway:
    return PrimaryAway(tr("The primary database is not reachable, so changes cannot be saved right now; reads "
                          "still answer from its replicas. Try again shortly."), headers={"Retry-After": "5"})


class LagClock:
    """The primary's WAL positions over the last `keep_s` seconds, to tell how far behind a standby is in time.

    Replay timestamps (pg_last_xact_replay_timestamp) grow while nothing is written, so an idle standby would
    look ever later; a position comparison does not: a standby that has replayed everything sampled lags 0."""

    def __init__(self, keep_s: float = 120.0) -> None:
        self.keep_s = keep_s
        self.samples: deque[tuple[float, int]] = deque()

    def sample(self, at: float, lsn: int) -> None:
        if not self.samples or lsn > self.samples[-1][1]:
            self.samples.append((at, lsn))
        while len(self.samples) > 1 and self.samples[0][0] < at - self.keep_s:
            self.samples.popleft()

    def lag(self, now: float, replayed: int) -> float:
        """Seconds since the primary stood at the oldest sampled position beyond `replayed` (0 if none)."""
        for at, lsn in self.samples:
            if lsn > replayed:
                return max(0.0, now - at)
        return 0.0


@dataclass
class Replica:
    name: str
    pool: asyncpg.Pool
    up: bool = False
    replayed: int = 0
    lag_s: float = math.inf


@dataclass
class ReplicaSet:
    """The standbys of one server process, the primary's state as last seen, and the poller that keeps both."""

    settings: Settings
    counting: asyncpg.Pool
    """Primary connections for the one statement a replica-served read makes there (count, key, last write),
    with synchronous_commit off: a rate-limit count lost in a crash costs nothing, an fsync per read would."""
    replicas: list[Replica]
    primary_up: bool = True
    clock: LagClock = field(default_factory=LagClock)
    _turn: itertools.count = field(default_factory=itertools.count)

    @classmethod
    async def open(cls, settings: Settings) -> ReplicaSet:
        # min_size=0: a standby that is down when the server starts is skipped, not fatal.
        counting = await create_pool(settings, min_size=0, max_size=max(2, settings.pool_max // 2),
                                     extra={"synchronous_commit": "off"})
        pools = [await create_pool(settings, url=url, min_size=0, application_name="kyodo-registry-replica")
                 for url in settings.replica_api_urls]
        return cls(settings, counting, [Replica(f"replica{n}", p) for n, p in enumerate(pools, 1)])

    async def close(self) -> None:
        for pool in (self.counting, *(r.pool for r in self.replicas)):
            await pool.close()

    def candidates(self) -> list[Replica]:
        """The standbys that are up and within the lag bound, taken in turn so that each carries its share."""
        bound = self.settings.replica_max_lag_s
        fit = [r for r in self.replicas if r.up and (r.lag_s <= bound or not self.primary_up)]
        if not fit:
            return []
        start = next(self._turn) % len(fit)
        return fit[start:] + fit[:start]

    async def poll(self) -> None:
        """One round: the primary's position, then each standby's replay position and lag."""
        try:
            async with self.counting.acquire() as conn:
                self.clock.sample(time.monotonic(), parse_lsn(await replica_queries.primary_position(conn)))
            self.primary_up = True
        except Exception as exc:
            self.primary_up = False
            if not is_unavailable(exc):
                log.warning("the primary did not answer the replica poll: %s", exc)
        for replica in self.replicas:
            try:
                async with replica.pool.acquire() as conn:
                    replayed = await replica_queries.replayed_position(conn)
            except Exception as exc:
                replica.up = False
                if not is_unavailable(exc):  # a database missing on it, a refused login: skipped all the same
                    log.warning("%s did not answer the replica poll: %s", replica.name, exc)
                continue
            replica.up = replayed is not None  # None: it was promoted, or is no standby at all
            replica.replayed = parse_lsn(replayed) if replayed else 0
            replica.lag_s = self.clock.lag(time.monotonic(), replica.replayed)

    async def poll_forever(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:  # a poller that dies would freeze the routing: log and go on
                log.exception("replica poll failed")
            await asyncio.sleep(self.settings.replica_check_s)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ReplicaSet]:
        await self.poll()
        task = asyncio.create_task(self.poll_forever())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.close()


def replicas_of(state: State) -> ReplicaSet | None:
    return state.get("replicas")


async def add_wal_position(message: Message, scope: Scope) -> None:
    """A write's answer carries `Kyodo-WAL-Position` (before_send), and the primary remembers it for the key.

    Litestar commits the handler's transaction before the answer starts (registry/db/pool.py), so here, on
    the same connection, pg_current_wal_insert_lsn() is at or past the commit record. Only with replicas
    configured: one more round trip per write, none without."""
    if message["type"] != "http.response.start" or message["status"] >= 400:
        return
    state: State = scope["app"].state
    if replicas_of(state) is None or scope["method"] in _SAFE or is_read_route(scope["method"], scope["path"]):
        return
    held, principal = held_connection(scope), scope.get("user")
    if held is None or principal is None or is_gone(held.conn) or held.conn.is_in_transaction():
        return  # nothing was committed by the handler (it had no `db`, or still holds its transaction)
    try:
        position = await replica_queries.note_write(held.conn, principal.key_id)
    except Exception as exc:
        # The write has committed; with the primary gone there is no position to give (reads go to standbys).
        if not is_unavailable(exc):
            raise
        return
    message["headers"] = [*message.get("headers", []), (b"kyodo-wal-position", position.encode())]
