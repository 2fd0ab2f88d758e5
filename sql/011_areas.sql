-- Municipal boundaries (reference, from 国土数値情報 N03) and 5G priority areas (重点整備エリア).

create table municipality_boundaries (
  code lgcode primary key references municipalities(code),
  geom geometry(MultiPolygon, 4326) not null,
  source text,
  loaded_at timestamptz not null default now()
);
create index municipality_boundaries_geom on municipality_boundaries using gist (geom);
grant select on municipality_boundaries to kyodo_api;

create table priority_areas (
  prefecture_code lgcode not null references prefectures(code),
  area_id uuid not null default gen_random_uuid(),
  kind text not null check (kind in ('commercial_district', 'major_station', 'municipal_office',
                                     'disaster_hospital', 'temporary_stay', 'evacuation_park', 'walk_home_road')),
  name text not null check (length(name) between 1 and 500),
  source_id text,
  geom geometry(MultiPolygon, 4326) not null,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (prefecture_code, area_id),
  unique (prefecture_code, source_id),
  constraint priority_area_valid check (ST_IsValid(geom)),
  constraint priority_area_in_japan check (geom @ ST_MakeEnvelope(122.5, 20.0, 154.5, 46.0, 4326))
);
create index priority_areas_geom on priority_areas using gist (geom);
alter table priority_areas enable row level security;
alter table priority_areas force row level security;
-- Carriers plan against every prefecture's priority areas; each prefecture maintains its own.
create policy priority_areas_read on priority_areas for select to kyodo_api using (app.role() <> 'none');
create policy priority_areas_write on priority_areas for all to kyodo_api
  using (app.is_admin() or (app.role() = 'prefecture' and left(prefecture_code, 2) = app.prefecture()))
  with check (app.is_admin() or (app.role() = 'prefecture' and left(prefecture_code, 2) = app.prefecture()));
grant select, insert, update, delete on priority_areas to kyodo_api;
