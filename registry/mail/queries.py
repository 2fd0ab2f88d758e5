"""Mail SQL: fixed text, $n parameters only. Row security keeps each tenant to its own contacts."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from registry.mail.models import Contact, Outgoing
from registry.principal import Principal

_COLUMNS = """c.contact_id::text, c.tenant_code, c.key_id::text, c.email, c.name, c.language, c.digest, c.event_types,
  c.unsubscribed, c.version, c.created_at"""


def _contact(r: asyncpg.Record) -> Contact:
    return Contact(contact_id=r["contact_id"], tenant_code=r["tenant_code"], key_id=r["key_id"], email=r["email"],
                   name=r["name"], language=r["language"], digest=r["digest"], event_types=list(r["event_types"]),
                   unsubscribed=list(r["unsubscribed"]), version=r["version"], created_at=r["created_at"])


async def insert(db: asyncpg.Connection, who: Principal, key_id: str | None, email: str, name: str | None,
                 language: str, digest: bool, types: list[str], unsubscribed: list[str]) -> Contact:
    row = await db.fetchrow(
        f"""with c as (insert into mail_contacts (tenant_code, role, prefecture_code, key_id, email, name, language,
                                                  digest, event_types, unsubscribed)
                       values ($1, $2, $3, $4::uuid, $5, $6, $7, $8, $9, $10) returning *)
            select {_COLUMNS} from c""",
        who.tenant_code, who.role, who.prefecture_code, key_id, email, name, language, digest, types, unsubscribed)
    return _contact(row)


async def list_mine(db: asyncpg.Connection, after: dt.datetime | None, after_id: str | None,
                    limit: int) -> list[Contact]:
    rows = await db.fetch(f"""select {_COLUMNS} from mail_contacts c
                               where ($1::timestamptz is null or (c.created_at, c.contact_id) > ($1, $2::uuid))
                               order by c.created_at, c.contact_id limit $3""", after, after_id, limit)
    return [_contact(r) for r in rows]


async def get(db: asyncpg.Connection, contact_id: str) -> Contact | None:
    row = await db.fetchrow(f"select {_COLUMNS} from mail_contacts c where c.contact_id = $1::uuid", contact_id)
    return _contact(row) if row else None


async def update(db: asyncpg.Connection, contact_id: str, version: int, email: str | None, name: str | None,
                 language: str | None, digest: bool | None, types: list[str] | None,
                 unsubscribed: list[str] | None) -> Contact | None:
    row = await db.fetchrow(
        f"""with c as (update mail_contacts set email = coalesce($3, email), name = coalesce($4, name),
                              language = coalesce($5, language), digest = coalesce($6, digest),
                              event_types = coalesce($7, event_types), unsubscribed = coalesce($8, unsubscribed),
                              version = version + 1, updated_at = now()
                        where contact_id = $1::uuid and version = $2::bigint returning *)
            select {_COLUMNS} from c""",
        contact_id, version, email, name, language, digest, types, unsubscribed)
    return _contact(row) if row else None


async def delete(db: asyncpg.Connection, contact_id: str) -> bool:
    return await db.fetchval("""with d as (delete from mail_contacts where contact_id = $1::uuid returning 1)
                                select count(*) > 0 from d""", contact_id)


# The worker's side (an admin principal).

async def due(db: asyncpg.Connection, limit: int) -> list[Outgoing]:
    """Pending event mails whose time has come, locked for this worker (others skip them)."""
    rows = await db.fetch(
        """select d.delivery_id, c.email, c.name, c.language, e.type, e.data
             from mail_deliveries d join mail_contacts c using (contact_id) join event_outbox e using (event_id)
            where d.status = 'pending' and d.next_attempt_at <= now() and d.kind = 'event'
            order by d.delivery_id limit $1 for update of d skip locked""", limit)
    return [Outgoing(r["delivery_id"], r["email"], r["name"], r["language"], r["type"], json.loads(r["data"]))
            for r in rows]


async def any_due(db: asyncpg.Connection) -> bool:
    return await db.fetchval("""select exists (select 1 from mail_deliveries
                                                where status = 'pending' and next_attempt_at <= now())""")


async def mark(db: asyncpg.Connection, delivery_id: int, error: str | None) -> None:
    """Sent, or failed with the next attempt in 2^attempts minutes; given up after 10 attempts (about 17 hours)."""
    await db.execute(
        """update mail_deliveries set attempts = attempts + 1, last_error = $2,
                  status = case when $2::text is null then 'sent' when attempts >= 9 then 'failed' else 'pending' end,
                  sent_at = case when $2::text is null then now() end,
                  next_attempt_at = now() + make_interval(mins => power(2, attempts)::int)
            where delivery_id = $1""", delivery_id, error)


async def digest_contacts(db: asyncpg.Connection) -> list[asyncpg.Record]:
    """Digest contacts not yet sent today's digest (the day in JST, when the clerks read it): a job run twice,
    after a worker restart or by a second worker, sends one mail, not two."""
    return await db.fetch("""select c.contact_id::text, c.tenant_code, c.role, c.prefecture_code, c.email, c.name,
                                    c.language
                               from mail_contacts c
                              where c.digest
                                and not exists (select 1 from mail_deliveries d
                                                 where d.contact_id = c.contact_id and d.kind = 'digest'
                                                   and d.status = 'sent'
                                                   and d.sent_at >= (date_trunc('day', now() at time zone 'Asia/Tokyo')
                                                                     at time zone 'Asia/Tokyo'))
                              order by c.contact_id""")


async def record_digest(db: asyncpg.Connection, contact_id: str, tenant: str, error: str | None) -> None:
    await db.execute("""insert into mail_deliveries (contact_id, tenant_code, kind, status, attempts, last_error,
                                                     sent_at)
                        values ($1::uuid, $2, 'digest', case when $3::text is null then 'sent' else 'failed' end, 1,
                                $3, case when $3::text is null then now() end)""", contact_id, tenant, error)
