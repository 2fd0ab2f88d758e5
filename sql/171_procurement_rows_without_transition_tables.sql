-- Why (issue 17, item 3): Citus refuses statement-level triggers with transition tables (REFERENCING NEW/OLD
-- TABLE) on distributed and reference tables, and the spike's three-node cluster failed at run time with
-- "could not find named tuplestore". docs/scaling.md's plan makes procurement_needs distributed and
-- municipalities, tenders, tender needs and lot awards reference tables; priority_areas and
-- procurement_contracts, not named there, are one or the other. Their 18 such triggers (on those 7 tables) are
-- rewritten here as FOR EACH ROW triggers doing the same work. The event outbox (sql/081) stays on the
-- coordinator in the plan and keeps its transition table; `assets` is converted separately.
--
-- * pool versions (sql/065, sql/140): a need, tender, tender membership or lot award written bumps its
--   round's pool version. Per row, a 34,820-need upload would bump one row 34,820 times in one transaction
--   (bench/procurement_national.py's transaction already ended at version 8,736: one bump per one-row
--   statement of tender membership). Readers see committed versions only (app.procurement_pool_version, read
--   by GET routes alone), so one bump per transaction tells them the pool changed as well as one per
--   statement did: the first row of a pool in a transaction bumps it and notes the pool in a
--   transaction-local setting (app.pools_bumped, gone at commit or rollback, and undone together with the
--   bump by a rolled-back savepoint); a BEFORE trigger's WHEN clause reads the note, so every later row of
--   that pool calls no function at all. BEFORE, not AFTER: an AFTER row trigger's WHEN is evaluated as the
--   row is queued, before any of the statement's queued calls has run and noted the pool. A bump for a row
--   that a later trigger or check refuses is undone with the statement.
-- * contracts (sql/082): one contract.issued event per contract, as before (contracts are written one row
--   per statement by queries.insert_contracts' executemany, so the statement trigger already made one event
--   per statement and row, in the same order).
-- * priority areas (sql/090): an area inserted, moved or deleted recounts (or drops) its own coverage rows.
-- * municipalities (sql/070): a municipality that assets still name can be neither deleted nor renumbered.

-- Pool versions ---------------------------------------------------------------------------------------------

-- True when this transaction has not yet bumped the pool (or tender) `k`. A SQL expression, inlined into
-- the triggers' WHEN clauses (EXPLAIN VERBOSE shows the position() call): a million evaluations take 0.09 s
-- more than building the keys alone, and no PL/pgSQL call.
create function app.pool_unbumped(k text) returns boolean
language sql stable parallel safe as $$
  select position('|' || k || '|' in coalesce(current_setting('app.pools_bumped', true), '')) = 0
$$;

create function app.pool_noted(k text) returns void
language sql volatile as $$
  select set_config('app.pools_bumped', coalesce(nullif(current_setting('app.pools_bumped', true), ''), '|')
                                        || k || '|', true)
$$;

-- The bump itself, as sql/065 did it (a round without a row starts at 1), once per transaction and pool.
create function app.bump_pool_version_once(p_organiser text, p_round uuid) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  k constant text := p_organiser || '/' || p_round;
begin
  if app.pool_unbumped(k) then
    insert into procurement_pool_versions as v (organiser_code, round_id) values (p_organiser, p_round)
    on conflict (organiser_code, round_id) do update set version = v.version + 1;
    perform app.pool_noted(k);
  end if;
end
$$;
revoke all on function app.bump_pool_version_once(text, uuid) from public;

drop trigger procurement_needs_pool_version_ins on procurement_needs;
drop trigger procurement_needs_pool_version_upd on procurement_needs;
drop trigger procurement_needs_pool_version_del on procurement_needs;
drop trigger procurement_tenders_pool_version_ins on procurement_tenders;
drop trigger procurement_tenders_pool_version_upd on procurement_tenders;
drop trigger procurement_tenders_pool_version_del on procurement_tenders;
drop trigger procurement_tender_needs_pool_version_ins on procurement_tender_needs;
drop trigger procurement_tender_needs_pool_version_upd on procurement_tender_needs;
drop trigger procurement_tender_needs_pool_version_del on procurement_tender_needs;
drop trigger procurement_lot_awards_pool_version_ins on procurement_lot_awards;
drop trigger procurement_lot_awards_pool_version_upd on procurement_lot_awards;
drop trigger procurement_lot_awards_pool_version_del on procurement_lot_awards;

-- Needs and tenders carry their round. An update bumps the round it leaves too (the statement trigger read
-- only the new rows; no route moves a need or tender to another round, so this changes nothing today).
create or replace function app.bump_pool_versions() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if tg_op <> 'DELETE' then
    perform app.bump_pool_version_once(new.organiser_code, new.round_id);
  end if;
  if tg_op <> 'INSERT' then
    perform app.bump_pool_version_once(old.organiser_code, old.round_id);
  end if;
  return case when tg_op = 'DELETE' then old else new end;  -- the row as it is to be written
end
$$;

-- Tender membership and lot awards carry their round only through the tender: the first row of a tender in
-- a transaction finds the round, bumps it and notes the tender too, so the tender's later rows skip the call.
-- A tender already deleted (its membership deleted by the cascade) is not found: the tender's own delete
-- bumped the round, as with the statement trigger's join.
create function app.bump_pool_version_of_tender(p_organiser text, p_tender uuid) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  r uuid;
begin
  select t.round_id into r from procurement_tenders t where t.organiser_code = p_organiser and t.tender_id = p_tender;
  if found then
    perform app.bump_pool_version_once(p_organiser, r);
    perform app.pool_noted('t:' || p_organiser || '/' || p_tender);
  end if;
end
$$;
revoke all on function app.bump_pool_version_of_tender(text, uuid) from public;

create or replace function app.bump_pool_versions_by_tender() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if tg_op <> 'DELETE' then
    perform app.bump_pool_version_of_tender(new.organiser_code, new.tender_id);
  end if;
  if tg_op <> 'INSERT' then
    perform app.bump_pool_version_of_tender(old.organiser_code, old.tender_id);
  end if;
  return case when tg_op = 'DELETE' then old else new end;  -- the row as it is to be written
end
$$;

create trigger procurement_needs_pool_version_ins before insert on procurement_needs for each row
  when (app.pool_unbumped(new.organiser_code || '/' || new.round_id)) execute function app.bump_pool_versions();
create trigger procurement_needs_pool_version_upd before update on procurement_needs for each row
  when (app.pool_unbumped(new.organiser_code || '/' || new.round_id)
        or app.pool_unbumped(old.organiser_code || '/' || old.round_id)) execute function app.bump_pool_versions();
create trigger procurement_needs_pool_version_del before delete on procurement_needs for each row
  when (app.pool_unbumped(old.organiser_code || '/' || old.round_id)) execute function app.bump_pool_versions();
create trigger procurement_tenders_pool_version_ins before insert on procurement_tenders for each row
  when (app.pool_unbumped(new.organiser_code || '/' || new.round_id)) execute function app.bump_pool_versions();
create trigger procurement_tenders_pool_version_upd before update on procurement_tenders for each row
  when (app.pool_unbumped(new.organiser_code || '/' || new.round_id)
        or app.pool_unbumped(old.organiser_code || '/' || old.round_id)) execute function app.bump_pool_versions();
create trigger procurement_tenders_pool_version_del before delete on procurement_tenders for each row
  when (app.pool_unbumped(old.organiser_code || '/' || old.round_id)) execute function app.bump_pool_versions();

create trigger procurement_tender_needs_pool_version_ins before insert on procurement_tender_needs for each row
  when (app.pool_unbumped('t:' || new.organiser_code || '/' || new.tender_id))
  execute function app.bump_pool_versions_by_tender();
create trigger procurement_tender_needs_pool_version_upd before update on procurement_tender_needs for each row
  when (app.pool_unbumped('t:' || new.organiser_code || '/' || new.tender_id)
        or app.pool_unbumped('t:' || old.organiser_code || '/' || old.tender_id))
  execute function app.bump_pool_versions_by_tender();
create trigger procurement_tender_needs_pool_version_del before delete on procurement_tender_needs for each row
  when (app.pool_unbumped('t:' || old.organiser_code || '/' || old.tender_id))
  execute function app.bump_pool_versions_by_tender();
create trigger procurement_lot_awards_pool_version_ins before insert on procurement_lot_awards for each row
  when (app.pool_unbumped('t:' || new.organiser_code || '/' || new.tender_id))
  execute function app.bump_pool_versions_by_tender();
create trigger procurement_lot_awards_pool_version_upd before update on procurement_lot_awards for each row
  when (app.pool_unbumped('t:' || new.organiser_code || '/' || new.tender_id)
        or app.pool_unbumped('t:' || old.organiser_code || '/' || old.tender_id))
  execute function app.bump_pool_versions_by_tender();
create trigger procurement_lot_awards_pool_version_del before delete on procurement_lot_awards for each row
  when (app.pool_unbumped('t:' || old.organiser_code || '/' || old.tender_id))
  execute function app.bump_pool_versions_by_tender();

-- Contracts -------------------------------------------------------------------------------------------------

drop trigger procurement_contracts_emit on procurement_contracts;
create or replace function app.contract_emit() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into event_outbox (type, subject, audience, prefecture, data)
  values ('contract.issued', 'tender/' || new.tender_id,
          array[new.municipality_code::text, 'pref:' || left(new.municipality_code, 2), new.organiser_code],
          left(new.municipality_code, 2),
          jsonb_build_object('tender_id', new.tender_id, 'organiser_code', new.organiser_code,
                             'municipality_code', new.municipality_code, 'lot_id', new.lot_id,
                             'quantity', new.quantity, 'unit_price_yen', new.unit_price_yen,
                             'amount_yen', new.amount_yen));
  return null;
end $$;
create trigger procurement_contracts_emit after insert on procurement_contracts
  for each row execute function app.contract_emit();

-- Priority areas --------------------------------------------------------------------------------------------

drop trigger priority_areas_summaries_insert on priority_areas;
drop trigger priority_areas_summaries_update on priority_areas;
drop trigger priority_areas_summaries_delete on priority_areas;
-- One area's coverage rows: sql/090's rule (published assets meeting the area, at the place each reader class
-- sees them), unchanged, for one area given whole. PL/pgSQL, so its plan is kept for the session: called once
-- per row, the SQL function app.area_coverage_counted was prepared again at each call. Inserting the demo's 167
-- Tokyo areas over its 91,683 assets (EXPLAIN ANALYZE, load average 4-5 on 2 cores): 0.12-0.23 s calling it per
-- row, 0.04-0.05 s this way, 0.04-0.08 s with the statement trigger before.
create function app.area_coverage_of(p_prefecture char(6), p_area uuid, p_geom geometry) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into area_coverage_log (municipality_code, area_prefecture, area_id, availability, place, n)
  select x.municipality_code, p_prefecture, p_area, x.availability, x.place, count(*)
    from (
      select a.municipality_code, a.availability, case when a.visibility = 'restricted' then 'e' else 'p' end as place
        from assets a
       where a.status = 'published' and a.geom && p_geom and ST_Intersects(a.geom, p_geom)
      union all
      select a.municipality_code, a.availability, 'c'
        from assets a
       where a.status = 'published' and a.visibility = 'restricted'
         and a.coarse_geom && p_geom and ST_Intersects(a.coarse_geom, p_geom)) x
   group by 1, 2, 3, 4, 5;
end
$$;
revoke all on function app.area_coverage_of(char(6), uuid, geometry) from public;

-- The rule stays in one place: the rebuild (app.summaries_rebuild, sql/145) counts each area through it too.
create or replace function app.area_coverage_counted(areas_prefecture char(6)[], areas uuid[]) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  perform app.area_coverage_of(ar.prefecture_code, ar.area_id, ar.geom)
     from priority_areas ar
    where (ar.prefecture_code, ar.area_id) in (select * from unnest(areas_prefecture, areas));
end
$$;

-- AFTER row triggers run at the end of the statement, so each area is counted against the assets the whole
-- statement left, as the statement trigger counted them.
create or replace function app.areas_summaries() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if tg_op <> 'INSERT' then
    delete from area_coverage_log l where l.area_prefecture = old.prefecture_code and l.area_id = old.area_id;
  end if;
  if tg_op <> 'DELETE' then
    perform app.area_coverage_of(new.prefecture_code, new.area_id, new.geom);
  end if;
  return null;
end
$$;
create trigger priority_areas_summaries_insert after insert on priority_areas
  for each row execute function app.areas_summaries();
-- Only a change of place recounts (a new name or kind counts nothing new), compared as the statement
-- trigger compared them: by prefecture and by the geometry's exact bytes.
create trigger priority_areas_summaries_update after update on priority_areas for each row
  when (new.prefecture_code is distinct from old.prefecture_code or new.area_id is distinct from old.area_id
        or ST_AsEWKB(new.geom) <> ST_AsEWKB(old.geom))
  execute function app.areas_summaries();
create trigger priority_areas_summaries_delete after delete on priority_areas
  for each row execute function app.areas_summaries();

-- Municipalities --------------------------------------------------------------------------------------------

drop trigger municipalities_used_by_assets_delete on municipalities;
drop trigger municipalities_used_by_assets_update on municipalities;
-- An AFTER row trigger sees the whole statement's result: a renumbering that hands a code to another row
-- of the same statement leaves the code present, and passes, as it passed the statement trigger.
create or replace function app.municipalities_still_used() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if exists (select from assets a where a.municipality_code = old.code)
     and (tg_op = 'DELETE' or not exists (select from municipalities m where m.code = old.code)) then
    raise exception 'update or delete on table "municipalities" violates foreign key constraint "assets_municipality_code_fkey" on table "assets"'
      using errcode = 'foreign_key_violation', constraint = 'assets_municipality_code_fkey', table = 'municipalities',
            detail = format('Key (code)=(%s) is still referenced from table "assets".', old.code);
  end if;
  return null;
end
$$;
create trigger municipalities_used_by_assets_delete after delete on municipalities
  for each row execute function app.municipalities_still_used();
create trigger municipalities_used_by_assets_update after update on municipalities for each row
  when (new.code is distinct from old.code) execute function app.municipalities_still_used();
