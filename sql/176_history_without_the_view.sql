-- Why (issue 17): the asset_history view (sql/051) joined assets and called app.asset_snapshot(a) with the
-- assets row type, so on the Citus spike (3 nodes, Citus 13.2) `assets` depended on itself and could not be
-- distributed. GET /v1/assets/{id}/history now reads asset_audit and the asset's current columns in one query
-- (registry/assets/queries.py, HISTORY), the same answer byte for byte (checked over 46 versions of loaded,
-- edited and withdrawn assets against the view before it was dropped). Nothing else read the view.
drop view asset_history;
comment on column asset_audit.after is 'no longer written: the state after a change is the next row''s before, '
  'or the asset row itself (registry/assets/queries.py, HISTORY)';
