-- Why (issue 13): a million-point load into an empty catalogue spent 23 % of its backend CPU inserting
-- each row into the GiST index on assets.geom (perf over a whole load, 2026-11-30, bench/README.md),
-- and more on the two non-unique btrees; ogr2ogr writes its table first and builds the index once,
-- sorted, at the end. A large load (the parallel loader, loaders/parallel.py) into a catalogue with no
-- asset at all does the same: it drops the indexes of assets that no constraint needs (not the primary
-- key, not the unique source ids), merges, and builds them again after its commit. Only then: when
-- assets is empty, the indexes have nothing to serve while they are away. The definitions are kept
-- here, so that a load cut short gets them back from `recover` (run before every load), which calls
-- app.loader_restore_indexes for every load it finishes.

create table loader.deferred_indexes (
  load_id uuid not null,
  index_name text not null,
  definition text not null,
  primary key (load_id, index_name)
);
grant select on loader.deferred_indexes to kyodo_api;

-- Drops the deferrable indexes of assets for load p_load if assets holds no row; returns how many.
-- Admin principal only (the command line): an upload never changes the catalogue's indexes. Waits at
-- most 2 s for the table: a busy catalogue is not empty, and the load then runs with its indexes.
create function app.loader_defer_indexes(p_load uuid) returns integer
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
  for r in select c.relname, pg_get_indexdef(i.indexrelid) as definition
             from pg_index i join pg_class c on c.oid = i.indexrelid
            where i.indrelid = 'public.assets'::regclass and not i.indisunique and not i.indisprimary
              and not exists (select from pg_constraint k where k.conindid = i.indexrelid)
            order by c.relname
  loop
    insert into loader.deferred_indexes (load_id, index_name, definition) values (p_load, r.relname, r.definition);
    execute format('drop index public.%I', r.relname);
    n := n + 1;
  end loop;
  return n;
end $$;
revoke all on function app.loader_defer_indexes(uuid) from public;
grant execute on function app.loader_defer_indexes(uuid) to kyodo_api;

-- Builds again the indexes load p_load deferred (those still missing); returns how many it built.
create function app.loader_restore_indexes(p_load uuid) returns integer
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r record;
  n integer := 0;
begin
  for r in delete from loader.deferred_indexes where load_id = p_load returning index_name, definition loop
    if to_regclass(format('public.%I', r.index_name)) is null then
      execute r.definition;
      n := n + 1;
    end if;
  end loop;
  return n;
end $$;
revoke all on function app.loader_restore_indexes(uuid) from public;
grant execute on function app.loader_restore_indexes(uuid) to kyodo_api;
