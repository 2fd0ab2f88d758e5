-- Why (issue 13): computing the generated coarse location took 15.6 % of the backend CPU of a load's merge
-- statement (perf with call graphs over one 100,000-row batch, 2026-12-01, bench/README.md). Every row paid
-- for ST_PointOnSurface through GEOS (4.7 %) and a PL/pgSQL call of app.mesh3_centre (5.8 %), points included,
-- though a point is its own point on surface.
--
-- The fix: the same arithmetic as an SQL function, which the planner inlines into the column's expression,
-- with GEOS only for outlines. 100,000 rows into a table with no index or check took 0.71 s of backend CPU
-- before and 0.56 s after (median of 4; with no coarse location at all, 0.43 s).
--
-- The values do not change:
-- - a point goes through the arithmetic of app.mesh3_centre, on its own coordinates;
-- - an outline goes through app.mesh3_centre(ST_PointOnSurface(g)), as before.
-- tests/test_coarse_location.py checks both against Python's arithmetic.
--
-- PostgreSQL 15 cannot change the expression of a generated column. So the column is dropped and added again,
-- which rewrites the table once, and its partial index is built again. The catalogue view reads the column,
-- so it is made again from its own definition.

-- A point's third-mesh centre (JIS X 0410: 30" of latitude by 45" of longitude), the arithmetic's one home.
create function app.mesh3_centre_xy(x float8, y float8) returns geometry
language sql immutable parallel safe as $$
  select ST_SetSRID(ST_MakePoint(100 + (floor((x - 100) * 80) + 0.5) / 80, (floor(y * 120) + 0.5) / 120), 4326)
$$;

-- Still PL/pgSQL: its callers pass it ST_PointOnSurface(...), which an SQL function using its argument twice
-- would not inline (sql/070).
create or replace function app.mesh3_centre(pt geometry) returns geometry
language plpgsql immutable parallel safe as $$
begin
  return app.mesh3_centre_xy(ST_X(pt), ST_Y(pt));
end
$$;

-- The coarse location of any asset geometry: a point's own mesh centre, an outline's by its point on surface.
create function app.coarse_location(g geometry) returns geometry
language sql immutable parallel safe as $$
  select case when GeometryType(g) = 'POINT' then app.mesh3_centre_xy(ST_X(g), ST_Y(g))
              else app.mesh3_centre(ST_PointOnSurface(g)) end
$$;

do $$
declare
  catalogue text := pg_get_viewdef('public.asset_catalogue'::regclass);
begin
  drop view public.asset_catalogue;
  alter table public.assets drop column coarse_geom;
  alter table public.assets add column coarse_geom geometry(Point, 4326)
    generated always as (app.coarse_location(geom)) stored;
  execute 'create view public.asset_catalogue as ' || catalogue;
end $$;
grant select on asset_catalogue to kyodo_api;
create index assets_coarse_geom on assets using gist (coarse_geom) where visibility = 'restricted';
