-- Why (issue 13): a first load builds the indexes it deferred (sql/155, sql/191) one after the other on one
-- connection after its commit, while the machine's other core and the load's other connections sit idle:
-- 2.6-2.8 s of a 16 s million-point load (1.63 s the GiST on geom, 0.65 s the btree on (municipality_code,
-- updated_at), the rest the partial GiST; psql \timing on the loaded table, 2026-11-30). Each index can be
-- built on its own connection at the same time (CREATE INDEX takes a SHARE lock, which does not conflict with
-- another CREATE INDEX), so the load asks for them by name: app.loader_restore_index builds one.
-- app.loader_restore_indexes (recovery, and the clean-up after a load) is unchanged.

create function app.loader_restore_index(p_load uuid, p_index text) returns boolean
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r record;
begin
  delete from loader.deferred_indexes where load_id = p_load and index_name = p_index
  returning index_name, definition, clustered into r;
  if not found then
    return false;
  end if;
  if to_regclass(format('public.%I', r.index_name)) is null then
    execute r.definition;
  end if;
  if r.clustered then
    execute format('alter table public.assets cluster on %I', r.index_name);
  end if;
  return true;
end $$;
revoke all on function app.loader_restore_index(uuid, text) from public;
grant execute on function app.loader_restore_index(uuid, text) to kyodo_api;

-- The names of the indexes load p_load deferred, the largest table first (the GiST on geom): the caller
-- starts the longest build first.
create function app.loader_deferred_indexes(p_load uuid) returns setof text
language sql security definer set search_path = public, pg_temp as $$
  select index_name from loader.deferred_indexes where load_id = p_load
   order by definition like '%USING gist (geom)%' desc, definition like '% WHERE %', index_name
$$;
revoke all on function app.loader_deferred_indexes(uuid) from public;
grant execute on function app.loader_deferred_indexes(uuid) to kyodo_api;
