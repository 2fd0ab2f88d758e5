-- Why (issue 13): a zoom-9 tile over Tokyo filtered by category and availability took 92.5 ms p50 for a carrier,
-- 101.0 ms for Tokyo's prefecture key and 106.6 ms for an admin over HTTP at 8 concurrent (target 100 ms). Alone it
-- cost ~22 ms, of which ~11 ms opened each summary row's three parallel arrays in a lateral aggregate (a
-- three-array unnest costs ~3.5 us a row here against ~0.9 us for one number array; 3,804 rows for an admin) and ~6
-- ms found each cell's most common values by sorting its slots.
--
-- From here each asset_tile_cells row also holds its slots as one bigint array, `slots`, each slot (count << 7) |
-- (category index << 3) | availability index (bigint, so that a zoom-4 cell may count more than 2^24 assets), the
-- indexes into app.tile_categories() and app.tile_availabilities() (both in C order, so a lower index is the first
-- by name, the tie-break the tiles use). A filtered tile (TILE_CELLS_FILTERED in registry/assets/tile_queries.py)
-- unnests that one array, keeps the slots whose bits the filter's masks hold, and finds each cell's total and most
-- common values with two hash aggregates (max of count * 16 + 15 - index), no per-row aggregate and no per-cell
-- sorts: that tile's statement alone 19.7-22.0 -> 13.0-14.0 ms of backend CPU for the four readers, same bytes;
-- over HTTP at 8 concurrent 87-99 -> 64-71 ms p50 (load 3-4.5; bench/SUMMARIES.md, "Filtered tiles (sql/192)").
--
-- The writers compute the slots in the same aggregate as the other three arrays: the four functions that write the
-- summary (sql/145's bodies, made set functions by sql/180) get one more array_agg and column, by the same kind of
-- text edit sql/180 made, checked to apply exactly once each: the rebuild over the demo 3.23 -> 3.25 s of backend
-- CPU (best of 3, interleaved). A generated column would have needed no edit but costs a function call per written
-- row, ~5 us (adding it to a copy of the demo's 182,270 rows took 1.11 s against 0.21 s for `n + 1`).

-- 11 categories and 5 availabilities (sql/010's checks; tests/test_tile_cells.py checks these lists against
-- registry/assets/rules.py): 4 and 3 bits.
create function app.tile_categories() returns text[] language sql immutable parallel safe as $$
  select array['bus_stop', 'land', 'other', 'park', 'rooftop', 'signage', 'streetlight', 'structure',
               'subway_entrance', 'traffic_signal', 'utility_pole']
$$;
create function app.tile_availabilities() returns text[] language sql immutable parallel safe as $$
  select array['occupied', 'offered', 'on_request', 'partly_available', 'reserved']
$$;
-- One expression, so that the planner inlines it into the writers' aggregate. Null for a value not listed:
-- the table's check then refuses the write rather than count it nowhere.
create function app.tile_pair(category text, availability text) returns int language sql immutable parallel safe as $$
  select ((array_position(app.tile_categories(), category) - 1) << 3)
         | (array_position(app.tile_availabilities(), availability) - 1)
$$;

alter table asset_tile_cells add column slots bigint[];

do $do$
declare
  f record;
  src text;
  edits constant text[][] := array[
    array['array_agg(n::int) as counts, sum(n)::int as n',
          'array_agg(n::int) as counts, array_agg((n::bigint << 7) | app.tile_pair(category, availability)) as slots, '
          || 'sum(n)::int as n'],
    array['n, top_category, top_availability)', 'n, top_category, top_availability, slots)'],
    array[E'limit 1)\n  from keyed k', E'limit 1),\n       k.slots\n  from keyed k']];
  i int;
begin
  for f in select p.oid::regprocedure as fn, pg_get_functiondef(p.oid) as def from pg_proc p
            where p.pronamespace = 'app'::regnamespace
              and p.proname in ('tile_cells_inserted', 'tile_cells_updated', 'tile_cells_deleted', 'tile_cells_rebuild')
  loop
    src := f.def;
    for i in 1 .. array_length(edits, 1) loop
      if (length(src) - length(replace(src, edits[i][1], ''))) / length(edits[i][1]) <> 1 then
        raise exception '% is not the tile-cell writer this migration expects (edit %)', f.fn, i;
      end if;
      src := replace(src, edits[i][1], edits[i][2]);
    end loop;
    -- pg_get_functiondef's CREATE OR REPLACE: the security, settings and grants of each function stay.
    execute src;
  end loop;
  if (select count(*) from pg_proc where pronamespace = 'app'::regnamespace and prosrc like '%as slots%') <> 4 then
    raise exception 'expected four tile-cell writers';
  end if;
end
$do$;

-- Counted again with the slots (about 3 s of CPU for the demo's 91,683 assets), then required.
select app.tile_cells_rebuild();
alter table asset_tile_cells alter column slots set not null,
  add constraint asset_tile_cells_slots_known
    check (cardinality(slots) = cardinality(counts) and array_position(slots, null) is null);
