-- Why (issue 13): statistics and priority-area coverage counted the whole catalogue on every request
-- (demo data, 8 concurrent, p50: statistics by prefecture 879 ms, Tokyo's coverage 1,612 ms). From here
-- two summaries hold those counts and the reads only add them up (bench/SUMMARIES.md has the before and
-- after; the low-zoom tiles are not summarised yet, see there why):
--   asset_count_log      published assets per municipality x category x availability (statistics)
--   area_coverage_log    published assets per municipality x priority area x availability x place (coverage)
-- `place` keeps restricted assets masked exactly as the catalogue view does: 'p' an asset that is not
-- restricted, at its position (everyone); 'e' a restricted asset at its position (only readers who may
-- see the owner's data); 'c' the same asset at its ~1 km mesh centre (every other reader).
--
-- Kept current by statement-level triggers on assets (and priority_areas) with transition tables:
-- each statement aggregates the rows it changed once and adds the deltas (+1 new, -1 old). The
-- summaries are logs without a unique key, so a writer never waits for another: an upsert on a shared
-- key (a municipality's 'rooftop'/'offered' count) would hold that row until commit, and the parallel
-- loader's workers, which commit together by two-phase commit (sql/052), would wait for each other
-- for ever. Instead each statement deletes the committed rows of the keys it touches that nobody has
-- locked (SKIP LOCKED) and writes one row per key with their sum plus its delta: a key keeps about
-- one row, plus one per writer still open. Readers add up the rows of a key. Municipality code first
-- in each table (Citus distribution by tenant); none of them has a primary key, by design.

create table asset_count_log (
  municipality_code char(6) not null,
  category text not null,
  availability text not null,
  n bigint not null
);
create index asset_count_log_key on asset_count_log (municipality_code, category, availability);

create table area_coverage_log (
  municipality_code char(6) not null,
  area_prefecture char(6) not null,
  area_id uuid not null,
  availability text not null,
  place char(1) not null check (place in ('p', 'e', 'c')),
  n bigint not null
);
create index area_coverage_log_area on area_coverage_log (area_prefecture, area_id);

-- Who reads what: the counts of published assets, which every signed-in role already gets from the
-- catalogue; a restricted asset's exact place only for those who may see its owner's data, its coarse
-- place for everyone else (so each reader counts it once, where the catalogue shows it to them).
-- `(select app.role())` is evaluated once per query, not per row.
alter table asset_count_log enable row level security;
alter table asset_count_log force row level security;
create policy asset_count_log_read on asset_count_log for select to kyodo_api using ((select app.role()) <> 'none');
create policy asset_count_log_owner on asset_count_log for all to kyodo_owner using (true) with check (true);
grant select on asset_count_log to kyodo_api;

alter table area_coverage_log enable row level security;
alter table area_coverage_log force row level security;
create policy area_coverage_log_read on area_coverage_log for select to kyodo_api
  using ((select app.role()) <> 'none' and (place = 'p' or (place = 'e') = app.can_see_lg(municipality_code)));
create policy area_coverage_log_owner on area_coverage_log for all to kyodo_owner using (true) with check (true);
grant select on area_coverage_log to kyodo_api;

-- The definer functions below read every priority area to count assets inside them.
create policy priority_areas_owner_summaries on priority_areas for select to kyodo_owner using (true);

-- The body every asset trigger shares; %1$s is the changed rows as (municipality_code, category,
-- availability, visibility, geom, coarse_geom, sign) of published assets only.
do $do$
declare
  body constant text := $body$
with d as (%1$s),
pos as (
  select d.municipality_code, d.category, d.availability, d.sign,
         case when d.visibility = 'restricted' then 'e' else 'p' end as place, d.geom
    from d
  union all
  select d.municipality_code, d.category, d.availability, d.sign, 'c', d.coarse_geom
    from d where d.visibility = 'restricted'),
counts as (
  select d.municipality_code, d.category, d.availability, sum(d.sign) as n
    from d group by 1, 2, 3 having sum(d.sign) <> 0),
counts_old as (
  delete from asset_count_log l
   where l.ctid in (select k.ctid from asset_count_log k join counts c using (municipality_code, category, availability)
                     for update of k skip locked)
  returning l.municipality_code, l.category, l.availability, l.n),
counts_new as (
  insert into asset_count_log (municipality_code, category, availability, n)
  select x.municipality_code, x.category, x.availability, sum(x.n)
    from (select * from counts union all select * from counts_old) x
   group by 1, 2, 3 having sum(x.n) <> 0),
cover as (
  select p.municipality_code, a.prefecture_code::char(6) as area_prefecture, a.area_id, p.availability, p.place,
         sum(p.sign) as n
    from pos p join priority_areas a on a.geom && p.geom and ST_Intersects(p.geom, a.geom)
   group by 1, 2, 3, 4, 5 having sum(p.sign) <> 0),
cover_old as (
  delete from area_coverage_log l
   where l.ctid in (select k.ctid from area_coverage_log k
                      join cover c using (area_prefecture, area_id, municipality_code, availability, place)
                     for update of k skip locked)
  returning l.municipality_code, l.area_prefecture, l.area_id, l.availability, l.place, l.n)
insert into area_coverage_log (municipality_code, area_prefecture, area_id, availability, place, n)
select x.municipality_code, x.area_prefecture, x.area_id, x.availability, x.place, sum(x.n)
  from (select * from cover union all select * from cover_old) x
 group by 1, 2, 3, 4, 5 having sum(x.n) <> 0
$body$;
  cols constant text := 'municipality_code, category, availability, visibility, geom, coarse_geom';
begin
  execute format($f$
    create function app.summaries_after_insert() returns trigger
    language plpgsql security definer set search_path = public, pg_temp set jit = off as $fn$
    begin
      %s;
      return null;
    end $fn$ $f$,
    format(body, format('select %s, 1 as sign from new_rows where status = ''published''', cols)));

  execute format($f$
    create function app.summaries_after_delete() returns trigger
    language plpgsql security definer set search_path = public, pg_temp set jit = off as $fn$
    begin
      %s;
      return null;
    end $fn$ $f$,
    format(body, format('select %s, -1 as sign from old_rows where status = ''published''', cols)));

  -- Only rows whose counted columns changed: a recount of current_tenants or a new name moves nothing.
  execute format($f$
    create function app.summaries_after_update() returns trigger
    language plpgsql security definer set search_path = public, pg_temp set jit = off as $fn$
    begin
      %s;
      return null;
    end $fn$ $f$,
    format(body, $changed$
      select c.municipality_code, c.category, c.availability, c.visibility, c.geom, c.coarse_geom, c.sign
        from (select n.*, o.municipality_code as o_code, o.category as o_category, o.availability as o_availability,
                     o.visibility as o_visibility, o.status as o_status, o.geom as o_geom, o.coarse_geom as o_coarse
                from new_rows n join old_rows o using (asset_id)
               where n.municipality_code is distinct from o.municipality_code or n.status is distinct from o.status
                  or n.category is distinct from o.category or n.availability is distinct from o.availability
                  or n.visibility is distinct from o.visibility
                  or ST_AsEWKB(n.geom) is distinct from ST_AsEWKB(o.geom)) p
       cross join lateral (
         select p.municipality_code, p.category, p.availability, p.visibility, p.geom, p.coarse_geom, 1 as sign
          where p.status = 'published'
         union all
         select p.o_code, p.o_category, p.o_availability, p.o_visibility, p.o_geom, p.o_coarse, -1
          where p.o_status = 'published') c
    $changed$));
end
$do$;
revoke all on function app.summaries_after_insert() from public;
revoke all on function app.summaries_after_delete() from public;
revoke all on function app.summaries_after_update() from public;

create function app.summaries_truncate() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if tg_table_name = 'assets' then
    truncate asset_count_log, area_coverage_log;
  else
    truncate area_coverage_log;
  end if;
  return null;
end $$;
revoke all on function app.summaries_truncate() from public;

create trigger assets_summaries_insert after insert on assets
  referencing new table as new_rows for each statement execute function app.summaries_after_insert();
create trigger assets_summaries_update after update on assets
  referencing old table as old_rows new table as new_rows for each statement
  execute function app.summaries_after_update();
create trigger assets_summaries_delete after delete on assets
  referencing old table as old_rows for each statement execute function app.summaries_after_delete();
create trigger assets_summaries_truncate after truncate on assets
  for each statement execute function app.summaries_truncate();

-- Priority areas: a new area counts the published assets inside it once; a removed area takes its rows
-- along; an area whose shape changes is counted again.
create function app.area_coverage_counted(areas_prefecture char(6)[], areas uuid[]) returns void
language sql security definer set search_path = public, pg_temp as $$
  insert into area_coverage_log (municipality_code, area_prefecture, area_id, availability, place, n)
  select x.municipality_code, ar.prefecture_code, ar.area_id, x.availability, x.place, count(*)
    from priority_areas ar
    cross join lateral (
      select a.municipality_code, a.availability, case when a.visibility = 'restricted' then 'e' else 'p' end as place
        from assets a
       where a.status = 'published' and a.geom && ar.geom and ST_Intersects(a.geom, ar.geom)
      union all
      select a.municipality_code, a.availability, 'c'
        from assets a
       where a.status = 'published' and a.visibility = 'restricted'
         and a.coarse_geom && ar.geom and ST_Intersects(a.coarse_geom, ar.geom)) x
   where (ar.prefecture_code, ar.area_id) in (select * from unnest(areas_prefecture, areas))
   group by 1, 2, 3, 4, 5
$$;
revoke all on function app.area_coverage_counted(char(6)[], uuid[]) from public;

create function app.areas_summaries() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  if tg_op = 'DELETE' then
    delete from area_coverage_log l using old_rows o where l.area_prefecture = o.prefecture_code and l.area_id = o.area_id;
  elsif tg_op = 'INSERT' then
    perform app.area_coverage_counted(array(select prefecture_code from new_rows), array(select area_id from new_rows));
  else
    delete from area_coverage_log l
     using old_rows o join new_rows n using (area_id)
     where l.area_prefecture = o.prefecture_code and l.area_id = o.area_id
       and (n.prefecture_code <> o.prefecture_code or ST_AsEWKB(n.geom) <> ST_AsEWKB(o.geom));
    perform app.area_coverage_counted(array_agg(n.prefecture_code), array_agg(n.area_id))
       from new_rows n join old_rows o using (area_id)
      where n.prefecture_code <> o.prefecture_code or ST_AsEWKB(n.geom) <> ST_AsEWKB(o.geom);
  end if;
  return null;
end $$;
revoke all on function app.areas_summaries() from public;

create trigger priority_areas_summaries_insert after insert on priority_areas
  referencing new table as new_rows for each statement execute function app.areas_summaries();
create trigger priority_areas_summaries_update after update on priority_areas
  referencing old table as old_rows new table as new_rows for each statement execute function app.areas_summaries();
create trigger priority_areas_summaries_delete after delete on priority_areas
  referencing old table as old_rows for each statement execute function app.areas_summaries();
create trigger priority_areas_summaries_truncate after truncate on priority_areas
  for each statement execute function app.summaries_truncate();

-- Both summaries counted again from scratch: what the migration does once, and the way back after anything
-- that wrote assets with these triggers disabled (ALTER TABLE ... DISABLE TRIGGER, session_replication_role).
create function app.summaries_rebuild() returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off as $$
begin
  lock table asset_count_log, area_coverage_log in exclusive mode;
  truncate asset_count_log, area_coverage_log;
  insert into asset_count_log (municipality_code, category, availability, n)
  select municipality_code, category, availability, count(*) from assets where status = 'published' group by 1, 2, 3;
  perform app.area_coverage_counted(coalesce(array_agg(prefecture_code), '{}'), coalesce(array_agg(area_id), '{}'))
     from priority_areas;
end $$;
revoke all on function app.summaries_rebuild() from public;

-- What is there already, counted once.
select app.summaries_rebuild();
