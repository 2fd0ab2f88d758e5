-- Cheaper writes for bulk loads (bench/README.md has the before and after).

-- Without STRICT and without a CTE these one-expression SQL functions are inlined where they are
-- used (the lgcode domain check, the generated coarse location) instead of being called per row.
create or replace function app.lgcode_ok(code text) returns boolean
language sql immutable parallel safe as $$
  select code ~ '^[0-9]{6}$'
     and substr(code, 1, 2)::int between 1 and 47
     and substr(code, 6, 1)::int = (11 - (
           substr(code, 1, 1)::int * 6 + substr(code, 2, 1)::int * 5 + substr(code, 3, 1)::int * 4
         + substr(code, 4, 1)::int * 3 + substr(code, 5, 1)::int * 2) % 11) % 10
$$;

create or replace function app.mesh3_centre(pt geometry) returns geometry
language sql immutable parallel safe as $$
  select ST_SetSRID(ST_MakePoint(100 + (floor((ST_X(pt) - 100) * 80) + 0.5) / 80,
                                 (floor(ST_Y(pt) * 120) + 0.5) / 120), 4326)
$$;

drop function app.mesh3_code(geometry);

-- Only restricted assets are searched by their coarse location; the other 9 in 10 need no entry.
drop index assets_coarse_geom;
create index assets_coarse_geom on assets using gist (coarse_geom) where visibility = 'restricted';
-- Category and availability filters ride on a spatial or municipality filter; this index was
-- never chosen and cost every insert.
drop index assets_category;
