-- Shared helpers: the principal of the current transaction and the local government code type.
-- The API sets app.role / app.tenant_code / app.prefecture_code with set_config(..., true) at the
-- start of each request's transaction; with nothing set, every policy below sees role 'none'.

create schema app;
grant usage on schema app to kyodo_api;

create function app.role() returns text
language sql stable parallel safe as $$
  select coalesce(nullif(current_setting('app.role', true), ''), 'none')
$$;

create function app.tenant() returns text
language sql stable parallel safe as $$
  select nullif(current_setting('app.tenant_code', true), '')
$$;

-- Two-digit prefecture number of the principal (municipality or prefecture), null otherwise.
create function app.prefecture() returns text
language sql stable parallel safe as $$
  select left(nullif(current_setting('app.prefecture_code', true), ''), 2)
$$;

create function app.is_admin() returns boolean
language sql stable parallel safe as $$ select app.role() = 'admin' $$;

-- JIS X 0401/0402 check digit: weights 6..2 on the first five digits, (11 - sum % 11) % 10.
create function app.lgcode_ok(code text) returns boolean
language sql immutable strict parallel safe as $$
  select code ~ '^[0-9]{6}$'
     and substr(code, 1, 2)::int between 1 and 47
     and substr(code, 6, 1)::int = (11 - (
           substr(code, 1, 1)::int * 6 + substr(code, 2, 1)::int * 5 + substr(code, 3, 1)::int * 4
         + substr(code, 4, 1)::int * 3 + substr(code, 5, 1)::int * 2) % 11) % 10
$$;

create domain lgcode as char(6)
  constraint lgcode_check_digit check (app.lgcode_ok(value));

-- Can the current principal see rows of this municipality (or prefecture) code?
-- Municipalities see their own; prefectures the codes inside them; admins everything.
create function app.can_see_lg(code text) returns boolean
language sql stable parallel safe as $$
  select case app.role()
    when 'admin' then true
    when 'municipality' then code = app.tenant()
    when 'prefecture' then left(code, 2) = app.prefecture()
    else false end
$$;

-- May the current principal change rows of this municipality code? Only the municipality
-- itself and admins; prefectures read their municipalities' data but do not edit it.
create function app.can_write_lg(code text) returns boolean
language sql stable parallel safe as $$
  select case app.role()
    when 'admin' then true
    when 'municipality' then code = app.tenant()
    else false end
$$;
