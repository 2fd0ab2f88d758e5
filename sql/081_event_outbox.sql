-- Why (issue 15): nobody should have to poll. Every change that matters writes an event into this outbox in the
-- transaction that makes the change, so an event exists if and only if the change committed. Triggers on the
-- changed tables write the events (082), so the API and the loaders emit them without code of their own.
-- Inserting an event fans it out, set-based, into one delivery row per matching webhook subscription and
-- per mail contact, and wakes the worker with one NOTIFY per transaction (identical notifications in a
-- transaction are folded into one). The worker (registry/events/worker.py) delivers those rows.
--
-- Audience: an event names who may hear of it, as tenant codes and groups:
--   a tenant code ('131016', '130001', 'docomo'); 'pref:13' the prefecture government of prefecture 13;
--   'in:13' every municipality of prefecture 13 and its government; 'carriers' every carrier; 'all' everyone.
-- app.reach_of(role, tenant, prefecture) is what a principal answers to; admins hear everything.

create function app.reach_of(p_role text, p_tenant text, p_prefecture text) returns text[]
language sql immutable parallel safe as $$
  select case p_role
    when 'municipality' then array[p_tenant, 'in:' || left(p_prefecture, 2), 'all']
    when 'prefecture' then array[p_tenant, 'pref:' || left(p_prefecture, 2), 'in:' || left(p_prefecture, 2), 'all']
    when 'carrier' then array[p_tenant, 'carriers', 'all']
    else '{}'::text[] end
$$;

create table event_outbox (
  event_id bigint generated always as identity primary key,
  type text not null check (type ~ '^[a-z_]+\.[a-z_]+$'),
  -- What the event is about ('application/<uuid>'): deliveries keep commit order per subject.
  subject text not null,
  audience text[] not null,
  -- Filters a subscription may set (prefecture, area); null when the event has no place.
  prefecture char(2),
  extent geometry(Geometry, 4326),
  data jsonb not null,
  occurred_at timestamptz not null default now()
);
alter table event_outbox enable row level security;
alter table event_outbox force row level security;
create policy event_outbox_read on event_outbox for select to kyodo_api
  using (app.is_admin() or audience && app.reach_of(app.role(), app.tenant(), current_setting('app.prefecture_code', true)));
-- The worker (an admin principal) writes the events no row change carries: deadlines, round phases, loads.
create policy event_outbox_admin_write on event_outbox for insert to kyodo_api with check (app.is_admin());
create policy event_outbox_owner on event_outbox for all to kyodo_owner using (true) with check (true);
grant select, insert on event_outbox to kyodo_api;

create table webhook_subscriptions (
  tenant_code text not null,
  subscription_id uuid not null default gen_random_uuid(),
  role text not null check (role in ('municipality', 'prefecture', 'carrier', 'admin')),
  prefecture_code text,
  url text not null check (length(url) between 8 and 2000),
  description text check (length(description) <= 500),
  -- Empty: every type the tenant may hear of. 'application.*' matches a family.
  event_types text[] not null default '{}',
  prefectures text[] not null default '{}',
  area geometry(Polygon, 4326),
  secret text not null,
  -- After a rotation both secrets sign (two signatures in webhook-signature) until this time.
  previous_secret text,
  previous_secret_until timestamptz,
  status text not null default 'active' check (status in ('active', 'paused', 'failing')),
  failing_since timestamptz,
  -- A worker holds a subscription while it delivers; a worker that dies lets go when the lease ends.
  lease_until timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (subscription_id)
);
create index webhook_subscriptions_tenant on webhook_subscriptions (tenant_code, created_at);
alter table webhook_subscriptions enable row level security;
alter table webhook_subscriptions force row level security;
create policy webhook_subscriptions_tenant on webhook_subscriptions for all to kyodo_api
  using (app.is_admin() or (tenant_code = app.tenant() and role = app.role()))
  with check (app.is_admin() or (tenant_code = app.tenant() and role = app.role()));
create policy webhook_subscriptions_owner on webhook_subscriptions for all to kyodo_owner using (true) with check (true);
grant select, insert, update, delete on webhook_subscriptions to kyodo_api;

create table webhook_deliveries (
  delivery_id bigint generated always as identity primary key,
  subscription_id uuid not null references webhook_subscriptions (subscription_id) on delete cascade,
  tenant_code text not null,
  role text not null,
  event_id bigint not null references event_outbox (event_id),
  subject text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  first_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_status integer,
  last_error text,
  delivered_at timestamptz,
  unique (subscription_id, event_id)
);
create index webhook_deliveries_pending on webhook_deliveries (subscription_id, subject, event_id)
  where status = 'pending';
create index webhook_deliveries_log on webhook_deliveries (subscription_id, delivery_id);
alter table webhook_deliveries enable row level security;
alter table webhook_deliveries force row level security;
create policy webhook_deliveries_tenant on webhook_deliveries for select to kyodo_api
  using (app.is_admin() or (tenant_code = app.tenant() and role = app.role()));
create policy webhook_deliveries_redeliver on webhook_deliveries for update to kyodo_api
  using (app.is_admin() or (tenant_code = app.tenant() and role = app.role()))
  with check (app.is_admin() or (tenant_code = app.tenant() and role = app.role()));
create policy webhook_deliveries_owner on webhook_deliveries for all to kyodo_owner using (true) with check (true);
grant select, update on webhook_deliveries to kyodo_api;

-- Mail contacts: per tenant, or per key (key_id set). Japanese unless language is 'en'.
create table mail_contacts (
  tenant_code text not null,
  contact_id uuid not null default gen_random_uuid(),
  role text not null check (role in ('municipality', 'prefecture', 'carrier', 'admin')),
  prefecture_code text,
  key_id uuid,
  email text not null check (email like '%_@_%' and length(email) <= 254),
  name text check (length(name) <= 200),
  language text not null default 'ja' check (language in ('ja', 'en')),
  -- true: one mail a day (pending decisions, approaching deadlines, the day's events) instead of one per event.
  digest boolean not null default false,
  -- Empty: the default set (everything but asset.*, which a load can make plentiful); otherwise only these.
  event_types text[] not null default '{}',
  unsubscribed text[] not null default '{}',
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (contact_id)
);
create index mail_contacts_tenant on mail_contacts (tenant_code, created_at);
alter table mail_contacts enable row level security;
alter table mail_contacts force row level security;
create policy mail_contacts_tenant on mail_contacts for all to kyodo_api
  using (app.is_admin() or (tenant_code = app.tenant() and role = app.role()))
  with check (app.is_admin() or (tenant_code = app.tenant() and role = app.role()));
create policy mail_contacts_owner on mail_contacts for all to kyodo_owner using (true) with check (true);
grant select, insert, update, delete on mail_contacts to kyodo_api;

create table mail_deliveries (
  delivery_id bigint generated always as identity primary key,
  contact_id uuid not null references mail_contacts (contact_id) on delete cascade,
  tenant_code text not null,
  event_id bigint references event_outbox (event_id),
  kind text not null default 'event' check (kind in ('event', 'digest')),
  status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  sent_at timestamptz,
  created_at timestamptz not null default now()
);
create index mail_deliveries_pending on mail_deliveries (next_attempt_at) where status = 'pending';
alter table mail_deliveries enable row level security;
alter table mail_deliveries force row level security;
create policy mail_deliveries_admin on mail_deliveries for all to kyodo_api using (app.is_admin()) with check (app.is_admin());
create policy mail_deliveries_owner on mail_deliveries for all to kyodo_owner using (true) with check (true);
grant select, insert, update on mail_deliveries to kyodo_api;

-- Does a type match a list of wanted types ('application.refused', 'application.*'; empty is all)?
create function app.type_wanted(wanted text[], t text) returns boolean
language sql immutable parallel safe as $$
  select cardinality(wanted) = 0 or t = any(wanted) or split_part(t, '.', 1) || '.*' = any(wanted)
$$;

-- Fan-out: one statement per outbox insert statement, however many events it wrote.
create function app.fan_out_events() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into webhook_deliveries (subscription_id, tenant_code, role, event_id, subject)
  select s.subscription_id, s.tenant_code, s.role, e.event_id, e.subject
    from new_events e
    join webhook_subscriptions s
      on app.type_wanted(s.event_types, e.type)
     and (s.role = 'admin' or e.audience && app.reach_of(s.role, s.tenant_code, s.prefecture_code))
     and (cardinality(s.prefectures) = 0 or e.prefecture is null or e.prefecture = any(s.prefectures))
     and (s.area is null or e.extent is null or ST_Intersects(s.area, e.extent))
   order by e.event_id;
  insert into mail_deliveries (contact_id, tenant_code, event_id)
  select c.contact_id, c.tenant_code, e.event_id
    from new_events e
    join mail_contacts c
      on not c.digest and not (e.type = any(c.unsubscribed))
     and (case when cardinality(c.event_types) = 0 then e.type not like 'asset.%'
               else app.type_wanted(c.event_types, e.type) end)
     and (c.role = 'admin' or e.audience && app.reach_of(c.role, c.tenant_code, c.prefecture_code))
   order by e.event_id;
  -- One wake-up per transaction: PostgreSQL folds identical notifications of a transaction into one. Not for
  -- asset events: a parallel load PREPAREs its transactions (loaders/parallel.py), and PostgreSQL refuses to
  -- prepare a transaction that sent NOTIFY; the worker's sweep (every 2 s) finds those deliveries instead.
  if exists (select 1 from new_events where type not like 'asset.%') then
    perform pg_notify('kyodo_events', '');
  end if;
  return null;
end $$;
create trigger event_outbox_fan_out after insert on event_outbox
  referencing new table as new_events for each statement execute function app.fan_out_events();
