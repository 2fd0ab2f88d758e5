-- Why (issue 13): a keyed read made four round trips (BEGIN, the key statement of sql/058, the query,
-- COMMIT); BEGIN and COMMIT alone were 27 % of the API worker's CPU on the bbox search (py-spy, 100,000
-- points: Transaction.start 11.6 %, Transaction.commit 15.3 %). The key statement now runs on its own
-- (autocommit) and sets the principal for the connection's session rather than for a transaction, so a
-- read route that runs one statement per query needs no transaction at all: two round trips.
-- The principal must never outlive the request: every request that takes a pooled connection sets it
-- again with this function (all four settings, 'none' for an unknown key), and any other user of the
-- pool finds it cleared before it gets the connection (registry/db/pool.py, asyncpg's setup hook).
-- Same body as app.enter_with_key (sql/120) but set_config(..., false); a function's SET clause restores
-- only search_path on exit, so session-level settings made inside it stay.
create function app.enter_session_with_key(p_tenant text, p_hash bytea)
returns table (key_id text, role text, tenant_code text, prefecture_code text, name text, lang text)
language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
  k record;
begin
  select a.key_id::text as key_id, a.role, a.tenant_code, a.prefecture_code::text as prefecture_code, a.name,
         a.lang
    into k
    from api_keys a
   where a.tenant_code = p_tenant and a.key_hash = p_hash and a.revoked_at is null;
  perform set_config('app.role', coalesce(k.role, 'none'), false),
          set_config('app.tenant_code', coalesce(k.tenant_code, ''), false),
          set_config('app.prefecture_code', coalesce(k.prefecture_code, ''), false),
          set_config('app.key_id', coalesce(k.key_id, ''), false);
  if k.key_id is not null then
    return query select k.key_id, k.role, k.tenant_code, k.prefecture_code, k.name, k.lang;
  end if;
end $$;
revoke all on function app.enter_session_with_key(text, bytea) from public;
grant execute on function app.enter_session_with_key(text, bytea) to kyodo_api;
