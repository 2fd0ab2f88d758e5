"""Application SQL: fixed text, $n parameters only. Row security decides what each caller sees."""

from __future__ import annotations

import datetime as dt

import asyncpg

from registry.applications.models import Application, ApplicationEvent, Locked, SlotState, Terms

_COLUMNS = """a.application_id::text, a.municipality_code::text, a.carrier_code, a.purpose, a.starts_on, a.ends_on,
  a.status, a.refusal_reason, a.decision_note, a.submitted_at, a.decision_due, a.decided_at, a.version,
  (a.status = 'submitted' and a.decision_due < current_date) as overdue, a.information_due, a.clock_days_left, a.deemed,
  array(select x.asset_id::text from application_assets x
         where x.municipality_code = a.municipality_code and x.application_id = a.application_id
         order by x.asset_id) as asset_ids"""


def _application(row: asyncpg.Record, history: list[ApplicationEvent] | None = None) -> Application:
    return Application(
        application_id=row["application_id"], municipality_code=row["municipality_code"],
        carrier_code=row["carrier_code"], asset_ids=list(row["asset_ids"]), purpose=row["purpose"],
        starts_on=row["starts_on"], ends_on=row["ends_on"], status=row["status"],
        refusal_reason=row["refusal_reason"], decision_note=row["decision_note"], submitted_at=row["submitted_at"],
        decision_due=row["decision_due"], overdue=row["overdue"], decided_at=row["decided_at"],
        information_due=row["information_due"], clock_days_left=row["clock_days_left"], deemed=row["deemed"],
        version=row["version"], history=history or [])


async def asset_owners(db: asyncpg.Connection, asset_ids: list[str]) -> dict[str, str]:
    """Asset id -> owner municipality, for the assets among `asset_ids` the caller may see."""
    rows = await db.fetch("""select c.asset_id::text, c.municipality_code::text from asset_catalogue c
                              where c.asset_id = any($1::uuid[])""", asset_ids)
    return {r["asset_id"]: r["municipality_code"] for r in rows}


async def deadline_terms(db: asyncpg.Connection, municipality: str) -> Terms:
    """How `municipality` counts its deadlines, and today's date as the database counts dates."""
    row = await db.fetchrow("select current_date as today, t.* from app.deadline_terms($1) t", municipality)
    return Terms(row["today"], row["day_basis"], row["decision_days"], row["information_days"], row["remind_days"],
                 row["deemed_approval"])


async def insert(db: asyncpg.Connection, owner: str, carrier: str, purpose: str, starts_on: dt.date,
                 ends_on: dt.date | None, asset_ids: list[str], decision_due: dt.date) -> str:
    """A submitted application on `asset_ids`, its decision due on `decision_due`; its id."""
    application_id: str = await db.fetchval(
        """insert into applications (municipality_code, carrier_code, purpose, starts_on, ends_on, decision_due)
           values ($1::text, $2, $3, $4, $5, $6)
           returning application_id::text""",
        owner, carrier, purpose, starts_on, ends_on, decision_due)
    await db.execute("""insert into application_assets (municipality_code, application_id, asset_id)
                        select $1, $2::uuid, unnest($3::uuid[])""", owner, application_id, asset_ids)
    return application_id


async def add_event(db: asyncpg.Connection, municipality: str, application_id: str, action: str,
                    from_status: str | None, to_status: str, reason: str | None, note: str | None) -> None:
    """The history entry of a move, with the acting principal as the database knows it."""
    await db.execute(
        """insert into application_events (municipality_code, application_id, action, from_status, to_status,
                                           actor_role, actor_tenant, refusal_reason, note)
           values ($1, $2::uuid, $3, $4, $5, app.role(), app.tenant(), $6, $7)""",
        municipality, application_id, action, from_status, to_status, reason, note)


async def lock(db: asyncpg.Connection, application_id: str) -> Locked | None:
    """The application's owner, status, carrier and clock, locked until the transaction ends."""
    row = await db.fetchrow("""select municipality_code::text, status, carrier_code, decision_due, clock_days_left
                                 from applications where application_id = $1::uuid for update""", application_id)
    return Locked(*row) if row else None


async def asset_ids(db: asyncpg.Connection, application_id: str) -> list[str]:
    return await db.fetchval("""select coalesce(array_agg(asset_id::text order by asset_id), '{}')
                                  from application_assets where application_id = $1::uuid""", application_id)


async def move(db: asyncpg.Connection, application_id: str, target: str, reason: str | None, note: str | None,
               clock: tuple[dt.date, dt.date | None, int | None]) -> None:
    """Set the new status and the clock: (decision due, information due, decision days left while stopped)."""
    await db.execute(
        """update applications set status = $2, refusal_reason = $3, decision_note = coalesce($4, decision_note),
                  decided_at = case when $2 in ('approved', 'refused') then now() else decided_at end,
                  decision_due = $5, information_due = $6, clock_days_left = $7,
                  reminded_at = case when $5 <> decision_due then null else reminded_at end,
                  escalated_at = case when $5 <> decision_due then null else escalated_at end,
                  version = version + 1, updated_at = now()
            where application_id = $1::uuid""",
        application_id, target, reason, note, *clock)


async def take_slots(db: asyncpg.Connection, municipality: str, asset_ids: list[str]) -> set[str]:
    """Fill one tenancy slot on each asset that has one free; the ids of the assets that had.

    Capacity is re-checked under the row lock, so of two concurrent approvals of the last slot the
    second finds it taken once the first commits.
    """
    rows = await db.fetch(
        """update assets set current_tenants = current_tenants + 1,
                  availability = case when current_tenants + 1 >= max_tenants then 'occupied' else availability end,
                  version = version + 1, updated_at = now()
            where municipality_code = $1 and asset_id = any($2::uuid[]) and status = 'published'
              and current_tenants < max_tenants
           returning asset_id::text""",
        municipality, asset_ids)
    return {r["asset_id"] for r in rows}


async def release_slots(db: asyncpg.Connection, municipality: str, asset_ids: list[str]) -> None:
    await db.execute(
        """update assets set current_tenants = greatest(current_tenants - 1, 0),
                  availability = case when availability = 'occupied' then 'partly_available' else availability end,
                  version = version + 1, updated_at = now()
            where municipality_code = $1 and asset_id = any($2::uuid[])""",
        municipality, asset_ids)


async def slot_states(db: asyncpg.Connection, municipality: str, asset_ids: list[str]) -> list[SlotState]:
    rows = await db.fetch("""select asset_id::text, current_tenants, max_tenants, status from assets
                              where municipality_code = $1 and asset_id = any($2::uuid[])""",
                          municipality, asset_ids)
    return [SlotState(*r) for r in rows]


async def list_applications(db: asyncpg.Connection, status: str | None, overdue: bool,
                            after: tuple[dt.datetime, str] | None, limit: int) -> list[Application]:
    """Visible applications in submission order, after the (submitted_at, id) of the previous page."""
    since, last = after or (None, None)
    rows = await db.fetch(
        f"""select {_COLUMNS} from applications a
             where ($1::text is null or a.status = $1)
               and (not $2 or (a.status = 'submitted' and a.decision_due < current_date))
               and ($3::timestamptz is null or (a.submitted_at, a.application_id) > ($3::timestamptz, $4::uuid))
             order by a.submitted_at, a.application_id
             limit $5""",
        status, overdue, since, last, limit)
    return [_application(r) for r in rows]


async def load(db: asyncpg.Connection, application_id: str) -> Application | None:
    """One application with its history, oldest event first."""
    row = await db.fetchrow(f"select {_COLUMNS} from applications a where a.application_id = $1::uuid",
                            application_id)
    if row is None:
        return None
    events = await db.fetch("""select action, from_status, to_status, actor_role, actor_tenant, refusal_reason,
                                      note, at
                                 from application_events where application_id = $1::uuid order by event_id""",
                            application_id)
    return _application(row, [ApplicationEvent(*e) for e in events])
