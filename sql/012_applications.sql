-- Carriers' applications to use municipal assets, decided by the owner municipality.

-- A municipality's decision period in days, for anyone filing an application there: carriers may
-- not read municipality_settings itself.
create policy municipality_settings_definer on municipality_settings for select to kyodo_owner using (true);
create function app.decision_days(code text) returns integer
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce((select decision_days from municipality_settings where municipality_code = code), 30)
$$;
revoke all on function app.decision_days(text) from public;
grant execute on function app.decision_days(text) to kyodo_api;

create table applications (
  municipality_code lgcode not null references municipalities(code),
  application_id uuid not null default gen_random_uuid(),
  carrier_code text not null references carriers(carrier_code),
  purpose text not null check (length(purpose) between 1 and 2000),
  starts_on date not null,
  ends_on date,
  status text not null default 'submitted'
    check (status in ('submitted', 'information_requested', 'approved', 'refused', 'withdrawn', 'installed',
                      'terminated')),
  refusal_reason text check (refusal_reason in ('not_technically_suitable', 'no_space', 'safety_or_security',
                                                'network_integrity', 'interference', 'alternative_offered')),
  decision_note text check (length(decision_note) <= 2000),
  submitted_at timestamptz not null default now(),
  decision_due date not null,
  decided_at timestamptz,
  version integer not null default 1,
  updated_at timestamptz not null default now(),
  primary key (municipality_code, application_id),
  constraint application_period check (ends_on is null or ends_on >= starts_on),
  constraint refusal_has_reason check (status <> 'refused' or refusal_reason is not null)
);
create index applications_carrier on applications (carrier_code, submitted_at);
create index applications_due on applications (decision_due) where status in ('submitted', 'information_requested');

create table application_assets (
  municipality_code lgcode not null,
  application_id uuid not null,
  asset_id uuid not null,
  primary key (municipality_code, application_id, asset_id),
  foreign key (municipality_code, application_id) references applications (municipality_code, application_id),
  foreign key (municipality_code, asset_id) references assets (municipality_code, asset_id)
);
create index application_assets_asset on application_assets (municipality_code, asset_id);

create table application_events (
  municipality_code lgcode not null,
  event_id bigint generated always as identity,
  application_id uuid not null,
  action text not null,
  from_status text,
  to_status text not null,
  actor_role text not null,
  actor_tenant text,
  refusal_reason text,
  note text check (length(note) <= 2000),
  at timestamptz not null default now(),
  primary key (municipality_code, event_id),
  foreign key (municipality_code, application_id) references applications (municipality_code, application_id)
);
create trigger application_events_append_only before update or delete or truncate on application_events
  for each statement execute function app.forbid_change();

-- Who may see an application: the carrier that filed it, the owner, its prefecture, admins.
create function app.can_see_application(code text, carrier text) returns boolean
language sql stable parallel safe as $$
  select app.can_see_lg(code) or (app.role() = 'carrier' and carrier = app.tenant())
$$;

alter table applications enable row level security;
alter table applications force row level security;
create policy applications_read on applications for select to kyodo_api
  using (app.can_see_application(municipality_code, carrier_code));
create policy applications_file on applications for insert to kyodo_api
  with check (app.is_admin() or (app.role() = 'carrier' and carrier_code = app.tenant()));
create policy applications_change on applications for update to kyodo_api
  using (app.can_write_lg(municipality_code) or (app.role() = 'carrier' and carrier_code = app.tenant()))
  with check (app.can_write_lg(municipality_code) or (app.role() = 'carrier' and carrier_code = app.tenant()));
grant select, insert, update on applications to kyodo_api;

alter table application_assets enable row level security;
alter table application_assets force row level security;
create policy application_assets_read on application_assets for select to kyodo_api
  using (exists (select 1 from applications a where a.municipality_code = application_assets.municipality_code
                                               and a.application_id = application_assets.application_id));
create policy application_assets_file on application_assets for insert to kyodo_api
  with check (exists (select 1 from applications a where a.municipality_code = application_assets.municipality_code
                                                 and a.application_id = application_assets.application_id));
grant select, insert on application_assets to kyodo_api;

alter table application_events enable row level security;
alter table application_events force row level security;
create policy application_events_read on application_events for select to kyodo_api
  using (exists (select 1 from applications a where a.municipality_code = application_events.municipality_code
                                               and a.application_id = application_events.application_id));
create policy application_events_write on application_events for insert to kyodo_api
  with check (exists (select 1 from applications a where a.municipality_code = application_events.municipality_code
                                                 and a.application_id = application_events.application_id));
grant select, insert on application_events to kyodo_api;
