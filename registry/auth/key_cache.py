"""Keys this worker has checked in the last second, so that a request whose pooled connection already holds its
key's principal skips the key statement (issue 13).

The key statement is one of a keyed read's two round trips. On the bbox search (100,000 points, 1 Granian
worker, 16 at once) skipping it took the database's CPU per request from 1.65 to 1.26 ms and the worker's from
0.87 to 0.69 ms: 650 → 816 req/s in one run (bench/PEERS.md). What the statement did is kept:

- **Revocation.** A worker uses what it remembers only while its listener on `kyodo_keys` is connected
  (`listen`); a key revoked or changed is announced when that commits (sql/210) and forgotten by every worker.
  The worker that served the revocation forgets the key at once (registry/auth/routes.py). With the listener
  away nothing is remembered; `ttl_s` bounds what a lost notification could leave.
- **Rate limits.** A skipped request is counted in memory and added to the database's count by the key's next
  statement on this worker (app.count_request's `p_hits`). A key is let through unchecked only while its known
  count, with what is pending, stays within half its budget; near the limit every request counts in the
  database first, as before, so the 429 comes at the same request. What other workers let through meanwhile
  is at most one second of their own traffic (`ttl_s`). A key whose address has failed too often is never
  let through unchecked.
- **Its principal.** Only a connection whose session holds this key's principal (registry/db/pool.py,
  `holds_key`) serves the request without the statement; any other runs it.

Only in session scope: with KYODO_PRINCIPAL_SCOPE=transaction the principal must be set in every transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import asyncpg

from registry.auth.queries import Entry

log = logging.getLogger(__name__)

CHANNEL = "kyodo_keys"


class _Known(NamedTuple):
    entry: Entry
    at: float


class KeyCache:
    """Pure bookkeeping (no I/O): what a key statement answered, when, and how many requests have passed since
    without one. `enabled` is set by `listen` while the revocation listener is connected."""

    def __init__(self, ttl_s: float, key_requests: int, auth_failures: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.key_requests, self.auth_failures, self.clock = ttl_s, key_requests, auth_failures, clock
        self.enabled = False
        self._known: dict[bytes, _Known] = {}
        # Requests let through and not yet counted in the database, per key; kept when the key is forgotten.
        self._pending: dict[bytes, int] = {}

    def admit(self, digest: bytes, held_key_id: str | None) -> Entry | None:
        """The key's entry if this request may skip the key statement on a connection whose session holds
        `held_key_id`'s principal, counting the request as pending; None: run the statement."""
        known = self._known.get(digest)
        if not self.enabled or known is None or self.clock() - known.at > self.ttl_s:
            return None
        entry = known.entry
        if entry.principal is None or entry.principal.key_id != held_key_id:
            return None
        pending = self._pending.get(digest, 0)
        if entry.failures >= self.auth_failures or 2 * (entry.requests + pending + 1) > self.key_requests:
            return None
        self._pending[digest] = pending + 1
        return entry

    def take_pending(self, digest: bytes) -> int:
        """The requests let through since the key's last statement, now to be counted by the next one."""
        return self._pending.pop(digest, 0)

    def remember(self, digest: bytes, entry: Entry) -> None:
        """What the key statement just answered (a key it did not find is not remembered)."""
        if not self.enabled or entry.principal is None:
            self._known.pop(digest, None)
            return
        self._known[digest] = _Known(entry, self.clock())

    def forget(self, key_id: str | None = None) -> None:
        """Drop one key (revoked or changed), or every key (None: the listener reconnected or went away)."""
        if key_id is None:
            self._known.clear()
            return
        for digest in [d for d, k in self._known.items()
                       if k.entry.principal is not None and k.entry.principal.key_id == key_id]:
            del self._known[digest]


async def listen(cache: KeyCache, url: str, retry_s: float = 1.0) -> None:
    """Keep `cache` enabled exactly while a connection listens on `kyodo_keys`; forget everything whenever it
    (re)connects or drops, since notifications sent meanwhile are lost. Runs until cancelled."""
    while True:
        lost = asyncio.Event()
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(url, server_settings={"application_name": "kyodo-key-cache"})
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            await conn.add_listener(CHANNEL, lambda _conn, _pid, _channel, key_id: cache.forget(key_id))
            cache.forget()
            cache.enabled = True
            await lost.wait()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.info("key cache listener unavailable (%s); keys are checked on every request", exc)
        finally:
            cache.enabled = False
            cache.forget()
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)
        await asyncio.sleep(retry_s)
