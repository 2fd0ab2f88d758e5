-- Why (issue 17): on Citus the summary logs are distributed by municipality code beside `assets`
-- (registry/db/distribution.py), and tables colocate only when their distribution columns have one type:
-- `char(6)` and the `lgcode` domain over it are two (the spike could not colocate text with lgcode either).
-- Both logs hold one row per municipality and key (a few thousand on the demo), so the domain's check on
-- the rewrite costs nothing a user waits on. tests/test_citus_ready.py holds every distributed table to it.
-- The coverage log's read policy names the column, so it is made again around the change, word for word.
alter table asset_count_log alter column municipality_code type lgcode;
drop policy area_coverage_log_read on area_coverage_log;
alter table area_coverage_log alter column municipality_code type lgcode;
create policy area_coverage_log_read on area_coverage_log for select to kyodo_api
  using (app.role() <> 'none' and (place = 'p' or (place = 'e') = app.can_see_lg(municipality_code::text)));
