-- Why (issue 13): a million-point load spent its backend time per row on three things that do not
-- need to run per row. Profiled with perf on one 100,000-row batch of the merge (bench/README.md,
-- 2026-11-30): the foreign key to municipalities 10 % (one SPI query with a KEY SHARE row lock per
-- row), the current-tenants trigger 7 % (a PL/pgSQL call with its own search_path per row, to set
-- a value that is already 0), the generated coarse location 10 % (app.mesh3_centre is a SQL
-- function that is not inlined there, because its argument ST_PointOnSurface(geom) is expensive and
-- used twice, so each row ran the SQL-function executor). Each is replaced by the same rule, cheaper.

-- 1. The current-tenants rule of sql/056, unchanged, now asked only when it can change something:
-- a WHEN condition is evaluated without calling the function. An insert that gives 0 (every load,
-- every API create) and an update that leaves the count alone skip the call; any other value still
-- goes through app.derive_current_tenants exactly as before.
drop trigger assets_current_tenants_derived on assets;
create trigger assets_current_tenants_derived before insert on assets
  for each row when (new.current_tenants is distinct from 0) execute function app.derive_current_tenants();
create trigger assets_current_tenants_recounted before update of current_tenants on assets
  for each row when (new.current_tenants is distinct from old.current_tenants)
  execute function app.derive_current_tenants();

-- 2. The mesh centre, same arithmetic, as PL/pgSQL: its one expression is evaluated as a cached
-- simple expression, about 1 µs a call where the uninlined SQL function took about 3.5 µs
-- (100,000 points: 105 ms against 311-463 ms).
create or replace function app.mesh3_centre(pt geometry) returns geometry
language plpgsql immutable parallel safe as $$
begin
  return ST_SetSRID(ST_MakePoint(100 + (floor((ST_X(pt) - 100) * 80) + 0.5) / 80,
                                 (floor(ST_Y(pt) * 120) + 0.5) / 120), 4326);
end
$$;

-- 3. assets → municipalities: the same guarantee as the foreign key, checked once per statement for
-- the distinct codes it wrote (a load has one) instead of once per row. Like the foreign key, it
-- takes a KEY SHARE lock on each referenced municipality, so a concurrent delete waits for the
-- writer, and it fails with foreign_key_violation under the same constraint name (problems.py maps
-- it to 422). Runs as the owner: KEY SHARE needs more than the API role's SELECT.
alter table assets drop constraint assets_municipality_code_fkey;

create function app.assets_municipalities_exist() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  missing text;
begin
  perform from municipalities m where m.code in (select n.municipality_code from new_rows n) for key share of m;
  select n.code into missing
    from (select distinct municipality_code as code from new_rows) n
   where not exists (select from municipalities m where m.code = n.code)
   limit 1;
  if found then
    raise exception 'insert or update on table "assets" violates foreign key constraint "assets_municipality_code_fkey"'
      using errcode = 'foreign_key_violation', constraint = 'assets_municipality_code_fkey', table = 'assets',
            detail = format('Key (municipality_code)=(%s) is not present in table "municipalities".', missing);
  end if;
  return null;
end
$$;
revoke all on function app.assets_municipalities_exist() from public;

create trigger assets_municipality_exists_insert after insert on assets
  referencing new table as new_rows for each statement execute function app.assets_municipalities_exist();
create trigger assets_municipality_exists_update after update on assets
  referencing new table as new_rows for each statement execute function app.assets_municipalities_exist();

-- The other side of the foreign key (ON DELETE / ON UPDATE NO ACTION): a municipality that assets
-- still name can be neither deleted nor renumbered. The reference refresh (registry migrate) deletes
-- codes that left the national list and must keep failing for one that is in use.
create function app.municipalities_still_used() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  used text;
begin
  if tg_op = 'DELETE' then
    select o.code into used from old_rows o where exists (select from assets a where a.municipality_code = o.code)
     limit 1;
  else
    select o.code into used from old_rows o
     where not exists (select from new_rows n where n.code = o.code)
       and exists (select from assets a where a.municipality_code = o.code)
     limit 1;
  end if;
  if found then
    raise exception 'update or delete on table "municipalities" violates foreign key constraint "assets_municipality_code_fkey" on table "assets"'
      using errcode = 'foreign_key_violation', constraint = 'assets_municipality_code_fkey', table = 'municipalities',
            detail = format('Key (code)=(%s) is still referenced from table "assets".', used);
  end if;
  return null;
end
$$;
revoke all on function app.municipalities_still_used() from public;

create trigger municipalities_used_by_assets_delete after delete on municipalities
  referencing old table as old_rows for each statement execute function app.municipalities_still_used();
create trigger municipalities_used_by_assets_update after update on municipalities
  referencing old table as old_rows new table as new_rows for each statement
  execute function app.municipalities_still_used();
