-- Why: every forced-row-security table must be readable by the API role under its policies, and
-- show nothing without a principal (tests/test_foundation_db.py reads each one as kyodo_api).
-- sql/065 left procurement_pool_versions to the definer functions alone, so a plain select was a
-- permission error instead of zero rows. A caller may now read the version of a round it may see
-- (the rounds' own policy decides, through the subquery); the catalogue's row stays hidden.
grant select on procurement_pool_versions to kyodo_api;
create policy procurement_pool_versions_read on procurement_pool_versions for select to kyodo_api
  using (exists (select 1 from procurement_rounds r
                  where r.organiser_code = procurement_pool_versions.organiser_code
                    and r.round_id = procurement_pool_versions.round_id));
