-- Reference data shared by every tenant (replicated reference tables under Citus).
-- Loaded and refreshed by `registry migrate` from the japancode package.

create table prefectures (
  code lgcode primary key,
  number char(2) not null unique,
  name text not null,
  kana text not null,
  name_en text not null,
  iso_code text not null,
  constraint prefecture_code_shape check (substr(code, 3, 3) = '000' and substr(code, 1, 2) = number)
);

create table municipalities (
  code lgcode primary key,
  prefecture_code lgcode not null references prefectures(code),
  name text not null,
  kana text not null,
  -- 'municipality': one of the 1,741 (cities, towns, villages, Tokyo's special wards);
  -- 'ward': an administrative ward of a designated city, with parent_code the city.
  kind text not null check (kind in ('municipality', 'ward')),
  parent_code lgcode references municipalities(code),
  town_hall geometry(Point, 4326),
  constraint municipality_in_prefecture check (substr(code, 1, 2) = substr(prefecture_code, 1, 2)),
  constraint ward_has_parent check ((kind = 'ward') = (parent_code is not null))
);
create index municipalities_prefecture on municipalities (prefecture_code, code);

grant select on prefectures, municipalities to kyodo_api;
