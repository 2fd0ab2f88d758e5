-- Why (issue 16): the tender was a form the prefecture filled in with a hand-typed winner; suppliers had no
-- place in the system. A supplier is an organisation registered by an admin under its corporate number
-- (法人番号, 13 digits with a check digit, National Tax Agency), and its staff call the API with `supplier`
-- keys like every other role. The tenant code of a supplier key is its corporate number.
--
-- Also here (item 6, delegated onboarding): a prefecture manages the keys of its own municipalities
-- (issues, lists, revokes), never of another prefecture's and never a role other than municipality;
-- onboarding Tokyo's 62 municipalities no longer needs an admin.

-- NTA rule: P_n the n-th digit of the 12-digit base counted from the right, Q_n 1 (odd n) or 2 (even n),
-- check digit = 9 - (sum P_n * Q_n) mod 9. registry/suppliers/corporate_number.py is the same rule in Python.
create function app.corporate_number_ok(num text) returns boolean
language sql immutable strict parallel safe as $$
  select num ~ '^[0-9]{13}$'
     and substr(num, 1, 1)::int = 9 - (
           select sum(substr(num, 14 - n, 1)::int * case when n % 2 = 1 then 1 else 2 end)
             from generate_series(1, 12) as n)::int % 9
$$;

create table suppliers (
  corporate_number text primary key check (app.corporate_number_ok(corporate_number)),
  name text not null check (length(name) between 1 and 200),
  name_en text check (length(name_en) between 1 and 200),
  contact_email text check (length(contact_email) <= 254),
  created_at timestamptz not null default now()
);
alter table suppliers enable row level security;
alter table suppliers force row level security;
-- Supplier names appear on awards and contracts (public in OCDS); only admins register or change them.
create policy suppliers_read on suppliers for select to kyodo_api using (app.role() <> 'none');
create policy suppliers_admin_write on suppliers for all to kyodo_api
  using (app.is_admin()) with check (app.is_admin());
grant select, insert, update on suppliers to kyodo_api;

-- The supplier role, wherever a role is stored.
alter table api_keys drop constraint api_keys_role_check;
alter table api_keys add constraint api_keys_role_check
  check (role in ('municipality', 'prefecture', 'carrier', 'supplier', 'admin'));
alter table api_keys drop constraint key_tenant_matches_role;
alter table api_keys add constraint key_tenant_matches_role check (
    case role
      when 'municipality' then app.lgcode_ok(tenant_code) and substr(tenant_code, 3, 3) <> '000'
                               and prefecture_code is not null
                               and substr(prefecture_code, 1, 2) = substr(tenant_code, 1, 2)
      when 'prefecture' then app.lgcode_ok(tenant_code) and substr(tenant_code, 3, 3) = '000'
                             and prefecture_code = tenant_code
      when 'carrier' then prefecture_code is null and tenant_code ~ '^[a-z0-9][a-z0-9-]{1,31}$'
      when 'supplier' then prefecture_code is null and app.corporate_number_ok(tenant_code)
      when 'admin' then tenant_code = 'admin' and prefecture_code is null
    end);
alter table webhook_subscriptions drop constraint webhook_subscriptions_role_check;
alter table webhook_subscriptions add constraint webhook_subscriptions_role_check
  check (role in ('municipality', 'prefecture', 'carrier', 'supplier', 'admin'));
alter table mail_contacts drop constraint mail_contacts_role_check;
alter table mail_contacts add constraint mail_contacts_role_check
  check (role in ('municipality', 'prefecture', 'carrier', 'supplier', 'admin'));

-- Suppliers hear of what is addressed to them and to every supplier ('suppliers'), as carriers do.
create or replace function app.reach_of(p_role text, p_tenant text, p_prefecture text) returns text[]
language sql immutable parallel safe as $$
  select case p_role
    when 'municipality' then array[p_tenant, 'in:' || left(p_prefecture, 2), 'all']
    when 'prefecture' then array[p_tenant, 'pref:' || left(p_prefecture, 2), 'in:' || left(p_prefecture, 2), 'all']
    when 'carrier' then array[p_tenant, 'carriers', 'all']
    when 'supplier' then array[p_tenant, 'suppliers', 'all']
    else '{}'::text[] end
$$;

-- Delegated onboarding: a prefecture reads, issues and revokes municipality keys inside its prefecture.
-- Permissive, so it adds to api_keys_tenant (own keys); the check keeps the role at 'municipality'.
create policy api_keys_prefecture_delegated on api_keys for all to kyodo_api
  using (app.role() = 'prefecture' and role = 'municipality' and left(tenant_code, 2) = app.prefecture())
  with check (app.role() = 'prefecture' and role = 'municipality' and left(tenant_code, 2) = app.prefecture());
