-- Why (issue 13): a request made nine round trips to PostgreSQL before this (a rate-limit check and
-- a key lookup on connections of their own, each followed by asyncpg's reset query, then BEGIN,
-- setting the principal, the query, COMMIT and a third reset), and they cost about a third of a
-- worker's CPU and 27 % of the database's throughput on the bbox search (576 -> 423 tx/s). From here
-- the request takes one connection and one transaction, and a single statement inside it counts the
-- request, checks the client's failed authentications, turns the key into a principal and sets it:
-- BEGIN, that statement, the query, COMMIT (registry/auth/middleware.py, registry/db/pool.py).
--
-- The per-key counter is now bumped inside the request's transaction, so its row lock lasts until the
-- request commits. One row per (bucket, window) would make every request of a key wait for the one
-- before it (a benchmark client sends 16 at once on one key); so each backend bumps a row of its own
-- (`shard` = its pid) and the budget is the sum over the window's rows: at most one row per pooled
-- connection (10 per worker by default), read through the primary key.
alter table app.rate_counters add column shard integer not null default 0;
alter table app.rate_counters drop constraint rate_counters_pkey;
alter table app.rate_counters add primary key (bucket, window_start, shard);

-- The one function that turns a key (its tenant and hash) into a principal inside the request's
-- transaction: the principal is set with set_config(..., true), so it ends with the transaction, and
-- the same row is returned for the application's own checks. A revoked or unknown key returns no row
-- and sets the principal 'none'. Runs as the owner, like app.authenticate (sql/003), because no
-- principal exists yet to pass api_keys' row security. set_config(..., true) inside a function with a
-- SET clause still reaches the caller's transaction for every variable but the one the clause names.
create function app.enter_with_key(p_tenant text, p_hash bytea)
returns table (key_id text, role text, tenant_code text, prefecture_code text, name text)
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  k record;
begin
  select a.key_id::text as key_id, a.role, a.tenant_code, a.prefecture_code::text as prefecture_code, a.name
    into k
    from api_keys a
   where a.tenant_code = p_tenant and a.key_hash = p_hash and a.revoked_at is null;
  perform set_config('app.role', coalesce(k.role, 'none'), true),
          set_config('app.tenant_code', coalesce(k.tenant_code, ''), true),
          set_config('app.prefecture_code', coalesce(k.prefecture_code, ''), true),
          set_config('app.key_id', coalesce(k.key_id, ''), true);
  if k.key_id is not null then
    return query select k.key_id, k.role, k.tenant_code, k.prefecture_code, k.name;
  end if;
end $$;
revoke all on function app.enter_with_key(text, bytea) from public;
grant execute on function app.enter_with_key(text, bytea) to kyodo_api;

-- Counts one request of a key (its bucket, null for none) in this backend's row of the current window,
-- and reads the client address's failed authentications: the numbers registry/ratelimit.py decides on.
create function app.count_request(p_failures text, p_key text, p_window integer)
returns table (failures integer, requests integer, retry_after integer)
language plpgsql volatile set search_path = public, pg_temp as $$
declare
  w timestamptz := to_timestamp(floor(extract(epoch from now()) / p_window) * p_window);
begin
  if p_key is not null then
    insert into app.rate_counters as c (bucket, window_start, shard, hits)
    values (p_key, w, pg_backend_pid(), 1)
    on conflict (bucket, window_start, shard) do update set hits = c.hits + 1;
  end if;
  -- Windows older than two are deleted by about one request in 1,000 (they are never read again).
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
revoke all on function app.count_request(text, text, integer) from public;
grant execute on function app.count_request(text, text, integer) to kyodo_api;
