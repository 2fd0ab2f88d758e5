"""The audit log (an undo log since sql/051) gives back every version's whole row through the history query
(registry/assets/queries.py, HISTORY; the asset_history view until sql/176)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import geopandas as gpd
from shapely.geometry import Point, Polygon

from loaders.assets import load_assets
from registry.assets import queries
from registry.db.admin import admin_session
from registry.settings import Settings


async def test_audit_snapshot_is_the_whole_row(settings: Settings, owner: asyncpg.Connection, tmp_path: Path) -> None:
    square = Polygon([(139.75, 35.69), (139.7512345678901, 35.69), (139.7512345678901, 35.6912), (139.75, 35.6912)])
    frame = gpd.GeoDataFrame(
        {"source_id": ["p", "q"], "category": ["streetlight", "land"], "name": ["灯", "用地"],
         "height_m": [9.25, None], "constraints": ["landscape;heritage", ""], "last_verified": ["2025-01-31", ""],
         "visibility": ["restricted", "public"]},
        geometry=[Point(139.75312345678912, 35.69412345678912), square], crs=4326)
    path = tmp_path / "a.geojson"
    frame.to_file(path, driver="GeoJSON")
    await admin_session(settings, lambda db: load_assets(db, path, tenant="131016"))
    frame.loc[0, "height_m"] = 10.5
    frame.to_file(path, driver="GeoJSON")
    await admin_session(settings, lambda db: load_assets(db, path, tenant="131016"))
    # Every column of the table is in the snapshot (a new column must be added to app.asset_snapshot and HISTORY).
    assets = await owner.fetch("select asset_id::text, version, (to_jsonb(a) - 'coarse_geom')::text as row "
                               "from assets a")
    history = {a["asset_id"]: await admin_session(settings, lambda db, i=a["asset_id"]: queries.history(db, i))
               for a in assets}
    for a in assets:
        latest = history[a["asset_id"]][-1]
        assert latest.version == a["version"]
        assert await owner.fetchval("select $1::jsonb = $2::jsonb", bytes(latest.state).decode(), a["row"])
    assert await owner.fetchval("select count(*) from asset_audit") == 3
    before = await owner.fetchval("select before->>'height_m' from asset_audit where op = 'update'")
    assert before == "9.25"
    # The first version's state, as loaded, comes back from the undo image of the update.
    point = await owner.fetchval("select asset_id::text from assets where source_id = 'p'")
    first = bytes(history[point][0].state).decode()
    assert history[point][0].version == 1
    assert '"height_m": 9.25' in first and '"version": 1' in first
