-- Why (issue 14): problems are written in English or Japanese, chosen by the request's Accept-Language
-- (registry/i18n.py). Machine clients (a municipality's nightly upload, a carrier's integration) usually
-- send no Accept-Language, yet the clerks who read their logs work in Japanese: a key may therefore say
-- in which language its problems are written. null (every key before this migration) means English;
-- an Accept-Language the server offers still wins over it for that request.
-- app.enter_with_key (sql/058) returns the language with the principal, so knowing it costs no extra
-- round trip: the function is recreated with one more column (its callers name their columns).
alter table api_keys add column lang text check (lang in ('en', 'ja'));

drop function app.enter_with_key(text, bytea);
create function app.enter_with_key(p_tenant text, p_hash bytea)
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
  perform set_config('app.role', coalesce(k.role, 'none'), true),
          set_config('app.tenant_code', coalesce(k.tenant_code, ''), true),
          set_config('app.prefecture_code', coalesce(k.prefecture_code, ''), true),
          set_config('app.key_id', coalesce(k.key_id, ''), true);
  if k.key_id is not null then
    return query select k.key_id, k.role, k.tenant_code, k.prefecture_code, k.name, k.lang;
  end if;
end $$;
revoke all on function app.enter_with_key(text, bytea) from public;
grant execute on function app.enter_with_key(text, bytea) to kyodo_api;
