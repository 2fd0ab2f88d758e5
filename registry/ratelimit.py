"""Rate limits shared by every worker of a server, counted in PostgreSQL (sql/055_rate_limits.sql).

Two budgets, each over a fixed window of `rate_window_s` seconds:
- failed authentications per client address (a key-guessing client gets 429 after
  `rate_auth_failures`, before its next guess is even looked up);
- requests per key (`rate_key_requests`), so a runaway script slows down instead of starving others.
Both answer 429 problem+json with Retry-After: the seconds left in the window. Litestar's own rate
limiter keeps one budget in a store it reads and then writes (two workers can both pass at the
limit); these counters are bumped and read in one atomic statement. While the database is away the
limits are not enforced: every route that needs the database answers 503 then anyway.
"""

from __future__ import annotations

import hashlib

import asyncpg
from litestar.exceptions import NotAuthorizedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry.db.pool import pooled
from registry.problems import Problem, is_unavailable
from registry.settings import Settings

_LIMITED_PREFIXES = ("/v1/", "/ogc")

# $1 the address's failure bucket, $2 the key's bucket (null without a key), $3 the window in seconds.
_CHECK = """
with w as (select to_timestamp(floor(extract(epoch from now()) / $3) * $3) as start),
bumped as (
  insert into app.rate_counters (bucket, window_start, hits)
  select $2, w.start, 1 from w where $2::text is not null
  on conflict (bucket, window_start) do update set hits = app.rate_counters.hits + 1
  returning hits
)
select coalesce((select c.hits from app.rate_counters c, w where c.bucket = $1 and c.window_start = w.start), 0)
         as failures,
       coalesce((select hits from bumped), 0) as requests,
       ceil(extract(epoch from (select start from w) + make_interval(secs => $3) - now()))::int as retry_after
"""
_FAILED = """
insert into app.rate_counters (bucket, window_start, hits)
values ($1, to_timestamp(floor(extract(epoch from now()) / $2) * $2), 1)
on conflict (bucket, window_start) do update set hits = app.rate_counters.hits + 1
"""
# Windows older than this are deleted now and then (every 1,000th request of a process).
_PRUNE = "delete from app.rate_counters where window_start < now() - make_interval(secs => $1 * 2)"


class TooManyRequests(Problem):
    status, title, slug = 429, "Too many requests", "too-many-requests"


def _bucket_for_key(scope: Scope) -> str | None:
    """The key's bucket; a web map session (its cookie, registry/auth/sessions.py) counts as a key of its own."""
    session = None
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return "key:" + hashlib.sha256(value.split(b" ", 1)[-1].strip()).hexdigest()[:32]
        if name == b"cookie":
            for part in value.split(b";"):
                cookie, _, token = part.strip().partition(b"=")
                if cookie == b"kyodo_session" and token:
                    session = "key:" + hashlib.sha256(token).hexdigest()[:32]
    return session


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return "auth:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        pool: asyncpg.Pool = scope["app"].state.pool
        address = _client_address(scope)
        await self._check(pool, settings, address, _bucket_for_key(scope))
        status = 0

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except NotAuthorizedException:
            await self._count_failure(pool, settings, address)
            raise
        if status == 401:
            await self._count_failure(pool, settings, address)

    async def _check(self, pool: asyncpg.Pool, settings: Settings, address: str, key: str | None) -> None:
        self.requests += 1
        try:
            async with pooled(pool) as conn:
                row = await conn.fetchrow(_CHECK, address, key, settings.rate_window_s)
                if self.requests % 1000 == 0:
                    await conn.execute(_PRUNE, settings.rate_window_s)
        except Exception as exc:
            if is_unavailable(exc):
                return
            raise
        retry = {"Retry-After": str(max(1, row["retry_after"]))}
        if row["failures"] >= settings.rate_auth_failures:
            raise TooManyRequests(
                f"Too many requests with a missing, unknown or revoked key came from your address "
                f"({row['failures']} in {settings.rate_window_s} s). Check the key you send, then try again "
                f"after {retry['Retry-After']} s.", headers=retry)
        if row["requests"] > settings.rate_key_requests:
            raise TooManyRequests(
                f"Your key has made more than {settings.rate_key_requests} requests in {settings.rate_window_s} s. "
                f"Slow down (follow `next` links with larger `limit`s, or use the change feed) and try again "
                f"after {retry['Retry-After']} s.", headers=retry)

    async def _count_failure(self, pool: asyncpg.Pool, settings: Settings, address: str) -> None:
        try:
            async with pooled(pool) as conn:
                await conn.execute(_FAILED, address, settings.rate_window_s)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
