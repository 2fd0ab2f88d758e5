"""Asset registry: municipal staff publish, change and withdraw their assets; everyone reads one.

The catalogue search is in search_routes.py, the change feed and statistics in feed_routes.py, the
vector tiles in tiles.py; `route_handlers` gathers them all for the application.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter

from registry import etags
from registry.assets import export_routes, feed_routes, queries, search_routes, tiles
from registry.assets.models import AssetCollection, AssetCreate, AssetFeature, AssetHistory, AssetPatch, Link
from registry.assets.rules import STATUSES
from registry.assets.validation import field_values, merged, write_checks
from registry.auth.guards import requires
from registry.i18n import tr
from registry.idempotency import respond_once
from registry.pagination import page_of, page_request
from registry.params import parse_code, parse_uuid
from registry.problems import Conflict, NotFound, invalid_field
from registry.tenancy import acting_for

GEOJSON = "application/geo+json"
MUNICIPAL = requires("municipality", "admin")
# A single asset, even a detailed rooftop outline, fits well within this.
ASSET_BODY_LIMIT = 1_000_000


def _asset_id(value: str) -> str:
    return parse_uuid(value, "asset_id")


def _created_headers(f: AssetFeature) -> dict[str, str]:
    return {"ETag": etags.etag(f.properties.version), "Location": f"/v1/assets/{f.id}"}


@post("/v1/assets", tags=["assets"], summary="Publish (or draft) an asset", guards=[MUNICIPAL],
      request_max_body_size=ASSET_BODY_LIMIT)
async def create_asset(
    request: Request, db: asyncpg.Connection, data: AssetCreate,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key")] = None,
) -> Response[AssetFeature]:
    owner = acting_for(request.user, data.municipality_code, "municipality_code", parse=parse_code,
                       what="municipality")

    async def produce() -> AssetFeature:
        geometry = await write_checks(db, data, owner, None)
        return await queries.insert(db, owner, field_values(data), geometry)

    return await respond_once(db, request, idempotency_key, data, produce, headers=_created_headers)


async def _own_asset(db: asyncpg.Connection, asset_id: str) -> AssetFeature:
    found = await queries.get_own(db, _asset_id(asset_id))
    if found is None:
        raise NotFound(tr("No asset {asset_id} among those your key may change.", asset_id=asset_id))
    return found


@get("/v1/assets/{asset_id:str}", tags=["assets"], summary="One asset", media_type=GEOJSON)
async def get_asset(request: Request, db: asyncpg.Connection, asset_id: str) -> Response[AssetFeature]:
    asset_id = _asset_id(asset_id)
    found = await queries.get_own(db, asset_id) if request.user.role != "carrier" else None
    found = found or await queries.get_published(db, asset_id)
    if found is None:
        raise NotFound(tr("No asset {asset_id} among those your key may see.", asset_id=asset_id))
    return etags.tagged(found, found.properties.version, media_type=GEOJSON)


@patch("/v1/assets/{asset_id:str}", tags=["assets"], summary="Change an asset (If-Match required)",
       guards=[MUNICIPAL], media_type=GEOJSON, request_max_body_size=ASSET_BODY_LIMIT)
async def update_asset(
    db: asyncpg.Connection, asset_id: str, data: AssetPatch,
    if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
) -> Response[AssetFeature]:
    expected = etags.required_version(if_match)
    current = await _own_asset(db, asset_id)
    props = current.properties
    if props.status == "withdrawn":
        raise Conflict(tr("Asset {asset_id} was withdrawn; publish a new asset instead.", asset_id=asset_id))
    if props.version != expected:
        raise etags.stale(props.version)
    fields = merged(current, data)
    geometry = await write_checks(db, fields, props.municipality_code, current.id, props.current_tenants)
    changed = await queries.update(db, current.id, expected, field_values(fields), geometry)
    if changed is None:  # a concurrent update won the race since we read it
        raise etags.stale(expected + 1)
    return etags.tagged(changed, changed.properties.version, media_type=GEOJSON)


@delete("/v1/assets/{asset_id:str}", tags=["assets"], summary="Withdraw an asset (If-Match required)",
        guards=[MUNICIPAL], status_code=200, media_type=GEOJSON)
async def withdraw_asset(db: asyncpg.Connection, asset_id: str,
                         if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
                         ) -> Response[AssetFeature]:
    expected = etags.required_version(if_match)
    current = await _own_asset(db, asset_id)
    if current.properties.status == "withdrawn":
        raise Conflict(tr("Asset {asset_id} is already withdrawn.", asset_id=asset_id))
    withdrawn = await queries.withdraw(db, current.id, expected)
    if withdrawn is None:
        raise etags.stale(current.properties.version)
    return etags.tagged(withdrawn, withdrawn.properties.version, media_type=GEOJSON)


@get("/v1/assets/{asset_id:str}/history", tags=["assets"], summary="Every version of an asset, who made it and when",
     guards=[requires("municipality", "prefecture", "admin")])
async def asset_history(db: asyncpg.Connection, asset_id: str) -> AssetHistory:
    versions = await queries.history(db, _asset_id(asset_id))
    if not versions:
        raise NotFound(tr("No asset {asset_id} among those your key may see.", asset_id=asset_id))
    return AssetHistory(asset_id, versions)


def _statuses(status: str | None) -> list[str] | None:
    statuses = [s for s in (status or "").split(",") if s] or None
    if statuses and not set(statuses) <= set(STATUSES):
        raise invalid_field("status", tr("choose from {statuses}", statuses=', '.join(STATUSES)))
    return statuses


@get("/v1/municipalities/{code:str}/assets", tags=["assets"],
     summary="A municipality's own assets, drafts and withdrawn ones included",
     guards=[requires("municipality", "prefecture", "admin")], media_type=GEOJSON)
async def list_own_assets(
    request: Request, db: asyncpg.Connection, code: str,
    status: Annotated[str | None, Parameter(description="comma-separated: draft, published, withdrawn")] = None,
    after: str | None = None,
    limit: Annotated[int, Parameter(description="1 to the server's page limit (1,000 unless KYODO_PAGE_LIMIT)")
                     ] = 100,
) -> AssetCollection:
    code = parse_code(code)
    if not request.user.can_see_municipality(code):
        raise NotFound(tr("No municipality {code} among those your key may see.", code=code))
    statuses = _statuses(status)
    wanted = page_request(request, after, limit, 1, types=(str,))
    last = wanted.first()
    rows = await queries.list_own(db, code, statuses, parse_uuid(last, "after") if last else None, wanted.fetch)
    page = page_of(request, rows, wanted, key=lambda f: [f.id])
    return AssetCollection(features=page.items, numberReturned=len(page.items), next=page.next,
                           links=[Link(page.next, "next")] if page.next else [])


route_handlers = [create_asset, get_asset, update_asset, withdraw_asset, asset_history, list_own_assets,
                  *search_routes.route_handlers, *export_routes.route_handlers, *feed_routes.route_handlers,
                  *tiles.route_handlers]
