-- Why (issue 10): current_tenants is the number of approved and installed applications on an asset,
-- and the slot logic relies on it (an approval takes a slot only while current_tenants < max_tenants).
-- The owner could PATCH it and a file load could overwrite it, so the count and the applications
-- could disagree. From here the database keeps it true: a new asset starts at 0 (it has no
-- applications yet), and an update that changes the value stores the count instead, whoever sends it.
-- The API no longer takes the field; applications move it by changing their status first
-- (registry/applications/service.py) and then touching the asset, which this trigger recounts.
-- The count runs as the owner (security definer), which row security also binds (FORCE): it may read
-- every application, as app.decision_days reads every municipality's settings.
create policy applications_slot_count on applications for select to kyodo_owner using (true);
create policy application_assets_slot_count on application_assets for select to kyodo_owner using (true);

create function app.held_slots(code lgcode, asset uuid) returns integer
language sql stable security definer set search_path = public, pg_temp as $$
  select count(*)::integer
    from application_assets aa
    join applications a on a.municipality_code = aa.municipality_code and a.application_id = aa.application_id
   where aa.municipality_code = code and aa.asset_id = asset and a.status in ('approved', 'installed')
$$;
revoke all on function app.held_slots(lgcode, uuid) from public;
grant execute on function app.held_slots(lgcode, uuid) to kyodo_api;

create function app.derive_current_tenants() returns trigger
language plpgsql set search_path = public, pg_temp as $$
begin
  if tg_op = 'INSERT' then
    new.current_tenants := 0;
  elsif new.current_tenants is distinct from old.current_tenants then
    new.current_tenants := app.held_slots(new.municipality_code, new.asset_id);
  end if;
  return new;
end
$$;

create trigger assets_current_tenants_derived before insert or update of current_tenants on assets
  for each row execute function app.derive_current_tenants();
