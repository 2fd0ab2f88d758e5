-- Why (issue 13): building an AssetFeature Struct per row in Python was 18 % of a search's CPU. The
-- GeoJSON search now has PostgreSQL write each feature (registry/assets/queries.py, SEARCH_JSON) and
-- passes the text through. Timestamps must read as the Structs wrote them (msgspec): UTC with a `Z`,
-- microseconds only when there are any (2026-01-02T03:04:05Z, 2026-01-02T03:04:05.120000Z), where
-- to_json(timestamptz) would write +00:00 and trim zeros.
create function app.json_time(t timestamptz) returns text
language sql stable parallel safe as $$
  select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
         || case when extract(microseconds from t)::bigint % 1000000 = 0 then ''
                 else to_char(t at time zone 'UTC', '.US') end
         || 'Z'
$$;
grant execute on function app.json_time(timestamptz) to kyodo_api;
