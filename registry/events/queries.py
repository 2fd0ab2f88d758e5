"""The worker's own SQL (round notices, digests, health): fixed text, $n parameters only."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec


class Lag(msgspec.Struct, frozen=True):
    lag_seconds: float
    heartbeat_age_seconds: float | None
    pending_deliveries: int


async def worker_lag(db: asyncpg.Connection) -> Lag:
    row = await db.fetchrow("select * from app.worker_lag()")
    return Lag(row["lag_seconds"], row["heartbeat_age_seconds"], row["pending_deliveries"])


# A phase is announced only within a week of reaching it, so rounds that predate the worker stay quiet.
_ANNOUNCE_ROUNDS = """
with reached as (
  select r.organiser_code, r.round_id, r.prefectures, r.title, r.closes_at, r.withdrawal_deadline, n.notice, n.rank
    from procurement_rounds r
    cross join lateral (values
      ('opened', 1, r.opens_at <= now() and r.opens_at > now() - interval '7 days'),
      ('closing_soon', 2, r.closes_at - interval '3 days' <= now() and now() < r.closes_at),
      ('closed', 3, r.closes_at <= now() and r.closes_at > now() - interval '7 days'),
      ('firm', 4, r.withdrawal_deadline <= now() and r.withdrawal_deadline > now() - interval '7 days')
    ) as n(notice, rank, due)
   where n.due
), fresh as (
  insert into round_notices (organiser_code, round_id, notice)
  select organiser_code, round_id, notice from reached on conflict do nothing
  returning organiser_code, round_id, notice
)
insert into event_outbox (type, subject, audience, prefecture, data)
select 'round.' || r.notice, 'round/' || r.round_id,
       array[r.organiser_code] || array(select 'in:' || p from unnest(r.prefectures) p),
       case when cardinality(r.prefectures) = 1 then r.prefectures[1] end,
       jsonb_build_object('round_id', r.round_id, 'organiser_code', r.organiser_code, 'title', r.title,
                          'closes_at', r.closes_at, 'withdrawal_deadline', r.withdrawal_deadline)
  from reached r join fresh f using (organiser_code, round_id, notice)
 order by r.closes_at, r.round_id, r.rank
"""


async def announce_rounds(db: asyncpg.Connection) -> int:
    status = await db.execute(_ANNOUNCE_ROUNDS)
    return int(status.split()[-1])


class DigestLine(msgspec.Struct, frozen=True):
    what: str
    due: dt.date | None
    status: str


async def digest_lines(db: asyncpg.Connection, role: str, tenant: str, prefecture: str | None) -> list[DigestLine]:
    """Open applications a tenant must act on or watch, soonest first, and rounds closing within a week."""
    rows = await db.fetch(
        """select '申請 ' || left(a.application_id::text, 8) || ' (' || a.municipality_code || ', '
                  || a.carrier_code || ')' as what,
                  coalesce(a.information_due, a.decision_due) as due, a.status
             from applications a
            where a.status in ('submitted', 'information_requested')
              and ($1 = 'admin' or ($1 = 'municipality' and a.municipality_code = $2)
                   or ($1 = 'prefecture' and left(a.municipality_code, 2) = left($3, 2))
                   or ($1 = 'carrier' and a.carrier_code = $2))
           union all
           select '需要調査 ' || r.title, (r.closes_at at time zone 'Asia/Tokyo')::date, 'round closing'
             from procurement_rounds r
            where r.closes_at between now() and now() + interval '7 days' and $1 in ('municipality', 'prefecture')
              and left($3, 2) = any(r.prefectures)
            order by 2, 1 limit 200""", role, tenant, prefecture)
    return [DigestLine(r["what"], r["due"], r["status"]) for r in rows]
