-- Why (issue 13): the statement-level check that replaced the foreign key to municipalities (sql/070)
-- read the statement's transition table twice, once to lock the codes and once to find a missing one:
-- two scans and two hash aggregates of every inserted row for what is one code in a load. On a batch of
-- 100,000 rows each pass took 240-310 ms on this shared machine (EXPLAIN ANALYZE, 2026-11-30, load
-- average 12-15). The distinct codes are now collected in one pass, and both checks read that short list.
-- Same guarantee, same lock (KEY SHARE on each referenced municipality), same error.
create or replace function app.assets_municipalities_exist() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  codes bpchar[];
  missing text;
begin
  -- A hash aggregate (one scan); array_agg(distinct ...) would sort every row's code instead.
  select array_agg(d.code) into codes from (select distinct n.municipality_code::bpchar as code from new_rows n) d;
  perform from municipalities m where m.code = any(codes) for key share of m;
  select c into missing from unnest(codes) c where not exists (select from municipalities m where m.code = c) limit 1;
  if found then
    raise exception 'insert or update on table "assets" violates foreign key constraint "assets_municipality_code_fkey"'
      using errcode = 'foreign_key_violation', constraint = 'assets_municipality_code_fkey', table = 'assets',
            detail = format('Key (municipality_code)=(%s) is not present in table "municipalities".', missing);
  end if;
  return null;
end
$$;
