-- Faster audit snapshots for bulk loads. `to_jsonb(row) - 'coarse_geom'` converted both geometry
-- columns through PostGIS's geometry-to-json cast, which looks the SRID up in spatial_ref_sys on
-- every call: about 110 µs a row, so the audit alone took two minutes for a million loaded assets.
-- The snapshot below is the same jsonb, value for value (checked by tests/test_load_audit.py),
-- at about 18 µs a row: the columns are listed once, and the geometry is written with the CRS
-- member every asset has (the column is typed geometry(Geometry, 4326)).
-- A new column on assets must be added to the list, or the audit test fails.

create function app.asset_snapshot(a assets) returns jsonb
language sql stable parallel safe as $$
  select jsonb_build_object(
    'municipality_code', a.municipality_code, 'asset_id', a.asset_id, 'source_id', a.source_id,
    'category', a.category, 'name', a.name, 'address', a.address, 'position_accuracy_m', a.position_accuracy_m,
    'height_m', a.height_m, 'mountable_height_m', a.mountable_height_m, 'spare_load_kg', a.spare_load_kg,
    'power', a.power, 'fibre_distance_m', a.fibre_distance_m, 'area_m2', a.area_m2,
    'availability', a.availability, 'current_tenants', a.current_tenants, 'max_tenants', a.max_tenants,
    'constraints', a.constraints, 'fee_rule', a.fee_rule, 'permit_type', a.permit_type, 'contact', a.contact,
    'source', a.source, 'last_verified', a.last_verified, 'visibility', a.visibility, 'status', a.status,
    'version', a.version, 'created_at', a.created_at, 'updated_at', a.updated_at,
    'geom', ST_AsGeoJSON(a.geom, 15, 0)::jsonb || '{"crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}')
$$;

create or replace function app.assets_after_insert() returns trigger language plpgsql as $$
begin
  insert into asset_audit (municipality_code, asset_id, op, version, actor_role, actor_tenant, actor_key, after)
  select n.municipality_code, n.asset_id, 'create', n.version, app.role(), app.tenant(),
         nullif(current_setting('app.key_id', true), ''), app.asset_snapshot(n)
    from new_rows n;
  insert into asset_changes (municipality_code, asset_id, op, version)
  select n.municipality_code, n.asset_id, 'created', n.version from new_rows n where n.status = 'published';
  return null;
end $$;

create or replace function app.assets_after_update() returns trigger language plpgsql as $$
begin
  insert into asset_audit (municipality_code, asset_id, op, version, actor_role, actor_tenant, actor_key,
                           before, after)
  select n.municipality_code, n.asset_id,
         case when n.status = 'withdrawn' and o.status <> 'withdrawn' then 'withdraw' else 'update' end,
         n.version, app.role(), app.tenant(), nullif(current_setting('app.key_id', true), ''),
         app.asset_snapshot(o), app.asset_snapshot(n)
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
