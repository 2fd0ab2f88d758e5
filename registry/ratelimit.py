"""Rate limits shared by every worker of a server, counted in PostgreSQL (sql/055_rate_limits.sql).

Two budgets, each over a fixed window of `rate_window_s` seconds:
- failed authentications per client address (a key-guessing client gets 429 after
  `rate_auth_failures`, before its next guess is even looked up);
- requests per key (`rate_key_requests`), so a runaway script slows down instead of starving others.
Both answer 429 problem+json with Retry-After: the seconds left in the window. Litestar's own rate
limiter keeps one budget in a store it reads and then writes (two workers can both pass at the
limit); these counters are bumped and read in one statement. A request's count is made by the statement
that also sets its principal (sql/058, sql/150, registry/auth/middleware.py): no round trip of its own; a
request that skips that statement (registry/auth/key_cache.py) is counted by the key's next one (sql/210).
It is committed before the handler runs, so a failed handler cannot take it back; with
KYODO_PRINCIPAL_SCOPE=transaction it commits with the handler's work, and a handler that rolls back is
counted again on its own (registry/db/pool.py). Each
database backend counts on a row of its own, so concurrent requests of one key never wait for each
other's commit; the budget is the sum. While the database is away the request answers 503: neither its
key nor its budget can be checked.
"""

from __future__ import annotations

import asyncpg
from litestar.exceptions import NotAuthorizedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry.db.pool import pooled
from registry.i18n import tr
from registry.problems import Problem, is_unavailable
from registry.settings import Settings

_LIMITED_PREFIXES = ("/v1/", "/ogc")

# A failed authentication, counted on the address's row (shard 0); returns the count before it.
_FAILED = """
insert into app.rate_counters as c (bucket, window_start, shard, hits)
values ($1, to_timestamp(floor(extract(epoch from now()) / $2) * $2), 0, 1)
on conflict (bucket, window_start, shard) do update set hits = c.hits + 1
returning (select coalesce(sum(o.hits), 0)::integer from app.rate_counters o
            where o.bucket = $1 and o.window_start = c.window_start) as before,
          ceil(extract(epoch from c.window_start + make_interval(secs => $2) - now()))::integer as retry_after
"""
# Windows older than this are deleted now and then: by app.count_request, and here every 1,000th failure.
_PRUNE = "delete from app.rate_counters where window_start < now() - make_interval(secs => $1 * 2)"


class TooManyRequests(Problem):
    status, title, slug = 429, tr("Too many requests"), "too-many-requests"


def key_bucket(digest: bytes) -> str:
    """The key's bucket: the first 128 bits of its SHA-256 (the hash the key is stored under)."""
    return "key:" + digest.hex()[:32]


def failures_bucket(scope: Scope) -> str:
    client = scope.get("client")
    return "auth:" + (client[0] if client else "unknown")


def enforce(settings: Settings, failures: int, requests: int, retry_after: int) -> None:
    """429 when the address has failed too often or the key has spent its budget (counts from the
    request's first statement, registry/auth/queries.py)."""
    retry = {"Retry-After": str(max(1, retry_after))}
    if failures >= settings.rate_auth_failures:
        raise TooManyRequests(
            tr("Too many requests with a missing, unknown or revoked key came from your address "
               "({failures} in {rate_window_s} s). Check the key you send, then try again after {retry} s.",
               failures=failures, rate_window_s=settings.rate_window_s, retry=retry['Retry-After']),
            headers=retry)
    if requests > settings.rate_key_requests:
        raise TooManyRequests(
            tr("Your key has made more than {rate_key_requests} requests in {rate_window_s} s. Slow down "
               "(follow `next` links with larger `limit`s, or use the change feed) and try again after "
               "{retry} s.",
               rate_key_requests=settings.rate_key_requests, rate_window_s=settings.rate_window_s,
               retry=retry['Retry-After']), headers=retry)


_writes = 0


async def _prune_now_and_then(conn: asyncpg.Connection, window_s: int) -> None:
    global _writes
    _writes += 1
    if _writes % 1000 == 0:
        await conn.execute(_PRUNE, window_s)


class RateLimitMiddleware:
    """Counts failed authentications (a 401) per client address, and answers 429 instead of 401 to an
    address already over its budget. The per-key budget and the address check of a request with a
    well-formed key are made by the key middleware, in the statement that sets the principal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        pool: asyncpg.Pool = scope["app"].state.pool
        address = failures_bucket(scope)
        status = 0

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except NotAuthorizedException:
            await self._count_failure(pool, settings, address, refuse=True)
            raise
        if status == 401:
            await self._count_failure(pool, settings, address, refuse=False)

    async def _count_failure(self, pool: asyncpg.Pool, settings: Settings, address: str, refuse: bool) -> None:
        try:
            async with pooled(pool) as conn:
                row = await conn.fetchrow(_FAILED, address, settings.rate_window_s)
                await _prune_now_and_then(conn, settings.rate_window_s)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return
        if refuse:
            enforce(settings, row["before"], 0, row["retry_after"])


class LocalCounts:
    """Requests per key counted in this process, for reads standbys serve while the primary (which keeps the
    shared counts) is away: each of N workers then allows the budget, N times it in all, for as long as the
    outage lasts; better than no limit, and the shared count resumes when the primary is back."""

    def __init__(self) -> None:
        self.window = -1
        self.hits: dict[str, int] = {}

    def count(self, bucket: str, window_s: int, now: float) -> tuple[int, int]:
        """(requests in the current window including this one, seconds left in it)."""
        window = int(now // window_s)
        if window != self.window:
            self.window, self.hits = window, {}
        self.hits[bucket] = self.hits.get(bucket, 0) + 1
        return self.hits[bucket], max(1, int((window + 1) * window_s - now + 0.999))


LOCAL_COUNTS = LocalCounts()
