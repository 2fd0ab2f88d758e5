"""A keyed read served by a streaming standby (registry/db/replicas.py has the routing rules).

The primary still counts the request and checks the key, in one autocommitted statement that also returns the
key's last write position (a standby cannot write the rate-limit counter, and a revoked key must stop at once).
The standby's transaction then sets the principal and checks that it has replayed the position the read must
see, in one statement: BEGIN, that statement, the handler's queries, COMMIT, as on the primary. The primary's
statement is sent as the request starts and runs while the standby's connection is taken and BEGIN sent, so the
read waits for four round trips in a row, as on the primary alone. A standby that
has not caught up is left for the next one, then for the primary; with the primary away, the standby checks the
key itself and the request is counted in the process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import asyncpg
from litestar.types import ASGIApp, Receive, Scope, Send

from registry import ratelimit
from registry.auth import queries
from registry.auth.queries import Entry
from registry.db.pool import pooled, request_transaction, set_principal
from registry.db.replicas import (
    ReplicaSet,
    format_lsn,
    is_read_route,
    parse_lsn,
    primary_away,
    replicas_of,
    requested_position,
)
from registry.i18n import SCOPE_KEY
from registry.principal import Principal
from registry.problems import is_unavailable
from registry.settings import Settings

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Behind(Exception):
    """The standby has not replayed the position this read must see."""


class _Admission:
    """The primary's word on a read (counted, key checked, last write position), asked as the request starts and
    awaited only inside the standby's transaction: the primary's round trip overlaps the standby's connection and
    BEGIN instead of coming before them. Decided once: 429 and 401 raise, every later await gives the same."""

    def __init__(self, replicas: ReplicaSet, scope: Scope, settings: Settings, tenant: str, digest: bytes,
                 wanted: int) -> None:
        self.replicas, self.settings, self.wanted = replicas, settings, wanted
        self.key_bucket = ratelimit.key_bucket(digest)
        self.asking = asyncio.ensure_future(self._ask(scope, tenant, digest)) if replicas.primary_up else None
        self.decided: tuple[Entry | None, str | None] | None = None

    async def _ask(self, scope: Scope, tenant: str, digest: bytes) -> queries.ReplicaEntry | None:
        try:
            async with pooled(self.replicas.counting) as conn:
                return await queries.enter_for_replica(conn, tenant, digest, ratelimit.failures_bucket(scope),
                                                       self.key_bucket, self.settings.rate_window_s)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.replicas.primary_up = False
            return None

    async def decide(self, refuse: Callable[[], Exception]) -> tuple[Entry | None, str | None]:
        """(the primary's entry, None when the primary is away; the WAL position the read must see)."""
        if self.decided is None:
            found = await self.asking if self.asking is not None else None
            wanted = self.wanted
            if found is None:
                requests, retry = ratelimit.LOCAL_COUNTS.count(self.key_bucket, self.settings.rate_window_s,
                                                               time.time())
                ratelimit.enforce(self.settings, 0, requests, retry)
            else:
                ratelimit.enforce(self.settings, found.entry.failures, found.entry.requests, found.entry.retry_after)
                if found.entry.principal is None:
                    raise refuse()
                wanted = max(wanted, parse_lsn(found.written) if found.written else 0)
            self.decided = (found.entry if found else None, format_lsn(wanted) if wanted else None)
        return self.decided

    def cancel(self) -> None:
        if self.asking is not None and not self.asking.done():
            self.asking.cancel()


async def serve(app: ASGIApp, scope: Scope, receive: Receive, send: Send, tenant: str, digest: bytes,
                refuse: Callable[[], Exception]) -> bool:
    """Answer a keyed request if it is the replicas' business; False leaves it to the primary's usual path.
    `refuse` is the 401 of an unknown or revoked key."""
    replicas = replicas_of(scope["app"].state)
    reads = is_read_route(scope["method"], scope["path"])
    # A malformed position is refused with or without replicas: the same request must not pass on one server
    # and fail on another.
    wanted = requested_position(scope) if reads else 0
    if replicas is None:
        return False
    if not reads:
        if scope["method"] in _WRITES and not replicas.primary_up:
            raise primary_away()
        return False
    admission = _Admission(replicas, scope, scope["app"].state.settings, tenant, digest, wanted)
    try:
        if await _on_a_replica(replicas, app, scope, receive, send, admission, tenant, digest, refuse):
            return True
        entry, _ = await admission.decide(refuse)
    finally:
        admission.cancel()
    if entry is None or entry.principal is None:
        raise primary_away()  # no standby has what this read must see, and the primary is away
    async with request_transaction(scope["app"].state.pool, scope) as held:  # type: ignore[arg-type]
        await set_principal(held.conn, entry.principal)
        _admit(scope, entry.principal, entry.lang)
        await app(scope, receive, send)
    return True


async def _on_a_replica(replicas: ReplicaSet, app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                        admission: _Admission, tenant: str, digest: bytes, refuse: Callable[[], Exception]) -> bool:
    for replica in replicas.candidates():
        started = False
        try:
            async with request_transaction(replica.pool, scope) as held:  # type: ignore[arg-type]
                entry, position = await admission.decide(refuse)
                if entry is not None and entry.principal is not None:
                    principal, lang = entry.principal, entry.lang
                    caught_up = await queries.enter_on_replica(held.conn, principal, position)
                else:
                    found, caught_up = await queries.enter_on_replica_with_key(held.conn, tenant, digest, position)
                    if found.principal is None:
                        raise refuse()
                    principal, lang = found.principal, found.lang
                if not caught_up:
                    raise _Behind
                _admit(scope, principal, lang)
                started = True
                await app(scope, receive, send)
            return True
        except _Behind:
            continue
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            if started or not is_unavailable(exc):
                raise
            replica.up = False  # the poller brings it back once it answers again
    return False


def _admit(scope: Scope, principal: Principal, lang: str | None) -> None:
    scope["user"] = principal
    scope["auth"] = principal.key_id
    if lang:
        scope[SCOPE_KEY] = lang  # type: ignore[literal-required]
