"""SQL of the deadline jobs (registry/applications/escalation.py): fixed text, $n parameters only."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from registry.applications.models import Terms


class Open(msgspec.Struct, frozen=True):
    application_id: str
    municipality_code: str
    carrier_code: str
    status: str
    decision_due: dt.date


_OPEN = "application_id::text, municipality_code::text, carrier_code, status, decision_due"


async def terms(db: asyncpg.Connection, municipality: str) -> Terms:
    row = await db.fetchrow("select current_date as today, t.* from app.deadline_terms($1) t", municipality)
    return Terms(row["today"], row["day_basis"], row["decision_days"], row["information_days"], row["remind_days"],
                 row["deemed_approval"])


async def unreminded(db: asyncpg.Connection) -> list[Open]:
    # 60 is the largest remind_days (sql/080); 60 working days are under 100 calendar days.
    rows = await db.fetch(f"""select {_OPEN} from applications
                               where status = 'submitted' and reminded_at is null
                                 and decision_due < current_date + 100 order by decision_due""")
    return [Open(*r) for r in rows]


class Asked(msgspec.Struct, frozen=True):
    application_id: str
    municipality_code: str
    carrier_code: str
    information_due: dt.date


async def awaiting_answer(db: asyncpg.Connection) -> list[Asked]:
    """Applications waiting for the carrier's information whose date has not been announced as near yet; an
    information date is announced once (a second request sets a new date, which is announced again)."""
    rows = await db.fetch(
        """select a.application_id::text, a.municipality_code::text, a.carrier_code, a.information_due
             from applications a
            where a.status = 'information_requested' and a.information_due >= current_date
              and a.information_due < current_date + 100
              and not exists (select 1 from event_outbox e
                               where e.subject = 'application/' || a.application_id
                                 and e.type = 'application.information_due_soon'
                                 and e.data->>'information_due' = a.information_due::text)
            order by a.information_due""")
    return [Asked(*r) for r in rows]


async def remind_carrier(db: asyncpg.Connection, a: Asked) -> None:
    await db.execute(
        """insert into event_outbox (type, subject, audience, prefecture, data)
           values ('application.information_due_soon', 'application/' || $1, array[$2, 'pref:' || left($2, 2), $3],
                   left($2, 2), jsonb_build_object('application_id', $1, 'municipality_code', $2, 'carrier_code', $3,
                                                   'status', 'information_requested', 'information_due', $4::date))""",
        a.application_id, a.municipality_code, a.carrier_code, a.information_due)


async def overdue_unescalated(db: asyncpg.Connection) -> list[Open]:
    rows = await db.fetch(f"""select {_OPEN} from applications
                               where status = 'submitted' and escalated_at is null and decision_due < current_date
                               order by decision_due, application_id for update skip locked""")
    return [Open(*r) for r in rows]


async def _emit(db: asyncpg.Connection, a: Open, event_type: str) -> None:
    await db.execute(
        """insert into event_outbox (type, subject, audience, prefecture, data)
           values ($1, 'application/' || $2, array[$3, 'pref:' || left($3, 2), $4], left($3, 2),
                   jsonb_build_object('application_id', $2, 'municipality_code', $3, 'carrier_code', $4,
                                      'status', $5::text, 'decision_due', $6::date))""",
        event_type, a.application_id, a.municipality_code, a.carrier_code, a.status, a.decision_due)


async def mark_reminded(db: asyncpg.Connection, a: Open, event_type: str) -> None:
    await db.execute("update applications set reminded_at = now() where application_id = $1::uuid", a.application_id)
    await _emit(db, a, event_type)


async def escalate(db: asyncpg.Connection, a: Open, note: str) -> None:
    await db.execute("update applications set escalated_at = now() where application_id = $1::uuid",
                     a.application_id)
    await db.execute(
        """insert into application_events (municipality_code, application_id, action, from_status, to_status,
                                           actor_role, actor_tenant, note)
           values ($1, $2::uuid, 'escalate', $3, $3, 'system', 'deadline', $4)""",
        a.municipality_code, a.application_id, a.status, note)
    await _emit(db, a, "application.overdue")


async def deem_approved(db: asyncpg.Connection, a: Open, note: str) -> bool:
    """Approve as deemed if every asset has a free slot (taken here); False, changing nothing, if one has not."""
    try:
        await _deem(db, a, note)
    except _NoSlot:
        return False
    return True


async def _deem(db: asyncpg.Connection, a: Open, note: str) -> None:
    async with db.transaction():  # a savepoint: a full asset undoes only this
        await db.execute(
            """update applications set status = 'approved', deemed = true, decided_at = now(),
                      decision_note = coalesce(decision_note, $2), version = version + 1, updated_at = now()
                where application_id = $1::uuid""", a.application_id, note)
        taken = await db.fetchval(
            """with t as (update assets s set current_tenants = current_tenants + 1,
                                 availability = case when current_tenants + 1 >= max_tenants then 'occupied'
                                                     else availability end,
                                 version = version + 1, updated_at = now()
                            from application_assets x
                           where x.application_id = $1::uuid and s.municipality_code = x.municipality_code
                             and s.asset_id = x.asset_id and s.status = 'published'
                             and s.current_tenants < s.max_tenants
                          returning 1)
               select (select count(*) from t) = (select count(*) from application_assets
                                                   where application_id = $1::uuid)""", a.application_id)
        if not taken:
            raise _NoSlot
        await db.execute(
            """insert into application_events (municipality_code, application_id, action, from_status, to_status,
                                               actor_role, actor_tenant, note)
               values ($1, $2::uuid, 'deemed_approve', 'submitted', 'approved', 'system', 'deadline', $3)""",
            a.municipality_code, a.application_id, note)


class _NoSlot(Exception):
    pass
