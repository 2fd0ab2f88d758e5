-- Why (issue 13): below zoom 12 the asset tiles gathered the catalogue into cells on every request (demo
-- data, 8 concurrent, p50: zoom 4 13.3 s, zoom 6 6.7 s, zoom 8 1.5 s, zoom 11 152 ms; target 100 ms).
-- From here one summary holds those cells and a tile only adds up the rows of its own cells: 11 to 77 ms
-- p50 for zooms 4-11 at load average 11 (bench/SUMMARIES.md, "Tiles (sql/145)", has the before and after
-- and what the triggers add to a 100,000-row insert, about 3.5 s).
--
-- asset_tile_cells: published assets per (zoom 4-11, tile, cell of 64 x 64 per tile, prefecture, place),
-- with the counts of each category x availability pair present in the cell as three parallel arrays
-- (so a category or availability filter sums array slots), their total and the most common category and
-- availability (so a cell of one row needs no arrays opened). A first attempt (bench/SUMMARIES.md, "Tiles
-- (sql/145)") kept one row per pair and municipality: 517,441 rows and zooms 5-7 no faster. Masking as in
-- asset_catalogue (restricted assets at their ~1 km mesh centre unless the reader may see the owner's data):
--   place 'o' what every reader sees: ordinary assets at their position, restricted ones at their mesh
--         centre; municipality_code '' (one row per cell and prefecture, whoever reads);
--   place 'x' the correction for readers who may see the municipality's data: +1 at a restricted asset's
--         position, -1 at its mesh centre (nothing where both fall in one cell); read only by them.
-- So a carrier reads one row per cell, and a municipality also its own corrections.
-- Zooms 0-3 are read from the zoom-4 rows (4, 16, 64 or 256 zoom-4 tiles, a few thousand rows over Japan);
-- zoom 12 and above show single assets from the catalogue.
--
-- A cell is the Web Mercator tile of zoom z + 6 (64 = 2^6 cells a side), found by the slippy-map arithmetic
-- on longitude and latitude of ST_PointOnSurface (the same point the live cells used) at zoom 17 once and
-- shifted for each zoom. Kept current by statement-level triggers like sql/090: a log without a unique key;
-- each statement deletes the committed rows of its keys that nobody has locked (SKIP LOCKED) and writes one
-- row per key with their sum and its delta, so the parallel loader's two-phase commits never wait on each
-- other. Readers add up a key's rows.

create table asset_tile_cells (
  z smallint not null check (z between 4 and 11),
  x int not null,
  y int not null,
  cell smallint not null check (cell between 0 and 4095),   -- row * 64 + column inside the tile
  prefecture char(2) not null,
  municipality_code text not null,                          -- '' for place 'o'
  place char(1) not null check (place in ('o', 'x')),
  categories text[] not null,
  availabilities text[] not null,
  counts int[] not null,
  n int not null,                                           -- sum of counts
  top_category text not null,                               -- most counted; ties: the first by name (C order)
  top_availability text not null
);
-- A tile's rows for readers (z, x, y), a key's rows for writers (all four: with (z, x, y) alone a single-row
-- insert filtered ~1,700 rows of a Tokyo tile per zoom, 4-5 ms per statement).
create index asset_tile_cells_tile on asset_tile_cells (z, x, y, cell);

alter table asset_tile_cells enable row level security;
alter table asset_tile_cells force row level security;
create policy asset_tile_cells_read on asset_tile_cells for select to kyodo_api
  using ((select app.role()) <> 'none' and (place = 'o' or app.can_see_lg(municipality_code)));
create policy asset_tile_cells_owner on asset_tile_cells for all to kyodo_owner using (true) with check (true);
grant select on asset_tile_cells to kyodo_api;

-- The zoom-17 cell (column, row) of a WGS 84 geometry's point on surface (an area's, as the catalogue's
-- tiles place it), 2^17 = 131,072 cells a side, clamped to the pyramid. A point is its own point on
-- surface; skipping GEOS for it took the function from 150 to 40 ms for 30,000 points.
create function app.tile_cell17(g geometry) returns int[]
language sql immutable parallel safe as $$
  -- one expression, no FROM, so that the planner inlines it (a subquery made it a call per row, twice as slow)
  select array[least(greatest(floor((ST_X(case when GeometryType(g) = 'POINT' then g else ST_PointOnSurface(g) end)
                                     + 180) / 360 * 131072), 0), 131071)::int,
               least(greatest(floor((1 - asinh(tan(radians(
                 ST_Y(case when GeometryType(g) = 'POINT' then g else ST_PointOnSurface(g) end)))) / pi()) / 2 * 131072),
                 0), 131071)::int]
$$;

-- The body every asset trigger shares; %1$s is the changed rows as (municipality_code, category,
-- availability, visibility, geom, coarse_geom, sign) of published assets only.
do $do$
declare
  body constant text := $body$
with d as (%1$s),
pos as (
  select left(d.municipality_code, 2) as prefecture, '' as municipality_code, 'o' as place, d.category,
         d.availability, d.sign,
         app.tile_cell17(case when d.visibility = 'restricted' then d.coarse_geom else d.geom end) as c
    from d
  union all
  select left(d.municipality_code, 2), d.municipality_code::text, 'x', d.category, d.availability, s.sign, s.c
    from d cross join lateral (values (d.sign, app.tile_cell17(d.geom)),
                                      (-d.sign, app.tile_cell17(d.coarse_geom))) s(sign, c)
   where d.visibility = 'restricted'),
-- Zoom 11's cells (the tiles of zoom 17), then each zoom's cells from the next finer zoom's sums: each
-- level adds up fewer rows than the one before (a 100,000-row insert expanded to 878,624 rows when every
-- zoom was counted from the assets).
c11 as (
  select prefecture, municipality_code, place, category, availability, c[1] as cx, c[2] as cy, sum(sign) as n
    from pos group by 1, 2, 3, 4, 5, 6, 7 having sum(sign) <> 0),
c10 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy, sum(n) as n from c11
        group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
c9 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy, sum(n) as n from c10
        group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
c8 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy, sum(n) as n from c9
        group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
c7 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy, sum(n) as n from c8
        group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
c6 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy, sum(n) as n from c7
        group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
c5 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy, sum(n) as n from c6
        group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
c4 as (select prefecture, municipality_code, place, category, availability, cx >> 1 as cx, cy >> 1 as cy, sum(n) as n from c5
        group by 1, 2, 3, 4, 5, 6, 7 having sum(n) <> 0),
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
   where l.ctid in (select k.ctid from asset_tile_cells k join keys using (z, x, y, cell, prefecture, municipality_code, place)
                     for update of k skip locked)
  returning l.*),
merged as (
  select z, x, y, cell, prefecture, municipality_code, place, category, availability, sum(n) as n
    from (select z, x, y, cell, prefecture, municipality_code, place, category, availability, n from delta
          union all
          select o.z, o.x, o.y, o.cell, o.prefecture, o.municipality_code, o.place, u.category, u.availability, u.n
            from old o cross join lateral unnest(o.categories, o.availabilities, o.counts) u(category, availability, n)) s
   group by 1, 2, 3, 4, 5, 6, 7, 8, 9 having sum(n) <> 0),
keyed as (
  select z, x, y, cell, prefecture, municipality_code, place, array_agg(category) as categories,
         array_agg(availability) as availabilities, array_agg(n::int) as counts, sum(n)::int as n
    from merged group by 1, 2, 3, 4, 5, 6, 7)
-- The most counted category and availability of each key from its few slots (window sums and ordered
-- aggregates over all keys at once took 1.3 of 3.1 s for 30,000 rows). Ties: the first in C order, as
-- the tile query breaks them.
insert into asset_tile_cells (z, x, y, cell, prefecture, municipality_code, place, categories, availabilities, counts,
                              n, top_category, top_availability)
select k.z, k.x, k.y, k.cell, k.prefecture, k.municipality_code, k.place, k.categories, k.availabilities, k.counts,
       k.n,
       (select u.v from unnest(k.categories, k.counts) u(v, n) group by 1 order by sum(u.n) desc, u.v collate "C" limit 1),
       (select u.v from unnest(k.availabilities, k.counts) u(v, n) group by 1 order by sum(u.n) desc, u.v collate "C"
         limit 1)
  from keyed k
$body$;
  cols constant text := 'municipality_code, category, availability, visibility, geom, coarse_geom';
begin
  execute format($f$
    create function app.tile_cells_after_insert() returns trigger
    language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $fn$
    begin
      %s;
      return null;
    end $fn$ $f$,
    format(body, format('select %s, 1 as sign from new_rows where status = ''published''', cols)));

  execute format($f$
    create function app.tile_cells_after_delete() returns trigger
    language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $fn$
    begin
      %s;
      return null;
    end $fn$ $f$,
    format(body, format('select %s, -1 as sign from old_rows where status = ''published''', cols)));

  -- Counted again from scratch: once at the end of this file, and by app.summaries_rebuild() (the way back
  -- after writing assets with the triggers disabled), which now rebuilds the tile cells too. The same body
  -- over every published asset, on an empty summary.
  execute format($f$
    create function app.tile_cells_rebuild() returns void
    language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $fn$
    begin
      lock table asset_tile_cells in exclusive mode;
      truncate asset_tile_cells;
      %s;
    end $fn$ $f$,
    format(body, format('select %s, 1 as sign from assets where status = ''published''', cols)));

  -- Only rows whose counted columns changed: a recount of current_tenants or a new name moves nothing.
  execute format($f$
    create function app.tile_cells_after_update() returns trigger
    language plpgsql security definer set search_path = public, pg_temp set jit = off set work_mem = '64MB' as $fn$
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
revoke all on function app.tile_cells_after_insert() from public;
revoke all on function app.tile_cells_after_delete() from public;
revoke all on function app.tile_cells_after_update() from public;
revoke all on function app.tile_cells_rebuild() from public;

create function app.tile_cells_truncate() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  truncate asset_tile_cells;
  return null;
end $$;
revoke all on function app.tile_cells_truncate() from public;

create trigger assets_tile_cells_insert after insert on assets
  referencing new table as new_rows for each statement execute function app.tile_cells_after_insert();
create trigger assets_tile_cells_update after update on assets
  referencing old table as old_rows new table as new_rows for each statement
  execute function app.tile_cells_after_update();
create trigger assets_tile_cells_delete after delete on assets
  referencing old table as old_rows for each statement execute function app.tile_cells_after_delete();
create trigger assets_tile_cells_truncate after truncate on assets
  for each statement execute function app.tile_cells_truncate();

-- A cell's arrays over its rows (array_cat is not strict: the first row's arrays start the state).
create aggregate app.tile_concat(anycompatiblearray) (sfunc = array_cat, stype = anycompatiblearray);

create or replace function app.summaries_rebuild() returns void
language plpgsql security definer set search_path = public, pg_temp set jit = off as $$
begin
  lock table asset_count_log, area_coverage_log in exclusive mode;
  truncate asset_count_log, area_coverage_log;
  insert into asset_count_log (municipality_code, category, availability, n)
  select municipality_code, category, availability, count(*) from assets where status = 'published' group by 1, 2, 3;
  perform app.area_coverage_counted(coalesce(array_agg(prefecture_code), '{}'), coalesce(array_agg(area_id), '{}'))
     from priority_areas;
  perform app.tile_cells_rebuild();
end $$;

-- What is there already, counted once.
select app.tile_cells_rebuild();
