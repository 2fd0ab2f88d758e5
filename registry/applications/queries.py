"""Application SQL."""

from __future__ import annotations

import asyncpg

from registry.applications.models import Application, ApplicationEvent

_COLUMNS = """a.application_id::text, a.municipality_code::text, a.carrier_code, a.purpose, a.starts_on, a.ends_on,
  a.status, a.refusal_reason, a.decision_note, a.submitted_at, a.decision_due, a.decided_at, a.version,
  (a.status in ('submitted', 'information_requested') and a.decision_due < current_date) as overdue,
  array(select x.asset_id::text from application_assets x
         where x.municipality_code = a.municipality_code and x.application_id = a.application_id
         order by x.asset_id) as asset_ids"""

# Visible assets of the application, with their owner: the carrier must be able to see them.
VISIBLE_ASSETS = """select c.asset_id::text, c.municipality_code::text from asset_catalogue c
                     where c.asset_id = any($1::uuid[])"""

INSERT = """
insert into applications (municipality_code, carrier_code, purpose, starts_on, ends_on, decision_due)
values ($1::text, $2, $3, $4, $5, current_date + app.decision_days($1::text))
returning application_id::text
"""
INSERT_ASSETS = """insert into application_assets (municipality_code, application_id, asset_id)
                   select $1, $2::uuid, unnest($3::uuid[])"""
EVENT = """insert into application_events (municipality_code, application_id, action, from_status, to_status,
                                           actor_role, actor_tenant, refusal_reason, note)
           values ($1, $2::uuid, $3, $4, $5, app.role(), app.tenant(), $6, $7)"""

GET = f"select {_COLUMNS} from applications a where a.application_id = $1::uuid"
LOCK = "select municipality_code::text, status, carrier_code from applications where application_id = $1::uuid " \
       "for update"

MOVE = """update applications set status = $2, refusal_reason = $3, decision_note = coalesce($4, decision_note),
            decided_at = case when $2 in ('approved', 'refused') then now() else decided_at end,
            decision_due = case when $5 then current_date + app.decision_days(municipality_code::text)
                                else decision_due end,
            version = version + 1, updated_at = now()
          where application_id = $1::uuid"""

# Filling a slot re-checks capacity under the row lock, so of two concurrent approvals of the
# last slot the second finds it taken once the first commits.
TAKE_SLOTS = """
update assets set current_tenants = current_tenants + 1,
       availability = case when current_tenants + 1 >= max_tenants then 'occupied' else availability end,
       version = version + 1, updated_at = now()
 where municipality_code = $1 and asset_id = any($2::uuid[]) and status = 'published'
   and current_tenants < max_tenants
returning asset_id::text
"""
RELEASE_SLOTS = """
update assets set current_tenants = greatest(current_tenants - 1, 0),
       availability = case when availability = 'occupied' then 'partly_available' else availability end,
       version = version + 1, updated_at = now()
 where municipality_code = $1 and asset_id = any($2::uuid[])
"""
SLOT_STATE = """select asset_id::text, current_tenants, max_tenants, status from assets
                 where municipality_code = $1 and asset_id = any($2::uuid[])"""

LIST = f"""
select {_COLUMNS} from applications a
 where ($1::text is null or a.status = $1)
   and (not $2 or (a.status in ('submitted', 'information_requested') and a.decision_due < current_date))
   and ($3::timestamptz is null or (a.submitted_at, a.application_id) > ($3::timestamptz, $4::uuid))
 order by a.submitted_at, a.application_id
 limit $5
"""

EVENTS = """select action, from_status, to_status, actor_role, actor_tenant, refusal_reason, note, at
              from application_events where application_id = $1::uuid order by event_id"""


def application(row: asyncpg.Record, history: list[ApplicationEvent] | None = None) -> Application:
    return Application(
        application_id=row["application_id"], municipality_code=row["municipality_code"],
        carrier_code=row["carrier_code"], asset_ids=list(row["asset_ids"]), purpose=row["purpose"],
        starts_on=row["starts_on"], ends_on=row["ends_on"], status=row["status"],
        refusal_reason=row["refusal_reason"], decision_note=row["decision_note"], submitted_at=row["submitted_at"],
        decision_due=row["decision_due"], overdue=row["overdue"], decided_at=row["decided_at"],
        version=row["version"], history=history or [])


async def load(db: asyncpg.Connection, application_id: str) -> Application | None:
    row = await db.fetchrow(GET, application_id)
    if row is None:
        return None
    events = [ApplicationEvent(*e) for e in await db.fetch(EVENTS, application_id)]
    return application(row, events)
