-- Why (issue 15): deadlines that act. A municipality chooses how its decision and information periods count
-- (calendar days, the default so far, or Japanese working days: registry/applications/deadlines.py), when
-- reminders go out, and whether silence past the decision date is a deemed approval (US shot clocks) or only
-- an escalation to the prefecture (the default). While information is requested the decision clock stops:
-- clock_days_left keeps what was left, and the carrier's answer starts it again from there.

create table application_deadline_rules (
  municipality_code lgcode primary key references municipalities(code),
  day_basis text not null default 'calendar' check (day_basis in ('calendar', 'working')),
  -- Reminders (application.decision_due_soon) this many days (of day_basis) before the decision date.
  remind_days integer not null default 3 check (remind_days between 0 and 60),
  deemed_approval boolean not null default false,
  version integer not null default 1,
  updated_at timestamptz not null default now()
);
alter table application_deadline_rules enable row level security;
alter table application_deadline_rules force row level security;
create policy application_deadline_rules_read on application_deadline_rules for select to kyodo_api
  using (app.can_see_lg(municipality_code));
create policy application_deadline_rules_insert on application_deadline_rules for insert to kyodo_api
  with check (app.can_write_lg(municipality_code));
create policy application_deadline_rules_update on application_deadline_rules for update to kyodo_api
  using (app.can_write_lg(municipality_code)) with check (app.can_write_lg(municipality_code));
create policy application_deadline_rules_definer on application_deadline_rules for select to kyodo_owner
  using (true);
grant select, insert, update on application_deadline_rules to kyodo_api;

-- What a carrier's filing or answer needs to date the deadline, though carriers read neither table.
create function app.deadline_terms(code text)
returns table (day_basis text, decision_days integer, information_days integer, remind_days integer,
               deemed_approval boolean)
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(r.day_basis, 'calendar'), coalesce(s.decision_days, 30), coalesce(s.information_days, 10),
         coalesce(r.remind_days, 3), coalesce(r.deemed_approval, false)
    from (select code as municipality_code) c
    left join municipality_settings s using (municipality_code)
    left join application_deadline_rules r using (municipality_code)
$$;
revoke all on function app.deadline_terms(text) from public;
grant execute on function app.deadline_terms(text) to kyodo_api;

alter table applications
  add column information_due date,
  add column clock_days_left integer check (clock_days_left >= 0),
  add column reminded_at timestamptz,
  add column escalated_at timestamptz,
  -- true when silence past the decision date approved it (the history says so too: action deemed_approve).
  add column deemed boolean not null default false;
