-- Why (issue 13): a keyed read made two round trips, the key statement and its query; the first cost the
-- database 0.2-0.4 ms a request (an upsert of the rate counter, so a transaction id, and the key's lookup) and
-- the worker ~0.2 ms. A worker now remembers the keys it checked for a second and lets a request whose pooled
-- connection already holds that key's principal skip the statement (registry/auth/key_cache.py): 650 -> 816
-- req/s on the 100,000-point bbox search in one run. It needs two things from the database:
-- 1. The requests it let through are counted by the key's next statement on that worker: app.count_request
--    adds p_hits (default 1, so every other caller is unchanged).
-- 2. A key revoked, changed or deleted leaves every worker's memory when that commits: api_keys announces its
--    id on the channel kyodo_keys, which each worker listens on (it remembers nothing while not listening).
drop function app.count_request(text, text, integer);
create function app.count_request(p_failures text, p_key text, p_window integer, p_hits integer default 1)
returns table (failures integer, requests integer, retry_after integer)
language plpgsql volatile set search_path = public, pg_temp as $$
declare
  w timestamptz := to_timestamp(floor(extract(epoch from now()) / p_window) * p_window);
begin
  if p_hits < 1 then
    raise exception 'count_request: p_hits must be at least 1, not %', p_hits;
  end if;
  if p_key is not null then
    insert into app.rate_counters as c (bucket, window_start, shard, hits)
    values (p_key, w, pg_backend_pid(), p_hits)
    on conflict (bucket, window_start, shard) do update set hits = c.hits + excluded.hits;
  end if;
  -- Windows older than two are deleted by about one statement in 1,000 (they are never read again).
  if random() < 0.001 then
    delete from app.rate_counters c where c.window_start < now() - make_interval(secs => p_window * 2);
  end if;
  return query
    select coalesce((select sum(c.hits) from app.rate_counters c
                      where c.bucket = p_failures and c.window_start = w), 0)::integer,
           coalesce((select sum(c.hits) from app.rate_counters c
                      where c.bucket = p_key and c.window_start = w), 0)::integer,
           ceil(extract(epoch from w + make_interval(secs => p_window) - now()))::integer;
end $$;
revoke all on function app.count_request(text, text, integer, integer) from public;
grant execute on function app.count_request(text, text, integer, integer) to kyodo_api;

create function app.announce_key_change() returns trigger
language plpgsql as $$
begin
  perform pg_notify('kyodo_keys', old.key_id::text);
  return null;
end $$;
create trigger api_keys_announce_change after update or delete on api_keys
  for each row execute function app.announce_key_change();
