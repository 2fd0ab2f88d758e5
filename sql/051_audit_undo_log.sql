-- The asset audit log becomes an undo log: each row records who changed an asset, when, to which
-- version, and the asset as it was *before* the change. The state after a change is the next
-- row's `before`, or the asset itself for its latest version, so every state is stored once
-- instead of twice, and a bulk creation writes no images at all (it was 40% of a million-row
-- load). `asset_history` puts each version's full state back next to its audit row.

alter table asset_audit alter column after drop not null;
comment on column asset_audit.after is 'no longer written: the state after a change is the next row''s before, '
  'or the asset row itself (see asset_history)';

create or replace function app.assets_after_insert() returns trigger language plpgsql as $$
begin
  insert into asset_audit (municipality_code, asset_id, op, version, actor_role, actor_tenant, actor_key)
  select n.municipality_code, n.asset_id, 'create', n.version, app.role(), app.tenant(),
         nullif(current_setting('app.key_id', true), '')
    from new_rows n;
  insert into asset_changes (municipality_code, asset_id, op, version)
  select n.municipality_code, n.asset_id, 'created', n.version from new_rows n where n.status = 'published';
  return null;
end $$;

create or replace function app.assets_after_update() returns trigger language plpgsql as $$
begin
  insert into asset_audit (municipality_code, asset_id, op, version, actor_role, actor_tenant, actor_key, before)
  select n.municipality_code, n.asset_id,
         case when n.status = 'withdrawn' and o.status <> 'withdrawn' then 'withdraw' else 'update' end,
         n.version, app.role(), app.tenant(), nullif(current_setting('app.key_id', true), ''),
         app.asset_snapshot(o)
    from new_rows n join old_rows o using (municipality_code, asset_id)
   where n.version <> o.version;
  -- Carriers only hear of assets that are or were published.
  insert into asset_changes (municipality_code, asset_id, op, version)
  select n.municipality_code, n.asset_id,
         case when n.status = 'published' and o.status <> 'published' then 'created'
              when n.status = 'published' then 'updated'
              else 'withdrawn' end,
         n.version
    from new_rows n join old_rows o using (municipality_code, asset_id)
   where n.version <> o.version and (n.status = 'published' or o.status = 'published');
  return null;
end $$;

-- Every version of every asset the reader may see, with who made it and the full state it left.
create view asset_history with (security_invoker = true) as
  select u.municipality_code, u.asset_id, u.audit_id, u.op, u.version, u.actor_role, u.actor_tenant,
         u.actor_key, u.at,
         coalesce(lead(u.before) over (partition by u.municipality_code, u.asset_id order by u.version),
                  app.asset_snapshot(a)) as state
    from asset_audit u
    join assets a using (municipality_code, asset_id);
grant select on asset_history to kyodo_api;
