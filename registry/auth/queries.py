"""API keys in the database. Used by the HTTP routes and by `registry keys`, through the same policies."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from registry.auth import keys
from registry.auth.models import CreatedKey, KeyInfo
from registry.codes import CodeError, is_prefecture, normalise, prefecture_of
from registry.i18n import message_of, tr
from registry.principal import Principal, Role
from registry.problems import NotFound, invalid_field


async def authenticate(db: asyncpg.Connection, tenant: str, digest: bytes) -> Principal | None:
    """The principal behind a live key (app.authenticate runs as its owner, before any principal is set)."""
    row = await db.fetchrow("select key_id::text, role, tenant_code, prefecture_code, name "
                            "from app.authenticate($1, $2)", tenant, digest)
    return Principal(*row) if row else None


class Entry(msgspec.Struct, frozen=True):
    """What the first statement of a request found: the principal (None for an unknown or revoked key)
    and the rate-limit counts registry/ratelimit.py decides on."""

    principal: Principal | None
    failures: int
    requests: int
    retry_after: int
    lang: str | None = None


# One round trip: count the request and read the address's failures (app.count_request), then turn the key into
# the principal and set it. Session scope: for the connection's session, committed on its own
# (app.enter_session_with_key, sql/150; registry/db/pool.py clears it for the pool's other users). Transaction
# scope: with SET LOCAL, inside the request's transaction (app.enter_local_with_key, sql/175).
_ENTER = """
select r.failures, r.requests, r.retry_after, k.key_id, k.role, k.tenant_code, k.prefecture_code, k.name,
       k.lang
  from app.count_request($3, $4, $5, $6) r
  left join app.{function}($1, $2) k on true
"""
_ENTER_IN = {"session": _ENTER.format(function="enter_session_with_key"),
             "transaction": _ENTER.format(function="enter_local_with_key")}


async def enter_with_key(db: asyncpg.Connection, tenant: str, digest: bytes, failures_bucket: str,
                         key_bucket: str, window_s: int, *, scope: str = "session", hits: int = 1) -> Entry:
    """The key's principal, set for row security on this connection (`scope`: Settings.principal_scope), and
    the counts after adding `hits` requests (this one and those registry/auth/key_cache.py let through)."""
    r = await db.fetchrow(_ENTER_IN[scope], tenant, digest, failures_bucket, key_bucket, window_s, hits)
    principal = Principal(r["key_id"], r["role"], r["tenant_code"], r["prefecture_code"], r["name"]) \
        if r["key_id"] is not None else None
    return Entry(principal, r["failures"], r["requests"], r["retry_after"], r["lang"])


async def count_again(db: asyncpg.Connection, key_bucket: str, window_s: int) -> None:
    """Count a request once more, autocommitted: in transaction scope its first count was rolled back with a
    handler that failed, and a failing request must still count against its key's budget."""
    await db.execute("select from app.count_request(null, $1, $2)", key_bucket, window_s)


_COLUMNS = "key_id::text, role, tenant_code, prefecture_code::text, name, created_at, revoked_at, lang"


async def resolve_tenant(db: asyncpg.Connection, role: Role, tenant: str) -> tuple[str, str | None]:
    """Check that the tenant exists for the role; return (tenant code, prefecture code)."""
    if role == "admin":
        if tenant != "admin":
            raise invalid_field("tenant", tr("admin keys belong to the tenant 'admin'"))
        return "admin", None
    if role == "carrier":
        if not await db.fetchval("select 1 from carriers where carrier_code = $1", tenant):
            raise invalid_field("tenant", tr("no carrier organisation {tenant}; an admin registers it "
                                             "first",
                                             tenant=f"{tenant!r}"))
        return tenant, None
    if role == "supplier":
        if not await db.fetchval("select 1 from suppliers where corporate_number = $1", tenant):
            raise invalid_field("tenant", tr("no supplier with corporate number {tenant}; an admin registers it "
                                             "first", tenant=f"{tenant!r}"))
        return tenant, None
    try:
        code = normalise(tenant)
    except CodeError as exc:
        raise invalid_field("tenant", message_of(exc)) from exc
    if role == "prefecture":
        if not is_prefecture(code):
            raise invalid_field("tenant", tr("{code} is a municipality; a prefecture code ends in 000c, "
                                             "e.g. 130001", code=code))
        return code, code
    kind = await db.fetchval("select kind from municipalities where code = $1", code)
    if kind != "municipality":
        if kind == "ward":
            raise invalid_field("tenant", tr("{code} is a ward of a designated city; keys go to the city",
                                             code=code))
        raise invalid_field("tenant", tr("{code} is not a municipality", code=code))
    return code, prefecture_of(code)


async def create_key(db: asyncpg.Connection, role: Role, tenant: str, name: str,
                     lang: str | None = None) -> CreatedKey:
    tenant_code, prefecture_code = await resolve_tenant(db, role, tenant)
    plaintext, digest = keys.new_key(tenant_code)
    row = await db.fetchrow(
        f"""insert into api_keys (tenant_code, role, prefecture_code, name, key_hash, lang)
            values ($1, $2, $3, $4, $5, $6) returning {_COLUMNS}""",
        tenant_code, role, prefecture_code, name, digest, lang)
    return CreatedKey(plaintext, KeyInfo(*row))


async def list_keys(db: asyncpg.Connection, tenant: str | None, after: str | None, limit: int) -> list[KeyInfo]:
    rows = await db.fetch(
        f"""select {_COLUMNS} from api_keys
             where ($1::text is null or tenant_code = $1)
               and ($2::uuid is null or key_id > $2::uuid)
             order by key_id limit $3""",
        tenant, after, limit)
    return [KeyInfo(*r) for r in rows]


async def revoke_key(db: asyncpg.Connection, key_id: str) -> KeyInfo:
    row = await db.fetchrow(
        f"""update api_keys set revoked_at = coalesce(revoked_at, now())
             where key_id = $1::uuid returning {_COLUMNS}""", key_id)
    if row is None:
        raise NotFound(tr("No key {key_id} among those your key may manage.", key_id=key_id))
    return KeyInfo(*row)


async def set_key_language(db: asyncpg.Connection, key_id: str, lang: str | None) -> KeyInfo:
    """Set the language of a key's problems; row security keeps other tenants' keys out of reach (404)."""
    row = await db.fetchrow(
        f"update api_keys set lang = $2 where key_id = $1::uuid returning {_COLUMNS}", key_id, lang)
    if row is None:
        raise NotFound(tr("No key {key_id} among those your key may manage.", key_id=key_id))
    return KeyInfo(*row)


class SessionEntry(msgspec.Struct, frozen=True):
    """The first statement of a request made with the web map's cookie: as Entry, with the session."""

    principal: Principal | None
    session_id: str | None
    expires_at: datetime | None
    failures: int
    requests: int
    retry_after: int


# Count the request (app.count_request) and find the live session of a live key (app.authenticate_session,
# sql/057); the principal is set by its own statement once the CSRF checks passed.
_ENTER_SESSION = """
select r.failures, r.requests, r.retry_after, s.key_id::text, s.role, s.tenant_code, s.prefecture_code, s.name,
       s.session_id::text, s.expires_at
  from app.count_request($3, $4, $5) r
  left join app.authenticate_session($1, $2) s on true
"""


async def authenticate_session(db: asyncpg.Connection, tenant: str,
                               digest: bytes) -> tuple[Principal, str, datetime] | None:
    """The principal behind a live session of a live key, with the session's id and expiry."""
    row = await db.fetchrow("select key_id::text, role, tenant_code, prefecture_code, name, session_id::text, "
                            "expires_at from app.authenticate_session($1, $2)", tenant, digest)
    return (Principal(*row[:5]), row[5], row[6]) if row else None


async def enter_with_session(db: asyncpg.Connection, tenant: str, digest: bytes, failures_bucket: str,
                             bucket: str, window_s: int) -> SessionEntry:
    r = await db.fetchrow(_ENTER_SESSION, tenant, digest, failures_bucket, bucket, window_s)
    principal = Principal(r["key_id"], r["role"], r["tenant_code"], r["prefecture_code"], r["name"]) \
        if r["key_id"] is not None else None
    return SessionEntry(principal, r["session_id"], r["expires_at"], r["failures"], r["requests"], r["retry_after"])


async def open_session(db: asyncpg.Connection, principal: Principal, digest: bytes, hours: int) -> datetime:
    """A session for the principal's own key (the row policy allows no other); its expiry."""
    return await db.fetchval(
        """insert into web_sessions (tenant_code, key_id, token_hash, expires_at)
           values ($1, $2::uuid, $3, now() + make_interval(hours => $4)) returning expires_at""",
        principal.tenant_code, principal.key_id, digest, hours)


async def close_session(db: asyncpg.Connection, tenant: str, session_id: str) -> bool:
    """Revoke a session; False when there was no live one."""
    done = await db.fetchval(
        """update web_sessions set revoked_at = now()
            where tenant_code = $1 and session_id = $2::uuid and revoked_at is null returning true""",
        tenant, session_id)
    return bool(done)


# --- reads served by a standby (registry/auth/replica_entry.py) ----------------------------------------

class ReplicaEntry(msgspec.Struct, frozen=True):
    """What the primary said about a read a standby will serve: the entry, and the key's last write position."""

    entry: Entry
    written: str | None


# On the primary, autocommitted: count the request, check the key (revocation is seen at once, not after the
# standby's lag) and read its last write position (sql/160). The principal's SET LOCALs end with the statement.
_ENTER_FOR_REPLICA = """
select r.failures, r.requests, r.retry_after, k.key_id, k.role, k.tenant_code, k.prefecture_code, k.name,
       k.lang, app.key_write_lsn(k.key_id::uuid) as written
  from app.count_request($3, $4, $5) r
  left join app.enter_local_with_key($1, $2) k on true
"""


def _entry(r: asyncpg.Record) -> Entry:
    principal = Principal(r["key_id"], r["role"], r["tenant_code"], r["prefecture_code"], r["name"]) \
        if r["key_id"] is not None else None
    return Entry(principal, r.get("failures", 0), r.get("requests", 0), r.get("retry_after", 0), r["lang"])


async def enter_for_replica(db: asyncpg.Connection, tenant: str, digest: bytes, failures_bucket: str,
                            key_bucket: str, window_s: int) -> ReplicaEntry:
    r = await db.fetchrow(_ENTER_FOR_REPLICA, tenant, digest, failures_bucket, key_bucket, window_s)
    return ReplicaEntry(_entry(r), r["written"])


# On the standby, first in the request's transaction: set the principal and say whether the standby has replayed
# the position the read must see ($5; null: any). One round trip, as on the primary; SET LOCAL (sql/175).
_ON_REPLICA = """
select app.set_local_principal($1, $2, $3, $4),
       coalesce(pg_last_wal_replay_lsn() >= $5::text::pg_lsn, true) as caught_up
"""


async def enter_on_replica(db: asyncpg.Connection, principal: Principal, position: str | None) -> bool:
    """Set the principal the primary found; True when the standby has replayed `position`."""
    return await db.fetchval(_ON_REPLICA, principal.role, principal.tenant_code, principal.prefecture_code,
                             principal.key_id, position, column=1)


# With the primary away: the key is checked on the standby itself (app.enter_local_with_key only reads and sets).
_ON_REPLICA_WITH_KEY = """
select k.key_id, k.role, k.tenant_code, k.prefecture_code, k.name, k.lang,
       coalesce(pg_last_wal_replay_lsn() >= $3::text::pg_lsn, true) as caught_up
  from (select) one left join app.enter_local_with_key($1, $2) k on true
"""


async def enter_on_replica_with_key(db: asyncpg.Connection, tenant: str, digest: bytes,
                                    position: str | None) -> tuple[Entry, bool]:
    r = await db.fetchrow(_ON_REPLICA_WITH_KEY, tenant, digest, position)
    return _entry(r), r["caught_up"]
