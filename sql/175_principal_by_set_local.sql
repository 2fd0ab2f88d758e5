-- Why (issue 17): a Citus coordinator passes a setting on to the workers' shards only when it is a literal
-- `SET LOCAL` inside a transaction block (citus.propagate_set_commands = 'local'); set_config(..., true)
-- (sql/058, sql/120) and the session-level set_config(..., false) of issue 13 (sql/150) reach the
-- coordinator alone, and the spike on three nodes saw every read of a distributed table come back empty.
-- These two functions set the four principal settings with SET LOCAL statements run through EXECUTE, each
-- value quoted by format('%L') (quote_literal: a tenant code or key name can never end the statement).
-- With KYODO_PRINCIPAL_SCOPE=transaction every request sets its principal through them, inside BEGIN ...
-- COMMIT (four round trips for GET /v1/assets instead of two); every other setter that was
-- set_config(..., true) uses them in either mode (registry/db/pool.py). A function's own SET clause
-- (search_path here) restores only that variable on exit, so the four SET LOCALs last until COMMIT.
create function app.set_local_principal(p_role text, p_tenant_code text, p_prefecture_code text, p_key_id text)
returns void
language plpgsql volatile set search_path = pg_catalog, pg_temp as $$
begin
  execute format('set local app.role = %L', coalesce(nullif(p_role, ''), 'none'));
  execute format('set local app.tenant_code = %L', coalesce(p_tenant_code, ''));
  execute format('set local app.prefecture_code = %L', coalesce(p_prefecture_code, ''));
  execute format('set local app.key_id = %L', coalesce(p_key_id, ''));
end $$;
revoke all on function app.set_local_principal(text, text, text, text) from public;
grant execute on function app.set_local_principal(text, text, text, text) to kyodo_api;

-- app.enter_with_key (sql/120) with SET LOCAL instead of set_config(..., true): the key statement of a
-- request in transaction scope, and of a read a standby serves with the primary away.
create function app.enter_local_with_key(p_tenant text, p_hash bytea)
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
  perform app.set_local_principal(k.role, k.tenant_code, k.prefecture_code, k.key_id);
  if k.key_id is not null then
    return query select k.key_id, k.role, k.tenant_code, k.prefecture_code, k.name, k.lang;
  end if;
end $$;
revoke all on function app.enter_local_with_key(text, bytea) from public;
grant execute on function app.enter_local_with_key(text, bytea) to kyodo_api;
