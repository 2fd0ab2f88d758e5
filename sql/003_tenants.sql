-- Tenants and their credentials. Every tenant-owned table keeps the tenant code in its primary
-- key and is under forced row security; the API role reaches rows only through the policies.

create table carriers (
  carrier_code text primary key check (carrier_code ~ '^[a-z0-9][a-z0-9-]{1,31}$'),
  name text not null,
  name_en text,
  contact_email text,
  created_at timestamptz not null default now()
);
alter table carriers enable row level security;
alter table carriers force row level security;
-- Carrier names are public knowledge and shown on applications; only admins change them.
create policy carriers_read on carriers for select to kyodo_api using (app.role() <> 'none');
create policy carriers_admin_write on carriers for all to kyodo_api
  using (app.is_admin()) with check (app.is_admin());
grant select, insert, update, delete on carriers to kyodo_api;

create table api_keys (
  -- municipality or prefecture code, carrier code, or 'admin'
  tenant_code text not null,
  key_id uuid not null default gen_random_uuid(),
  role text not null check (role in ('municipality', 'prefecture', 'carrier', 'admin')),
  prefecture_code lgcode,
  name text not null check (length(name) between 1 and 200),
  key_hash bytea not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  primary key (tenant_code, key_id),
  unique (tenant_code, key_hash),
  constraint key_tenant_matches_role check (
    case role
      when 'municipality' then app.lgcode_ok(tenant_code) and substr(tenant_code, 3, 3) <> '000'
                               and prefecture_code is not null
                               and substr(prefecture_code, 1, 2) = substr(tenant_code, 1, 2)
      when 'prefecture' then app.lgcode_ok(tenant_code) and substr(tenant_code, 3, 3) = '000'
                             and prefecture_code = tenant_code
      when 'carrier' then prefecture_code is null and tenant_code ~ '^[a-z0-9][a-z0-9-]{1,31}$'
      when 'admin' then tenant_code = 'admin' and prefecture_code is null
    end)
);
alter table api_keys enable row level security;
alter table api_keys force row level security;
create policy api_keys_tenant on api_keys for all to kyodo_api
  using (app.is_admin() or tenant_code = app.tenant())
  with check (app.is_admin() or (tenant_code = app.tenant() and role = app.role()));
-- The owner runs app.authenticate (security definer), which must find a key before any principal exists.
create policy api_keys_owner_lookup on api_keys for select to kyodo_owner using (true);
grant select, insert, update on api_keys to kyodo_api;

-- The principal behind a key: looked up by the tenant named in the key and the key's hash.
create function app.authenticate(p_tenant text, p_hash bytea)
returns table (key_id uuid, role text, tenant_code text, prefecture_code text, name text)
language sql stable security definer set search_path = public, pg_temp as $$
  select k.key_id, k.role, k.tenant_code, k.prefecture_code::text, k.name
    from api_keys k
   where k.tenant_code = p_tenant and k.key_hash = p_hash and k.revoked_at is null
$$;
revoke all on function app.authenticate(text, bytea) from public;
grant execute on function app.authenticate(text, bytea) to kyodo_api;

-- Per-municipality settings (decision deadlines for usage applications, contact).
create table municipality_settings (
  municipality_code lgcode primary key references municipalities(code),
  decision_days integer not null default 30 check (decision_days between 1 and 365),
  information_days integer not null default 10 check (information_days between 1 and 365),
  contact_name text,
  contact_email text,
  version integer not null default 1,
  updated_at timestamptz not null default now()
);
alter table municipality_settings enable row level security;
alter table municipality_settings force row level security;
create policy municipality_settings_read on municipality_settings for select to kyodo_api
  using (app.can_see_lg(municipality_code));
create policy municipality_settings_insert on municipality_settings for insert to kyodo_api
  with check (app.can_write_lg(municipality_code));
create policy municipality_settings_update on municipality_settings for update to kyodo_api
  using (app.can_write_lg(municipality_code)) with check (app.can_write_lg(municipality_code));
grant select, insert, update on municipality_settings to kyodo_api;
