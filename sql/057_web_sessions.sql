-- Why (issue 12): the web map asks for an API key once and then works with a cookie, so the key never
-- stays in the page's script, storage or history. A session is kept server-side: only the SHA-256 of its
-- 256-bit token is stored (as for keys, the secret's length makes a slow hash unnecessary), with an expiry
-- (KYODO_SESSION_HOURS, 8 by default: one working day), revoked on sign-out. The lookup joins the key and
-- requires it live, so revoking a key ends every session made with it in the same instant, with no second
-- write to forget. The tenant code leads the primary key, as in every tenant table (Citus distribution).

create table web_sessions (
  tenant_code text not null,
  session_id uuid not null default gen_random_uuid(),
  key_id uuid not null,
  token_hash bytea not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  primary key (tenant_code, session_id),
  unique (tenant_code, token_hash),
  foreign key (tenant_code, key_id) references api_keys (tenant_code, key_id),
  constraint session_expires_after_creation check (expires_at > created_at)
);
alter table web_sessions enable row level security;
alter table web_sessions force row level security;
-- A principal sees and ends only the sessions of its own tenant; it opens sessions only for its own key.
create policy web_sessions_tenant on web_sessions for all to kyodo_api
  using (app.is_admin() or tenant_code = app.tenant())
  with check (tenant_code = app.tenant() and key_id::text = current_setting('app.key_id', true));
-- The owner runs app.authenticate_session (security definer), before any principal exists.
create policy web_sessions_owner_lookup on web_sessions for select to kyodo_owner using (true);
grant select, insert, update on web_sessions to kyodo_api;

-- The principal behind a live session of a live key, and the session's id and expiry.
create function app.authenticate_session(p_tenant text, p_hash bytea)
returns table (key_id uuid, role text, tenant_code text, prefecture_code text, name text,
               session_id uuid, expires_at timestamptz)
language sql stable security definer set search_path = public, pg_temp as $$
  select k.key_id, k.role, k.tenant_code, k.prefecture_code::text, k.name, s.session_id, s.expires_at
    from web_sessions s
    join api_keys k on k.tenant_code = s.tenant_code and k.key_id = s.key_id
   where s.tenant_code = p_tenant and s.token_hash = p_hash
     and s.revoked_at is null and s.expires_at > now() and k.revoked_at is null
$$;
revoke all on function app.authenticate_session(text, bytea) from public;
grant execute on function app.authenticate_session(text, bytea) to kyodo_api;
