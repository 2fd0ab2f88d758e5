"""Webhook SQL: fixed text, $n parameters only. Row security keeps each tenant to its own subscriptions."""

from __future__ import annotations

import datetime as dt

import asyncpg

from registry.principal import Principal
from registry.webhooks.models import Delivery, Pending, Subscription, Target

_COLUMNS = """s.subscription_id::text, s.tenant_code, s.url, s.event_types, s.prefectures,
  case when s.area is null then null
       else array[ST_XMin(s.area), ST_YMin(s.area), ST_XMax(s.area), ST_YMax(s.area)] end as bbox,
  s.description, s.status, s.failing_since, s.version, s.created_at"""


def _subscription(r: asyncpg.Record, secret: str | None = None) -> Subscription:
    return Subscription(subscription_id=r["subscription_id"], tenant_code=r["tenant_code"], url=r["url"],
                        event_types=list(r["event_types"]), prefectures=list(r["prefectures"]),
                        bbox=list(r["bbox"]) if r["bbox"] else None, description=r["description"],
                        status=r["status"], failing_since=r["failing_since"], version=r["version"],
                        created_at=r["created_at"], secret=secret)


async def insert(db: asyncpg.Connection, who: Principal, url: str, types: list[str], prefectures: list[str],
                 bbox: list[float] | None, description: str | None, secret: str) -> Subscription:
    row = await db.fetchrow(
        f"""with s as (
              insert into webhook_subscriptions (tenant_code, role, prefecture_code, url, event_types, prefectures,
                                                 area, description, secret)
              values ($1, $2, $3, $4, $5, $6,
                      case when $7::float8[] is null then null
                           else ST_MakeEnvelope($7[1], $7[2], $7[3], $7[4], 4326) end, $8, $9)
              returning *)
            select {_COLUMNS} from s""",
        who.tenant_code, who.role, who.prefecture_code, url, types, prefectures, bbox, description, secret)
    return _subscription(row, secret)


async def list_mine(db: asyncpg.Connection, after: dt.datetime | None, after_id: str | None,
                    limit: int) -> list[Subscription]:
    rows = await db.fetch(
        f"""select {_COLUMNS} from webhook_subscriptions s
             where ($1::timestamptz is null or (s.created_at, s.subscription_id) > ($1, $2::uuid))
             order by s.created_at, s.subscription_id limit $3""", after, after_id, limit)
    return [_subscription(r) for r in rows]


async def get(db: asyncpg.Connection, subscription_id: str) -> Subscription | None:
    row = await db.fetchrow(f"select {_COLUMNS} from webhook_subscriptions s where s.subscription_id = $1::uuid",
                            subscription_id)
    return _subscription(row) if row else None


async def update(db: asyncpg.Connection, subscription_id: str, version: int, url: str | None,
                 types: list[str] | None, prefectures: list[str] | None, bbox: list[float] | None,
                 description: str | None, paused: bool | None) -> Subscription | None:
    """Apply the fields given; a paused subscription keeps its deliveries pending. None when `version` is stale."""
    row = await db.fetchrow(
        f"""with s as (
              update webhook_subscriptions set url = coalesce($3, url), event_types = coalesce($4, event_types),
                     prefectures = coalesce($5, prefectures),
                     area = case when $6::float8[] is null then area
                                 else ST_MakeEnvelope($6[1], $6[2], $6[3], $6[4], 4326) end,
                     description = coalesce($7, description),
                     status = case when $8 then 'paused' when not $8 then 'active' else status end,
                     failing_since = case when $8 is not null then null else failing_since end,
                     version = version + 1, updated_at = now()
               where subscription_id = $1::uuid and version = $2::bigint
              returning *)
            select {_COLUMNS} from s""",
        subscription_id, version, url, types, prefectures, bbox, description, paused)
    return _subscription(row) if row else None


async def rotate(db: asyncpg.Connection, subscription_id: str, secret: str, grace_hours: int) -> Subscription | None:
    row = await db.fetchrow(
        f"""with s as (
              update webhook_subscriptions set previous_secret = secret, secret = $2,
                     previous_secret_until = now() + make_interval(hours => $3),
                     version = version + 1, updated_at = now()
               where subscription_id = $1::uuid returning *)
            select {_COLUMNS} from s""", subscription_id, secret, grace_hours)
    return _subscription(row, secret) if row else None


async def delete(db: asyncpg.Connection, subscription_id: str) -> bool:
    return await db.fetchval("""with d as (delete from webhook_subscriptions where subscription_id = $1::uuid
                                           returning 1) select count(*) > 0 from d""", subscription_id)


async def deliveries(db: asyncpg.Connection, subscription_id: str, status: str | None, before: int | None,
                     limit: int) -> list[Delivery]:
    """The delivery log, newest first."""
    rows = await db.fetch(
        """select d.delivery_id, d.event_id, e.type, d.subject, d.status, d.attempts, d.next_attempt_at,
                  d.last_status, d.last_error, d.delivered_at, e.occurred_at
             from webhook_deliveries d join event_outbox e using (event_id)
            where d.subscription_id = $1::uuid and ($2::text is null or d.status = $2)
              and ($3::bigint is null or d.delivery_id < $3)
            order by d.delivery_id desc limit $4""", subscription_id, status, before, limit)
    return [Delivery(delivery_id=r["delivery_id"], event_id=r["event_id"], webhook_id=message_id(r["event_id"]),
                     type=r["type"], subject=r["subject"], status=r["status"], attempts=r["attempts"],
                     next_attempt_at=r["next_attempt_at"], last_status=r["last_status"], last_error=r["last_error"],
                     delivered_at=r["delivered_at"], occurred_at=r["occurred_at"]) for r in rows]


async def redeliver(db: asyncpg.Connection, subscription_id: str, delivery_ids: list[int]) -> int:
    """Failed (or the named) deliveries back to pending, from now, and the subscription active again."""
    n = await db.fetchval(
        """with d as (update webhook_deliveries set status = 'pending', next_attempt_at = now(), attempts = 0,
                                                   first_attempt_at = null
                       where subscription_id = $1::uuid and status <> 'pending'
                         and (cardinality($2::bigint[]) = 0 and status = 'failed' or delivery_id = any($2))
                      returning 1)
           select count(*) from d""", subscription_id, delivery_ids)
    await db.execute("""update webhook_subscriptions set status = 'active', failing_since = null
                         where subscription_id = $1::uuid and status = 'failing'""", subscription_id)
    await db.execute("select pg_notify('kyodo_events', '')")
    return n


def message_id(event_id: int) -> str:
    """The webhook-id of an event: the same on every attempt, so receivers drop repeats."""
    return f"msg_{event_id}"


# The worker's side: it runs as an admin principal and sees every subscription.

async def due_subscriptions(db: asyncpg.Connection) -> list[str]:
    """Subscriptions with a delivery due now, not paused, and not held by a live worker."""
    rows = await db.fetch(
        """select s.subscription_id::text from webhook_subscriptions s
            where s.status <> 'paused' and (s.lease_until is null or s.lease_until < now())
              and exists (select 1 from webhook_deliveries d where d.subscription_id = s.subscription_id
                             and d.status = 'pending' and d.next_attempt_at <= now())""")
    return [r["subscription_id"] for r in rows]


async def take_lease(db: asyncpg.Connection, subscription_id: str, seconds: float) -> Target | None:
    """Hold the subscription for `seconds` (renewed while delivering); None if paused or held by another."""
    row = await db.fetchrow(
        """update webhook_subscriptions set lease_until = now() + make_interval(secs => $2)
            where subscription_id = $1::uuid and status <> 'paused'
              and (lease_until is null or lease_until < now())
           returning subscription_id::text, url, status,
                     array_remove(array[secret, case when previous_secret_until > now() then previous_secret end],
                                  null) as keys""", subscription_id, seconds)
    return Target(row["subscription_id"], row["url"], list(row["keys"]), row["status"]) if row else None


async def renew_lease(db: asyncpg.Connection, subscription_id: str, seconds: float) -> None:
    await db.execute("""update webhook_subscriptions set lease_until = now() + make_interval(secs => $2)
                         where subscription_id = $1::uuid""", subscription_id, seconds)


async def release_lease(db: asyncpg.Connection, subscription_id: str) -> None:
    await db.execute("update webhook_subscriptions set lease_until = null where subscription_id = $1::uuid",
                     subscription_id)


async def next_batch(db: asyncpg.Connection, subscription_id: str, limit: int) -> list[Pending]:
    """The oldest pending delivery of each subject, if it is due: a later event of a subject waits until the
    earlier one is delivered, so each subject's events arrive in commit order."""
    rows = await db.fetch(
        """select d.delivery_id, d.event_id, e.type, d.subject,
                  jsonb_build_object('type', e.type, 'timestamp', e.occurred_at, 'subject', e.subject,
                                     'event_id', e.event_id, 'data', e.data)::text as body,
                  e.occurred_at, d.attempts, d.first_attempt_at
             from (select distinct on (subject) * from webhook_deliveries
                    where subscription_id = $1::uuid and status = 'pending'
                    order by subject, event_id) d
             join event_outbox e using (event_id)
            where d.next_attempt_at <= now()
            order by d.event_id limit $2""", subscription_id, limit)
    return [Pending(r["delivery_id"], r["event_id"], r["type"], r["subject"], r["body"].encode(),
                    r["occurred_at"], r["attempts"], r["first_attempt_at"]) for r in rows]


async def delivered(db: asyncpg.Connection, ids: list[int], statuses: list[int]) -> None:
    await db.execute(
        """update webhook_deliveries d set status = 'delivered', delivered_at = now(), last_attempt_at = now(),
                  attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, now()),
                  last_status = r.code, last_error = null
             from unnest($1::bigint[], $2::int[]) as r(id, code) where d.delivery_id = r.id""", ids, statuses)


async def failed(db: asyncpg.Connection, subscription_id: str, ids: list[int], statuses: list[int | None],
                 errors: list[str], base_s: float, give_up_hours: float) -> int:
    """Schedule the next attempt (base_s doubling per attempt, at most an hour apart); past `give_up_hours`
    since the first attempt the delivery is failed for good and the subscription flagged. Returns how many
    gave up."""
    gave_up = await db.fetchval(
        """with u as (
             update webhook_deliveries d set attempts = attempts + 1, last_attempt_at = now(),
                    first_attempt_at = coalesce(first_attempt_at, now()), last_status = r.code, last_error = r.err,
                    status = case when coalesce(first_attempt_at, now()) < now() - make_interval(secs => $5 * 3600)
                                  then 'failed' else 'pending' end,
                    next_attempt_at = now() + make_interval(secs => least($4 * power(2, attempts), 3600))
               from unnest($1::bigint[], $2::int[], $3::text[]) as r(id, code, err) where d.delivery_id = r.id
             returning d.status)
           select count(*) filter (where status = 'failed') from u""", ids, statuses, errors, base_s, give_up_hours)
    if gave_up:
        await db.execute("""update webhook_subscriptions set status = 'failing', failing_since = now()
                             where subscription_id = $1::uuid and status = 'active'""", subscription_id)
    return gave_up
