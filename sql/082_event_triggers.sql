-- Why (issue 15): the events of the outbox (081) come from triggers on the changed tables, in the changing
-- transaction, so every write path (API, loaders, the command line, a DBA's UPDATE) emits them and a rolled-back
-- change emits nothing. The functions run as the owner (security definer) because they read the round of a
-- tender or write the outbox, which the caller may not.

-- Applications: one event per status change; the history table (application_events) keeps the who and why.
create function app.application_event_type(old_status text, new_status text) returns text
language sql immutable parallel safe as $$
  select case
    when old_status is null then 'application.submitted'
    when new_status = 'information_requested' then 'application.information_requested'
    when old_status = 'information_requested' and new_status = 'submitted' then 'application.answered'
    when new_status in ('approved', 'refused', 'withdrawn', 'installed', 'terminated') then 'application.' || new_status
  end
$$;

create function app.application_emit() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  t text := app.application_event_type(case when tg_op = 'INSERT' then null else old.status end, new.status);
begin
  if t is null or (tg_op = 'UPDATE' and old.status = new.status) then
    return null;
  end if;
  insert into event_outbox (type, subject, audience, prefecture, data)
  values (t, 'application/' || new.application_id,
          array[new.municipality_code::text, 'pref:' || left(new.municipality_code, 2), new.carrier_code],
          left(new.municipality_code, 2),
          jsonb_build_object('application_id', new.application_id, 'municipality_code', new.municipality_code,
                             'carrier_code', new.carrier_code, 'status', new.status,
                             'previous_status', case when tg_op = 'UPDATE' then old.status end,
                             'refusal_reason', new.refusal_reason, 'decision_note', new.decision_note,
                             'decision_due', new.decision_due, 'information_due', new.information_due,
                             'deemed', new.deemed, 'version', new.version));
  return null;
end $$;
create trigger applications_emit after insert or update of status on applications
  for each row execute function app.application_emit();

-- Tenders: formed when created, awarded when they reach 'awarded'; heard by the organiser and every
-- municipality of the round's prefectures.
create function app.tender_emit() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  t text := case when tg_op = 'INSERT' then 'tender.formed'
                 when new.status = 'awarded' and old.status <> 'awarded' then 'tender.awarded' end;
  pref text[];
begin
  if t is null then
    return null;
  end if;
  select r.prefectures into pref from procurement_rounds r
   where r.organiser_code = new.organiser_code and r.round_id = new.round_id;
  insert into event_outbox (type, subject, audience, prefecture, data)
  values (t, 'tender/' || new.tender_id,
          array[new.organiser_code] || array(select 'in:' || p from unnest(pref) p),
          case when cardinality(pref) = 1 then pref[1] end,
          jsonb_build_object('tender_id', new.tender_id, 'round_id', new.round_id,
                             'organiser_code', new.organiser_code, 'category_code', new.category_code,
                             'title', new.title, 'status', new.status, 'supplier_name', new.supplier_name,
                             'awarded_unit_price_yen', new.awarded_unit_price_yen));
  return null;
end $$;
create trigger procurement_tenders_emit after insert or update of status on procurement_tenders
  for each row execute function app.tender_emit();

-- Contracts: one event per buying municipality, heard by it, its prefecture and the organiser only.
create function app.contract_emit() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into event_outbox (type, subject, audience, prefecture, data)
  select 'contract.issued', 'tender/' || n.tender_id,
         array[n.municipality_code::text, 'pref:' || left(n.municipality_code, 2), n.organiser_code],
         left(n.municipality_code, 2),
         jsonb_build_object('tender_id', n.tender_id, 'organiser_code', n.organiser_code,
                            'municipality_code', n.municipality_code, 'lot_id', n.lot_id, 'quantity', n.quantity,
                            'unit_price_yen', n.unit_price_yen, 'amount_yen', n.amount_yen)
    from new_contracts n
   order by n.municipality_code;
  return null;
end $$;
create trigger procurement_contracts_emit after insert on procurement_contracts
  referencing new table as new_contracts for each statement execute function app.contract_emit();

-- Assets: statement-level, one event per municipality and kind of change per statement, so a load of a
-- million rows writes a handful of events, not a million (bench/EVENTS.md has its cost on bench/run.sh).
-- An event lists up to 100 of the asset ids (unsorted: sorting 100,000 ids cost ~0.3 s) with the count; a carrier fetches the rest from /v1/assets/changes.
-- Only published assets (or ones that were) are announced, as on the change feed; the extent lets an area
-- filter match. Restricted assets are in the extent at their ~1 km mesh centre, never at their position.
create function app.assets_emit_insert() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into event_outbox (type, subject, audience, prefecture, extent, data)
  select 'asset.published', 'assets/' || g.municipality_code, array['all'], left(g.municipality_code, 2), g.extent,
         jsonb_build_object('municipality_code', g.municipality_code, 'count', g.n, 'asset_ids', g.ids)
    from (select n.municipality_code, count(*) as n, ST_Extent(n.coarse_geom)::geometry as extent,
                 (array_agg(n.asset_id))[1:100] as ids
            from new_rows n where n.status = 'published' group by n.municipality_code) g
   order by g.municipality_code;
  return null;
end $$;

create function app.assets_emit_update() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into event_outbox (type, subject, audience, prefecture, extent, data)
  select 'asset.' || g.kind, 'assets/' || g.municipality_code, array['all'], left(g.municipality_code, 2), g.extent,
         jsonb_build_object('municipality_code', g.municipality_code, 'count', g.n, 'asset_ids', g.ids)
    from (select c.municipality_code, c.kind, count(*) as n, ST_Extent(c.coarse_geom)::geometry as extent,
                 (array_agg(c.asset_id))[1:100] as ids
            from (select n.municipality_code, n.asset_id, n.coarse_geom,
                         case when n.status = 'published' and o.status <> 'published' then 'published'
                              when n.status = 'published' then 'changed' else 'withdrawn' end as kind
                    from new_rows n join old_rows o using (municipality_code, asset_id)
                   where n.version <> o.version and (n.status = 'published' or o.status = 'published')) c
           group by c.municipality_code, c.kind) g
   order by g.municipality_code, g.kind;
  return null;
end $$;

create trigger assets_emit_insert after insert on assets
  referencing new table as new_rows for each statement execute function app.assets_emit_insert();
create trigger assets_emit_update after update on assets
  referencing old table as old_rows new table as new_rows for each statement execute function app.assets_emit_update();
