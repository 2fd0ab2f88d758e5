-- Why (issue 13): a published million-point load took 2.6-3.6 times ogr2ogr, and 44.8 of its 51.7 s went to the
-- tile cells (app.tile_cells_inserted, 18 calls, pg_stat_user_functions). Each batch's call deleted and wrote again
-- every summary row its cells touched, ~19,300 keys on every batch of points spread over one city, and unnested
-- their ~350,000 slots to add them up with its own: 3.9 s for a 100,000-row batch of which ~2 s was that merge
-- (auto_explain). The summary itself counts each asset once; a load need only merge it once.
--
-- So the tile-cell writers are split in two, written out here instead of generated from sql/145's text:
--   app.tile_cell_counts(rows, sign)  the zoom-17 cells (zoom 11's cells) each published row counts in, per place
--                                     (sql/145's masking: 'o' for every reader, 'x' the owner's corrections),
--                                     ungrouped: the one home of that rule;
--   app.tile_cells_counted(counts)    adds such counts to the summary: zooms 11 to 4 from them, then the merge
--                                     with the committed rows of their keys (SKIP LOCKED, as before).
-- The four writers of before (sql/145, 180, 192) are these two put together, so the single-row triggers and the
-- rebuild write the rows they wrote. A load (loaders/merge.py) instead gathers each batch's counts in a table
-- of its own (app.assets_inserts_logged's third argument) and adds them up once, before it commits
-- (app.tile_cells_counted over that table, grouped).
--
-- The cell's column and row are two functions: app.tile_cell17's array, taken apart as c[1] and c[2] after the
-- planner inlined it, computed both twice.

create function app.tile_x17(g geometry) returns int language sql immutable parallel safe as $$
  select least(greatest(floor((ST_X(case when GeometryType(g) = 'POINT' then g else ST_PointOnSurface(g) end)
                               + 180) / 360 * 131072), 0), 131071)::int
$$;
create function app.tile_y17(g geometry) returns int language sql immutable parallel safe as $$
  select least(greatest(floor((1 - asinh(tan(radians(
           ST_Y(case when GeometryType(g) = 'POINT' then g else ST_PointOnSurface(g) end)))) / pi()) / 2 * 131072),
           0), 131071)::int
$$;
create or replace function app.tile_cell17(g geometry) returns int[] language sql immutable parallel safe as $$
  select array[app.tile_x17(g), app.tile_y17(g)]
$$;

-- One count: municipality_code is the asset's own for both places (the summary keeps '' for place 'o').
create type app.tile_cell_count as (municipality_code text, place char(1), category text, availability text,
                                    cx int, cy int, n int);

create function app.tile_cell_counts(p_rows assets[], p_sign int) returns setof app.tile_cell_count
language sql stable parallel safe as $$
  select d.municipality_code::text, 'o'::char(1), d.category, d.availability,
         app.tile_x17(case when d.visibility = 'restricted' then d.coarse_geom else d.geom end),
         app.tile_y17(case when d.visibility = 'restricted' then d.coarse_geom else d.geom end), p_sign
    from unnest(p_rows) d
   where d.status = 'published'
  union all
  select d.municipality_code::text, 'x'::char(1), d.category, d.availability, app.tile_x17(s.g), app.tile_y17(s.g),
         s.sign
    from unnest(p_rows) d cross join lateral (values (p_sign, d.geom), (-p_sign, d.coarse_geom)) s(sign, g)
   where d.status = 'published' and d.visibility = 'restricted'
$$;

create function app.tile_cells_counted(p_counts app.tile_cell_count[]) returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $$
begin
  if coalesce(cardinality(p_counts), 0) = 0 then
    return;  -- a write that moved nothing counted: no statement at all
  end if;
  with
  -- Zoom 11's cells (the tiles of zoom 17), then each zoom's cells from the next finer zoom's sums. Sums stay
  -- int (a zoom-4 cell holds far fewer than 2^31 assets): a sum of bigint is numeric, slower to add and hash.
  c11 as (
    select left(c.municipality_code, 2) as prefecture, case when c.place = 'x' then c.municipality_code else '' end
             as municipality_code, c.place::text as place, c.category, c.availability, c.cx, c.cy, sum(c.n)::int as n
      from unnest(p_counts) c group by 1, 2, 3, 4, 5, 6, 7 having sum(c.n) <> 0),
  c10 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy,
                 sum(n)::int as n from c11 group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
  c9 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy,
                sum(n)::int as n from c10 group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
  c8 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy,
                sum(n)::int as n from c9 group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
  c7 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy,
                sum(n)::int as n from c8 group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
  c6 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy,
                sum(n)::int as n from c7 group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
  c5 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy,
                sum(n)::int as n from c6 group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
  c4 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy,
                sum(n)::int as n from c5 group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
  delta as (
    select z::smallint as z, cx >> 6 as x, cy >> 6 as y, (((cy & 63) << 6) | (cx & 63))::smallint as cell,
           prefecture, municipality_code, place, category, availability, n
      from (select 11 as z, * from c11
            union all select 10 as z, * from c10
            union all select 9 as z, * from c9
            union all select 8 as z, * from c8
            union all select 7 as z, * from c7
            union all select 6 as z, * from c6
            union all select 5 as z, * from c5
            union all select 4 as z, * from c4) s),
  keys as (select distinct z, x, y, cell, prefecture, municipality_code, place from delta),
  old as (
    delete from asset_tile_cells l
     where l.ctid in (select k.ctid from asset_tile_cells k
                        join keys using (z, x, y, cell, prefecture, municipality_code, place)
                       for update of k skip locked)
    returning l.*),
  merged as (
    select z, x, y, cell, prefecture, municipality_code, place, category, availability, sum(n) as n
      from (select z, x, y, cell, prefecture, municipality_code, place, category, availability, n from delta
            union all
            select o.z, o.x, o.y, o.cell, o.prefecture, o.municipality_code, o.place, u.category, u.availability, u.n
              from old o cross join lateral unnest(o.categories, o.availabilities, o.counts) u(category, availability, n)
           ) s
     group by 1, 2, 3, 4, 5, 6, 7, 8, 9 having sum(n) <> 0),
  keyed as (
    select z, x, y, cell, prefecture, municipality_code, place, array_agg(category) as categories,
           array_agg(availability) as availabilities, array_agg(n::int) as counts,
           array_agg((n::bigint << 7) | app.tile_pair(category, availability)) as slots, sum(n)::int as n
      from merged group by 1, 2, 3, 4, 5, 6, 7)
  -- The most counted category and availability of each key from its few slots. Ties: the first in C order, as
  -- the tile query breaks them.
  insert into asset_tile_cells (z, x, y, cell, prefecture, municipality_code, place, categories, availabilities,
                                counts, n, top_category, top_availability, slots)
  select k.z, k.x, k.y, k.cell, k.prefecture, k.municipality_code, k.place, k.categories, k.availabilities, k.counts,
         k.n,
         (select u.v from unnest(k.categories, k.counts) u(v, n) group by 1 order by sum(u.n) desc, u.v collate "C"
           limit 1),
         (select u.v from unnest(k.availabilities, k.counts) u(v, n) group by 1 order by sum(u.n) desc, u.v collate "C"
           limit 1),
         k.slots
    from keyed k;
end $$;

create or replace function app.tile_cells_inserted(p_new assets[]) returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $$
begin
  perform app.tile_cells_counted(array(select c from app.tile_cell_counts(p_new, 1) c));
end $$;

create or replace function app.tile_cells_deleted(p_old assets[]) returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $$
begin
  perform app.tile_cells_counted(array(select c from app.tile_cell_counts(p_old, -1) c));
end $$;

-- Only rows whose counted columns changed: a recount of current_tenants or a new name moves nothing.
create or replace function app.tile_cells_updated(p_old assets[], p_new assets[]) returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $$
declare
  moved_new assets[];
  moved_old assets[];
begin
  select array_agg(n), array_agg(o) into moved_new, moved_old
    from unnest(p_new) n join unnest(p_old) o on o.asset_id = n.asset_id
   where n.municipality_code is distinct from o.municipality_code or n.status is distinct from o.status
      or n.category is distinct from o.category or n.availability is distinct from o.availability
      or n.visibility is distinct from o.visibility
      or ST_AsEWKB(n.geom) is distinct from ST_AsEWKB(o.geom);
  if moved_new is not null then
    perform app.tile_cells_counted(array(select c from app.tile_cell_counts(moved_new, 1) c
                                         union all
                                         select c from app.tile_cell_counts(moved_old, -1) c));
  end if;
end $$;

-- Every published asset counted again, 50,000 rows at a time in key order (one array of a million whole rows would
-- be ~700 MB), each slice's counts grouped and kept, then added to the emptied summary in one call (a call per
-- slice would merge every slice with the ones before it, what loads no longer do).
create or replace function app.tile_cells_rebuild() returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $$
declare
  slice assets[];
  counted app.tile_cell_count[] := '{}';
  last_code assets.municipality_code%type;
  last_id assets.asset_id%type;
begin
  lock table asset_tile_cells in exclusive mode;
  truncate asset_tile_cells;
  loop
    if last_id is null then
      slice := array(select a from assets a where a.status = 'published'
                      order by a.municipality_code, a.asset_id limit 50000);
    else
      slice := array(select a from assets a where a.status = 'published'
                        and (a.municipality_code, a.asset_id) > (last_code, last_id)
                      order by a.municipality_code, a.asset_id limit 50000);
    end if;
    exit when cardinality(slice) = 0;
    counted := counted || array(
      select (c.municipality_code, c.place, c.category, c.availability, c.cx, c.cy, sum(c.n)::int)::app.tile_cell_count
        from app.tile_cell_counts(slice, 1) c
       group by c.municipality_code, c.place, c.category, c.availability, c.cx, c.cy);
    last_code := slice[cardinality(slice)].municipality_code;
    last_id := slice[cardinality(slice)].asset_id;
  end loop;
  perform app.tile_cells_counted(counted);
end $$;

-- A load's inserts (sql/180), with the tile cells either written now (p_cells null, as before) or counted into
-- the load's own table of app.tile_cell_count rows, for the load to add up once (loaders/merge.py). That table
-- is the caller's: this function runs with the caller's rights, as before.
drop function app.assets_inserts_logged(assets[], text[]);
create function app.assets_inserts_logged(p_published assets[], p_codes text[], p_cells regclass) returns void
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
    if p_cells is null then
      perform app.tile_cells_inserted(p_published);
    else
      execute format('insert into %s select * from app.tile_cell_counts($1, 1)', p_cells) using p_published;
    end if;
  end if;
end $$;

revoke all on function app.tile_cells_counted(app.tile_cell_count[]) from public;
grant execute on function app.tile_cells_counted(app.tile_cell_count[]) to kyodo_api, kyodo_owner;
revoke all on function app.assets_inserts_logged(assets[], text[], regclass) from public;
grant execute on function app.assets_inserts_logged(assets[], text[], regclass) to kyodo_api, kyodo_owner;

-- Counted again by the new writers: the same rows (tests/test_tile_cells.py checks the summary against an
-- oracle after the triggers and after the rebuild).
select app.tile_cells_rebuild();
