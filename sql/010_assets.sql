-- Public assets opened to carriers for 5G base stations, owned by a municipality.

-- JIS X 0410 third-level mesh (30" x 45", about 1 km) centre of a point: the coarse location
-- that carriers see for restricted assets.
create function app.mesh3_centre(pt geometry) returns geometry
language sql immutable strict parallel safe as $$
  with m as (
    select floor(ST_Y(pt) * 60 / 0.5) as lat_half_minutes,   -- 30" cells
           floor((ST_X(pt) - 100) * 60 / 0.75) as lon_cells)   -- 45" cells
  select ST_SetSRID(ST_MakePoint(100 + (lon_cells + 0.5) * 0.75 / 60, (lat_half_minutes + 0.5) * 0.5 / 60), 4326)
    from m
$$;

-- The 8-digit third-level mesh code (e.g. 53394611) of a point.
create function app.mesh3_code(pt geometry) returns text
language sql immutable strict parallel safe as $$
  with v as (select ST_Y(pt) * 1.5 as y, ST_X(pt) - 100 as x),
       p as (select floor(y) as p, floor(x) as u, (y - floor(y)) * 8 as yq, (x - floor(x)) * 8 as xq from v),
       q as (select p, u, floor(yq) as q, floor(xq) as w1, (yq - floor(yq)) * 10 as yr, (xq - floor(xq)) * 10 as xr
               from p)
  select lpad(p::int::text, 2, '0') || lpad(u::int::text, 2, '0') || q::int::text || w1::int::text
         || floor(yr)::int::text || floor(xr)::int::text
    from q
$$;

create table assets (
  municipality_code lgcode not null references municipalities(code),
  asset_id uuid not null default gen_random_uuid(),
  source_id text not null check (length(source_id) between 1 and 200),
  category text not null check (category in ('rooftop', 'land', 'structure', 'streetlight', 'traffic_signal',
                                             'utility_pole', 'bus_stop', 'subway_entrance', 'park', 'signage',
                                             'other')),
  name text not null check (length(name) between 1 and 500),
  address text check (length(address) <= 500),
  geom geometry(Geometry, 4326) not null,
  position_accuracy_m numeric(8, 2) check (position_accuracy_m >= 0),
  height_m numeric(7, 2) check (height_m between 0 and 1000),
  mountable_height_m numeric(7, 2) check (mountable_height_m between 0 and 1000),
  spare_load_kg numeric(10, 1) check (spare_load_kg >= 0),
  power text not null default 'unknown' check (power in ('yes', 'no', 'unknown')),
  fibre_distance_m numeric(10, 1) check (fibre_distance_m >= 0),
  area_m2 numeric(12, 2) check (area_m2 >= 0),
  availability text not null default 'offered'
    check (availability in ('offered', 'on_request', 'partly_available', 'occupied', 'reserved')),
  current_tenants integer not null default 0 check (current_tenants >= 0),
  max_tenants integer not null default 1 check (max_tenants between 0 and 100),
  constraints text[] not null default '{}',
  fee_rule text check (length(fee_rule) <= 1000),
  permit_type text check (permit_type in ('use_permit', 'lease', 'other')),
  contact text check (length(contact) <= 500),
  source text check (length(source) <= 500),
  last_verified date,
  visibility text not null default 'carriers' check (visibility in ('public', 'carriers', 'restricted')),
  status text not null default 'published' check (status in ('draft', 'published', 'withdrawn')),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  coarse_geom geometry(Point, 4326) generated always as (app.mesh3_centre(ST_PointOnSurface(geom))) stored,
  primary key (municipality_code, asset_id),
  unique (municipality_code, source_id),
  constraint asset_tenants_within_capacity check (current_tenants <= max_tenants),
  constraint asset_mountable_below_height check (mountable_height_m is null or height_m is null
                                                 or mountable_height_m <= height_m),
  constraint asset_geometry_valid check (ST_IsValid(geom)),
  constraint asset_geometry_kind check (
    GeometryType(geom) = 'POINT'
    or (GeometryType(geom) in ('POLYGON', 'MULTIPOLYGON') and category in ('rooftop', 'land', 'park'))),
  -- Japan's extent, islands included (Yonaguni 122.9E, Minamitori 153.9E, Okinotori 20.4N, Etorofu 45.5N).
  constraint asset_geometry_in_japan check (geom @ ST_MakeEnvelope(122.5, 20.0, 154.5, 46.0, 4326))
);
create index assets_geom on assets using gist (geom);
create index assets_coarse_geom on assets using gist (coarse_geom);
create index assets_municipality_updated on assets (municipality_code, updated_at);
create index assets_category on assets (category, availability);

alter table assets enable row level security;
alter table assets force row level security;
-- Owners, their prefecture and admins read the table itself; carriers only ever read the catalogue view.
create policy assets_read on assets for select to kyodo_api using (app.can_see_lg(municipality_code));
create policy assets_insert on assets for insert to kyodo_api with check (app.can_write_lg(municipality_code));
create policy assets_update on assets for update to kyodo_api
  using (app.can_write_lg(municipality_code)) with check (app.can_write_lg(municipality_code));
-- The catalogue view runs with its owner's rights and applies its own visibility rules.
create policy assets_catalogue on assets for select to kyodo_owner using (true);
grant select, insert, update on assets to kyodo_api;

-- What anyone with a key may see: published assets only, restricted ones at their mesh centre and
-- without an address unless the reader may see the owner's own data. The spatial filter of a
-- search then applies to the location shown, so a restricted asset cannot be pinned down by
-- narrowing a bounding box. Two branches keep each geometry's index usable.
create view asset_catalogue with (security_barrier = true) as
  select a.municipality_code, a.asset_id, a.source_id, a.category, a.name, a.address, a.geom,
         false as coarse, a.position_accuracy_m, a.height_m, a.mountable_height_m, a.spare_load_kg, a.power,
         a.fibre_distance_m, a.area_m2, a.availability, a.current_tenants, a.max_tenants, a.constraints,
         a.fee_rule, a.permit_type, a.contact, a.source, a.last_verified, a.visibility, a.version,
         a.created_at, a.updated_at
    from assets a
   where a.status = 'published' and app.role() <> 'none'
     and (a.visibility <> 'restricted' or app.can_see_lg(a.municipality_code))
  union all
  select a.municipality_code, a.asset_id, a.source_id, a.category, a.name, null, a.coarse_geom,
         true, 1000, a.height_m, a.mountable_height_m, a.spare_load_kg, a.power,
         a.fibre_distance_m, a.area_m2, a.availability, a.current_tenants, a.max_tenants, a.constraints,
         a.fee_rule, a.permit_type, a.contact, a.source, a.last_verified, a.visibility, a.version,
         a.created_at, a.updated_at
    from assets a
   where a.status = 'published' and app.role() <> 'none'
     and a.visibility = 'restricted' and not app.can_see_lg(a.municipality_code);
grant select on asset_catalogue to kyodo_api;

-- Append-only audit log: every change to an asset, who made it, before and after.
create table asset_audit (
  municipality_code lgcode not null,
  audit_id bigint generated always as identity,
  asset_id uuid not null,
  op text not null check (op in ('create', 'update', 'withdraw')),
  version integer not null,
  actor_role text not null,
  actor_tenant text,
  actor_key text,
  before jsonb,
  after jsonb not null,
  at timestamptz not null default now(),
  primary key (municipality_code, audit_id)
);
alter table asset_audit enable row level security;
alter table asset_audit force row level security;
create policy asset_audit_read on asset_audit for select to kyodo_api using (app.can_see_lg(municipality_code));
create policy asset_audit_write on asset_audit for insert to kyodo_api with check (app.can_write_lg(municipality_code));
grant select, insert on asset_audit to kyodo_api;

create function app.forbid_change() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only', tg_table_name using errcode = 'insufficient_privilege';
end $$;
create trigger asset_audit_append_only before update or delete or truncate on asset_audit
  for each statement execute function app.forbid_change();

-- Change feed for carriers. Rows carry the writing transaction's id; readers take only rows of
-- transactions older than every one still running, so a change that commits late is never
-- skipped (see registry/assets/changes.py).
create table asset_changes (
  municipality_code lgcode not null,
  change_id bigint generated always as identity,
  xid xid8 not null default pg_current_xact_id(),
  asset_id uuid not null,
  op text not null check (op in ('created', 'updated', 'withdrawn')),
  version integer not null,
  at timestamptz not null default now(),
  primary key (municipality_code, change_id)
);
create index asset_changes_order on asset_changes (xid, change_id);
alter table asset_changes enable row level security;
alter table asset_changes force row level security;
create policy asset_changes_read on asset_changes for select to kyodo_api using (app.role() <> 'none');
create policy asset_changes_write on asset_changes for insert to kyodo_api
  with check (app.can_write_lg(municipality_code));
grant select, insert on asset_changes to kyodo_api;
create trigger asset_changes_append_only before update or delete or truncate on asset_changes
  for each statement execute function app.forbid_change();

-- Statement-level triggers with transition tables: a bulk merge of a million rows writes its
-- audit and feed rows in two set-based inserts instead of a million trigger calls.
create function app.assets_after_insert() returns trigger language plpgsql as $$
begin
  insert into asset_audit (municipality_code, asset_id, op, version, actor_role, actor_tenant, actor_key, after)
  select n.municipality_code, n.asset_id, 'create', n.version, app.role(), app.tenant(),
         nullif(current_setting('app.key_id', true), ''), to_jsonb(n) - 'coarse_geom'
    from new_rows n;
  insert into asset_changes (municipality_code, asset_id, op, version)
  select n.municipality_code, n.asset_id, 'created', n.version from new_rows n where n.status = 'published';
  return null;
end $$;

create function app.assets_after_update() returns trigger language plpgsql as $$
begin
  insert into asset_audit (municipality_code, asset_id, op, version, actor_role, actor_tenant, actor_key,
                           before, after)
  select n.municipality_code, n.asset_id,
         case when n.status = 'withdrawn' and o.status <> 'withdrawn' then 'withdraw' else 'update' end,
         n.version, app.role(), app.tenant(), nullif(current_setting('app.key_id', true), ''),
         to_jsonb(o) - 'coarse_geom', to_jsonb(n) - 'coarse_geom'
    from new_rows n join old_rows o using (municipality_code, asset_id)
   where n.version <> o.version;
  -- Carriers only hear of assets that are or were published.
  insert into asset_changes (municipality_code, asset_id, op, version)
  select n.municipality_code, n.asset_id,
         case when n.status = 'published' and o.status <> 'published' then 'created'
              when n.status = 'published' then 'updated'
              else 'withdrawn' end,
         n.version
    from new_rows n join old_rows o using (municipality_code, asset_id)
   where n.version <> o.version and (n.status = 'published' or o.status = 'published');
  return null;
end $$;

create trigger assets_audit_insert after insert on assets
  referencing new table as new_rows for each statement execute function app.assets_after_insert();
create trigger assets_audit_update after update on assets
  referencing old table as old_rows new table as new_rows for each statement execute function app.assets_after_update();
