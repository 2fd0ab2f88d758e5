"""A keyed read served by a streaming standby (registry/db/replicas.py has the routing rules).

The primary still counts the request and checks the key, in one autocommitted statement that also returns the
key's last write position (a standby cannot write the rate-limit counter, and a revoked key must stop at once).
The standby's transaction then sets the principal and checks that it has replayed the position the read must
see, in one statement: BEGIN, that statement, the handler's queries, COMMIT, as on the primary. A standby that
has not caught up is left for the next one, then for the primary; with the primary away, the standby checks the
key itself and the request is counted in the process.
"""

from __future__ import annotations

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
    settings: Settings = scope["app"].state.settings
    key_bucket = ratelimit.key_bucket(digest)
    entry: Entry | None = None
    if replicas.primary_up:
        try:
            async with pooled(replicas.counting) as conn:
                found = await queries.enter_for_replica(conn, tenant, digest, ratelimit.failures_bucket(scope),
                                                        key_bucket, settings.rate_window_s)
            entry = found.entry
            wanted = max(wanted, parse_lsn(found.written) if found.written else 0)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            replicas.primary_up = False
    if entry is not None:
        ratelimit.enforce(settings, entry.failures, entry.requests, entry.retry_after)
        if entry.principal is None:
            raise refuse()
    else:
        requests, retry_after = ratelimit.LOCAL_COUNTS.count(key_bucket, settings.rate_window_s, time.time())
        ratelimit.enforce(settings, 0, requests, retry_after)
    position = format_lsn(wanted) if wanted else None
    if await _on_a_replica(replicas, app, scope, receive, send, entry, tenant, digest, position, refuse):
        return True
    if entry is None or entry.principal is None:
        raise primary_away()  # no standby has what this read must see, and the primary is away
    async with request_transaction(scope["app"].state.pool, scope) as held:  # type: ignore[arg-type]
        await set_principal(held.conn, entry.principal)
        _admit(scope, entry.principal, entry.lang)
        await app(scope, receive, send)
    return True


async def _on_a_replica(replicas: ReplicaSet, app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                        entry: Entry | None, tenant: str, digest: bytes, position: str | None,
                        refuse: Callable[[], Exception]) -> bool:
    for replica in replicas.candidates():
        started = False
        try:
            async with request_transaction(replica.pool, scope) as held:  # type: ignore[arg-type]
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
