-- Why (issue 13): a first load into an empty catalogue drops the spatial index and builds it again after
-- its commit (sql/155), and a rebuilt index is a new one: the table forgot that sql/151 named assets_geom
-- its clustering index, so the operator's `CLUSTER assets` after a large load, the step that took a box's
-- heap pages from ~1,105 to 89 at 100,000 points, failed with "there is no previously clustered index"
-- (found by bench/peers.sh at 1,000,000 points). The record now keeps the mark, and the rebuild sets it again.
alter table loader.deferred_indexes add column clustered boolean not null default false;

create or replace function app.loader_defer_indexes(p_load uuid) returns integer
language plpgsql security definer set search_path = public, pg_temp set lock_timeout = '2s' as $$
declare
  r record;
  n integer := 0;
begin
  -- Asked first without the lock: a catalogue with assets (every load but the first) never queues an
  -- exclusive lock in front of its readers.
  if app.role() <> 'admin' or exists (select from assets) then
    return 0;
  end if;
  begin
    lock table assets in access exclusive mode;
  exception when lock_not_available then
    return 0;
  end;
  if exists (select from assets) then
    return 0;
  end if;
  for r in select c.relname, pg_get_indexdef(i.indexrelid) as definition, i.indisclustered
             from pg_index i join pg_class c on c.oid = i.indexrelid
            where i.indrelid = 'public.assets'::regclass and not i.indisunique and not i.indisprimary
              and not exists (select from pg_constraint k where k.conindid = i.indexrelid)
            order by c.relname
  loop
    insert into loader.deferred_indexes (load_id, index_name, definition, clustered)
    values (p_load, r.relname, r.definition, r.indisclustered);
    execute format('drop index public.%I', r.relname);
    n := n + 1;
  end loop;
  return n;
end $$;

create or replace function app.loader_restore_indexes(p_load uuid) returns integer
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r record;
  n integer := 0;
begin
  for r in delete from loader.deferred_indexes where load_id = p_load
           returning index_name, definition, clustered loop
    if to_regclass(format('public.%I', r.index_name)) is null then
      execute r.definition;
      n := n + 1;
    end if;
    if r.clustered then
      execute format('alter table public.assets cluster on %I', r.index_name);
    end if;
  end loop;
  return n;
end $$;
