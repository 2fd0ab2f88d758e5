-- Why (issue 17): Citus refuses statement-level triggers with transition tables (REFERENCING NEW/OLD TABLE) on
-- a distributed table, and `assets` is to be distributed by municipality code. Eleven such triggers derived
-- rows from every write to `assets`: audit and change feed (sql/010, 050, 051), the municipality check that
-- replaced the foreign key (sql/070, 156), asset events (sql/082), summaries (sql/090) and tile cells (sql/145).
-- They were statement-level so that a 1,000,000-row load fires them ten times (once per 100,000-row batch), not
-- a million times. From here:
--
-- * the bodies of those functions are kept, word for word, as set-based functions over arrays of rows
--   (`new_rows` becomes `unnest(p_new)`, `old_rows` `unnest(p_old)`), with the same security and settings;
-- * row triggers (one per derived table family and operation, so that tests and benches can still switch
--   one off by its old name) call them with `array[new]` / `array[old]`: a single-row write derives exactly
--   the rows it derived before;
-- * a statement that writes its own log rows says so with `SET LOCAL app.assets_logged = on` (a literal SET
--   LOCAL, which a Citus coordinator propagates to the workers; set_config does not) and writes them from its
--   RETURNING rows: app.assets_logged() (inserted rows, updated rows and the old rows it locked first), or,
--   cheaper for the inserts of a load, the audit and feed rows in data-modifying CTEs and the rest through
--   app.assets_inserts_logged() (loaders/merge.py; loaders/demo.py's bulk withdrawals).
--   Every row trigger skips itself through a WHEN on that setting. Each WHEN costs about 0.5-0.9 µs a row
--   even when false (1,000,000-row inserts into a scratch table, this shared machine), which is why the
--   audit, feed, events and municipality check share one trigger: three WHENs a loaded row, not seven.
--
-- What changes for a subscriber: a statement that writes many assets without logging them itself (a DBA's
-- UPDATE) now announces one asset event per row instead of one per municipality and kind; an API write is
-- one row, so its event is the same; a load still announces one per municipality and kind per batch.

do $do$
declare
  f record;
  src text;
begin
  for f in select * from (values
      -- (trigger function of before, set function of now, its arguments, its attributes)
      ('assets_after_insert', 'assets_audit_inserted', 'p_new assets[]', ''),
      ('assets_after_update', 'assets_audit_updated', 'p_old assets[], p_new assets[]', ''),
      ('assets_emit_insert', 'assets_emit_inserted', 'p_new assets[]',
       'security definer set search_path = public, pg_temp'),
      ('assets_emit_update', 'assets_emit_updated', 'p_old assets[], p_new assets[]',
       'security definer set search_path = public, pg_temp'),
      ('assets_municipalities_exist', 'assets_municipalities_checked', 'p_new assets[]',
       'security definer set search_path = public, pg_temp'),
      ('summaries_after_insert', 'summaries_inserted', 'p_new assets[]',
       'security definer set search_path = public, pg_temp set jit = off'),
      ('summaries_after_update', 'summaries_updated', 'p_old assets[], p_new assets[]',
       'security definer set search_path = public, pg_temp set jit = off'),
      ('summaries_after_delete', 'summaries_deleted', 'p_old assets[]',
       'security definer set search_path = public, pg_temp set jit = off'),
      ('tile_cells_after_insert', 'tile_cells_inserted', 'p_new assets[]',
       'security definer set search_path = public, pg_temp set jit = off set work_mem = ''64MB'''),
      ('tile_cells_after_update', 'tile_cells_updated', 'p_old assets[], p_new assets[]',
       'security definer set search_path = public, pg_temp set jit = off set work_mem = ''64MB'''),
      ('tile_cells_after_delete', 'tile_cells_deleted', 'p_old assets[]',
       'security definer set search_path = public, pg_temp set jit = off set work_mem = ''64MB''')
    ) v(before, now, args, attrs)
  loop
    select p.prosrc into strict src from pg_proc p
     where p.oid = format('app.%I()', f.before)::regprocedure;
    -- The check that these are the definitions read (sql/156's municipality check, sql/090's and sql/145's
    -- generated bodies): each reads its transition tables by these two names only, and ends with `return null`.
    if src !~ '\m(new|old)_rows\M' or src !~ 'return null;' then
      raise exception 'app.%() is not the trigger function this migration expects', f.before;
    end if;
    src := regexp_replace(src, '\mnew_rows\M', 'unnest(p_new)', 'g');
    src := regexp_replace(src, '\mold_rows\M', 'unnest(p_old)', 'g');
    src := replace(src, 'return null;', 'return;');
    execute format('create function app.%I(%s) returns void language plpgsql %s as %L', f.now, f.args, f.attrs, src);
    execute format('revoke all on function app.%I(%s) from public', f.now, f.args);
    execute format('grant execute on function app.%I(%s) to kyodo_api, kyodo_owner', f.now, f.args);
  end loop;
end
$do$;

drop trigger assets_audit_insert on assets;
drop trigger assets_audit_update on assets;
drop trigger assets_emit_insert on assets;
drop trigger assets_emit_update on assets;
drop trigger assets_municipality_exists_insert on assets;
drop trigger assets_municipality_exists_update on assets;
drop trigger assets_summaries_insert on assets;
drop trigger assets_summaries_update on assets;
drop trigger assets_summaries_delete on assets;
drop trigger assets_tile_cells_insert on assets;
drop trigger assets_tile_cells_update on assets;
drop trigger assets_tile_cells_delete on assets;
drop function app.assets_after_insert(), app.assets_after_update(), app.assets_emit_insert(), app.assets_emit_update(),
  app.assets_municipalities_exist(), app.summaries_after_insert(), app.summaries_after_update(),
  app.summaries_after_delete(), app.tile_cells_after_insert(), app.tile_cells_after_update(),
  app.tile_cells_after_delete();

-- The row triggers run as the writer (no security definer): the audit and the feed are written under the
-- writer's row security, as before; the set functions they call carry their own rights. They use the set
-- functions' generic plans: with the one-row array known, the planner preferred a custom plan each time and
-- planned the tile-cell query on every call (a single-row UPDATE's tile cells 1.66 ms a call against 0.55 ms
-- with the transition table; 0.54 ms generic, pg_stat_xact_user_functions over 100 updates). A load's arrays
-- of 100,000 rows keep custom plans (plan_cache_mode is auto there).
create function app.assets_row_logged() returns trigger language plpgsql
set plan_cache_mode = force_generic_plan as $$
begin
  if tg_op = 'INSERT' then
    perform app.assets_audit_inserted(array[new]);
    perform app.assets_emit_inserted(array[new]);
    perform app.assets_municipalities_checked(array[new]);
  else
    perform app.assets_audit_updated(array[old], array[new]);
    perform app.assets_emit_updated(array[old], array[new]);
    perform app.assets_municipalities_checked(array[new]);
  end if;
  return null;
end $$;

create function app.summaries_row() returns trigger language plpgsql
set plan_cache_mode = force_generic_plan as $$
begin
  case tg_op
    when 'INSERT' then perform app.summaries_inserted(array[new]);
    when 'UPDATE' then perform app.summaries_updated(array[old], array[new]);
    else perform app.summaries_deleted(array[old]);
  end case;
  return null;
end $$;

create function app.tile_cells_row() returns trigger language plpgsql
set plan_cache_mode = force_generic_plan as $$
begin
  case tg_op
    when 'INSERT' then perform app.tile_cells_inserted(array[new]);
    when 'UPDATE' then perform app.tile_cells_updated(array[old], array[new]);
    else perform app.tile_cells_deleted(array[old]);
  end case;
  return null;
end $$;

-- Trigger names sort as before (log, summaries, tile cells), so the derived rows are written in the same order.
create trigger assets_log_insert after insert on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.assets_row_logged();
create trigger assets_log_update after update on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.assets_row_logged();
create trigger assets_summaries_insert after insert on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.summaries_row();
create trigger assets_summaries_update after update on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.summaries_row();
create trigger assets_summaries_delete after delete on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.summaries_row();
create trigger assets_tile_cells_insert after insert on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.tile_cells_row();
create trigger assets_tile_cells_update after update on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.tile_cells_row();
create trigger assets_tile_cells_delete after delete on assets for each row
  when (current_setting('app.assets_logged', true) is distinct from 'on') execute function app.tile_cells_row();

-- A statement's own log: what the row triggers would have written for its rows, set-based. p_inserted are
-- the rows it inserted, p_updated the rows it updated (new values), p_old the same rows before (the
-- statement locks them before it updates them, so they are the values it replaced). Runs as the caller:
-- the audit and the feed meet the caller's row security, and the rest is refused unless the principal may
-- write every row's municipality (the check the audit rows' policy makes, made before the summaries), for a
-- caller row security applies to (the API role; not a superuser's maintenance).
create function app.assets_log_allowed(p_rows assets[]) returns void language plpgsql as $$
begin
  if current_setting('app.assets_logged', true) is distinct from 'on' then
    -- The row triggers fired for these rows: logging them again would count them twice.
    raise exception 'app.assets_logged() without SET LOCAL app.assets_logged = on'
      using errcode = 'object_not_in_prerequisite_state';
  end if;
  if row_security_active('assets') and not app.is_admin()
     and exists (select from unnest(p_rows) n where not app.can_write_lg(n.municipality_code::text)) then
    raise exception 'new row violates row-level security policy for table "assets"'
      using errcode = 'insufficient_privilege';
  end if;
end $$;

create function app.assets_logged(p_inserted assets[], p_old assets[], p_updated assets[]) returns void
language plpgsql as $$
declare
  -- Events, summaries and tile cells count published inserts only: drafts (a load's default) need not be
  -- unnested three more times.
  published assets[] := array(select n from unnest(p_inserted) n where n.status = 'published');
begin
  perform app.assets_log_allowed(p_inserted || p_updated);
  if cardinality(p_inserted) > 0 then
    perform app.assets_audit_inserted(p_inserted);
    perform app.assets_municipalities_checked(p_inserted);
  end if;
  if cardinality(published) > 0 then
    perform app.assets_emit_inserted(published);
  end if;
  if cardinality(p_updated) > 0 then
    perform app.assets_audit_updated(p_old, p_updated);
    perform app.assets_emit_updated(p_old, p_updated);
    perform app.assets_municipalities_checked(p_updated);
  end if;
  if cardinality(published) > 0 then
    perform app.summaries_inserted(published);
  end if;
  if cardinality(p_updated) > 0 then
    perform app.summaries_updated(p_old, p_updated);
  end if;
  if cardinality(published) > 0 then
    perform app.tile_cells_inserted(published);
  end if;
  if cardinality(p_updated) > 0 then
    perform app.tile_cells_updated(p_old, p_updated);
  end if;
end $$;

-- A load's inserts, cheaper: the statement writes its new rows' audit and feed rows itself, in data-modifying
-- CTEs over its RETURNING (the two inserts of app.assets_audit_inserted, as the trigger read its transition
-- table), and hands this function its published rows (events, summaries, tile cells; a load stores drafts
-- unless told to publish) and its distinct municipality codes (the check reads nothing else). Measured on a
-- 100,000-row batch of drafts (backend CPU from /proc/<pid>/stat, best of three, load average 5-7): the insert
-- alone 1.62 s, with the old statement triggers 1.63-1.74 s, with app.assets_logged over the array of all
-- whole rows 2.37 s.
create function app.assets_inserts_logged(p_published assets[], p_codes text[]) returns void
language plpgsql as $$
declare
  -- The check's and the guard's input: a row per code, with nothing but the code.
  coded assets[] := array(select jsonb_populate_record(null::assets, jsonb_build_object('municipality_code', c))
                            from unnest(p_codes) c);
begin
  perform app.assets_log_allowed(coded);
  perform app.assets_municipalities_checked(coded);
  if cardinality(p_published) > 0 then
    perform app.assets_emit_inserted(p_published);
    perform app.summaries_inserted(p_published);
    perform app.tile_cells_inserted(p_published);
  end if;
end $$;

revoke all on function app.assets_log_allowed(assets[]) from public;
revoke all on function app.assets_logged(assets[], assets[], assets[]) from public;
revoke all on function app.assets_inserts_logged(assets[], text[]) from public;
grant execute on function app.assets_log_allowed(assets[]) to kyodo_api, kyodo_owner;
grant execute on function app.assets_logged(assets[], assets[], assets[]) to kyodo_api, kyodo_owner;
grant execute on function app.assets_inserts_logged(assets[], text[]) to kyodo_api, kyodo_owner;
