-- Why (issue 13): the check asset_geometry_valid called ST_IsValid on every row. For a point, that meant a
-- GEOS geometry built only to learn whether its x and y are finite: 2.4 % of the backend CPU of a load's merge
-- statement (perf with call graphs over one 100,000-row batch, 2026-12-01, bench/README.md).
--
-- For a point, finite x and y is all ST_IsValid checks:
-- - an empty point is valid;
-- - a point whose x or y is NaN or infinite is not;
-- - Z and M are not looked at.
-- So the check now asks that directly for points and keeps ST_IsValid for every other kind. A NaN is larger than
-- every number in PostgreSQL, Infinity included, so `abs(v) < 'Infinity'` is false for NaN and both infinities.
-- The verdict is the same as ST_IsValid's for every geometry; tests/test_point_validity.py compares the two on
-- the check as stored. The name stays, and with it the message registry/problems.py gives.
alter table assets
  drop constraint asset_geometry_valid,
  add constraint asset_geometry_valid check (
    case when GeometryType(geom) = 'POINT'
         then coalesce(abs(ST_X(geom)) < 'Infinity'::float8 and abs(ST_Y(geom)) < 'Infinity'::float8, true)
         else ST_IsValid(geom) end);
