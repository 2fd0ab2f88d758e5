-- Why (issue 15): a file load is the one change that no row trigger can describe as a whole: its report
-- (rows read, accepted, rejected, inserted, updated, the first issues) exists only in the loader. The loader
-- calls app.load_finished in the load's own transaction, so the event exists if and only if the load
-- committed, like every other event of the outbox (081). One event per municipality the load wrote to, heard
-- by that municipality and its prefecture ('pref:'), as an upload's result is their business; admins hear all.
-- Security definer because the outbox takes inserts from admins only (081); a municipality may announce only
-- its own loads, checked here and not only in the caller.
-- A parallel load writes the event in one of its prepared transactions, which may not NOTIFY: the fan-out
-- (081) leaves load events, like asset events, to the worker's sweep.

create function app.load_finished(p_municipalities text[], p_report jsonb) returns integer
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  load_id uuid := gen_random_uuid();
  n integer;
begin
  if app.role() = 'municipality' and exists (select 1 from unnest(p_municipalities) m where m <> app.tenant()) then
    raise exception 'a municipality announces only its own loads' using errcode = '42501';
  end if;
  insert into event_outbox (type, subject, audience, prefecture, data)
  select 'load.finished', 'load/' || load_id || '/' || m, array[m, 'pref:' || left(m, 2)], left(m, 2),
         p_report || jsonb_build_object('load_id', load_id, 'municipality_code', m)
    from unnest(p_municipalities) m order by m;
  get diagnostics n = row_count;
  return n;
end $$;
revoke all on function app.load_finished(text[], jsonb) from public;
grant execute on function app.load_finished(text[], jsonb) to kyodo_api;

create or replace function app.fan_out_events() returns trigger
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
  -- asset and load events: a parallel load PREPAREs its transactions (loaders/parallel.py), and PostgreSQL
  -- refuses to prepare a transaction that sent NOTIFY; the worker's sweep (every 2 s) finds those instead.
  if exists (select 1 from new_events where type not like 'asset.%' and type not like 'load.%') then
    perform pg_notify('kyodo_events', '');
  end if;
  return null;
end $$;
