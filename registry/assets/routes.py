"""Asset registry (municipal staff), catalogue search (everyone), change feed and statistics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter

from registry import etags
from registry.assets import queries, tiles
from registry.assets.export import to_csv
from registry.assets.models import (
    AssetChange,
    AssetCollection,
    AssetCreate,
    AssetFeature,
    AssetFields,
    AssetHistory,
    AssetPatch,
    AssetSearchBody,
    AssetStats,
    AssetVersion,
    ChangePage,
    Link,
    StatRow,
)
from registry.assets.search import SearchFilter, build_filter
from registry.assets.validation import check_fields, checked_geometry
from registry.auth.guards import requires
from registry.idempotency import respond_once
from registry.pagination import check_limit, decode_cursor, encode_cursor, next_link
from registry.params import parse_code, parse_prefecture_number, parse_uuid
from registry.principal import Principal
from registry.problems import Conflict, Forbidden, NotFound, invalid_field

GEOJSON = "application/geo+json"
MUNICIPAL = requires("municipality", "admin")
# A single asset, even a detailed rooftop outline, fits well within this.
ASSET_BODY_LIMIT = 1_000_000


def _asset_id(value: str) -> str:
    return parse_uuid(value, "asset_id")


def _owner(principal: Principal, requested: str | None) -> str:
    if principal.role == "admin":
        if requested is None:
            raise invalid_field("municipality_code", "admins name the municipality that owns the asset")
        return parse_code(requested, "municipality_code")
    if requested is not None and parse_code(requested, "municipality_code") != principal.tenant_code:
        raise Forbidden(f"Your key creates assets for {principal.tenant_code} only.")
    return principal.tenant_code


def _with_etag(f: AssetFeature) -> dict[str, str]:
    return {"ETag": etags.etag(f.properties.version), "Location": f"/v1/assets/{f.id}"}


def _fields(data: AssetFields) -> dict[str, Any]:
    return {f: getattr(data, f) for f in AssetFields.__struct_fields__}


async def _write_checks(db: asyncpg.Connection, data: AssetFields, owner: str, asset_id: str | None) -> str:
    check_fields(data)
    geometry = await checked_geometry(db, data.geometry, owner)
    taken = await db.fetchval(queries.SOURCE_ID_TAKEN, owner, data.source_id)
    if taken and taken != asset_id:
        raise Conflict(f"source_id {data.source_id!r} is already used by asset {taken} of {owner}; "
                       "update that asset instead")
    return geometry


@post("/v1/assets", tags=["assets"], summary="Publish (or draft) an asset", guards=[MUNICIPAL],
      request_max_body_size=ASSET_BODY_LIMIT)
async def create_asset(
    request: Request, db: asyncpg.Connection, data: AssetCreate,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key")] = None,
) -> Response[AssetFeature]:
    owner = _owner(request.user, data.municipality_code)

    async def produce() -> AssetFeature:
        geometry = await _write_checks(db, data, owner, None)
        row = await db.fetchrow(queries.INSERT, owner, *queries.write_args(_fields(data), geometry))
        return queries.feature(row)

    return await respond_once(db, request, idempotency_key, data, produce, headers=_with_etag)


async def _own_asset(db: asyncpg.Connection, asset_id: str) -> asyncpg.Record:
    row = await db.fetchrow(queries.GET, _asset_id(asset_id))
    if row is None:
        raise NotFound(f"No asset {asset_id} among those your key may change.")
    return row


@get("/v1/assets/{asset_id:str}", tags=["assets"], summary="One asset", media_type=GEOJSON)
async def get_asset(request: Request, db: asyncpg.Connection, asset_id: str) -> Response[AssetFeature]:
    asset_id = _asset_id(asset_id)
    row = None
    if request.user.role != "carrier":
        row = await db.fetchrow(queries.GET, asset_id)
    if row is None:
        row = await db.fetchrow(queries.GET_PUBLISHED, asset_id)
    if row is None:
        raise NotFound(f"No asset {asset_id} among those your key may see.")
    f = queries.feature(row)
    return Response(f, media_type=GEOJSON, headers={"ETag": etags.etag(f.properties.version)})


@patch("/v1/assets/{asset_id:str}", tags=["assets"], summary="Change an asset (If-Match required)",
       guards=[MUNICIPAL], media_type=GEOJSON, request_max_body_size=ASSET_BODY_LIMIT)
async def update_asset(
    db: asyncpg.Connection, asset_id: str, data: AssetPatch,
    if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
) -> Response[AssetFeature]:
    expected = etags.required_version(if_match)
    current = await _own_asset(db, asset_id)
    if current["status"] == "withdrawn":
        raise Conflict(f"Asset {asset_id} was withdrawn; publish a new asset instead.")
    if current["version"] != expected:
        raise etags.stale(current["version"])
    merged = _merge(current, data)
    geometry = await _write_checks(db, merged, current["municipality_code"], current["asset_id"])
    row = await db.fetchrow(queries.UPDATE, current["asset_id"], expected,
                            *queries.write_args(_fields(merged), geometry))
    if row is None:  # a concurrent update won the race since we read it
        raise etags.stale(expected + 1)
    f = queries.feature(row)
    return Response(f, media_type=GEOJSON, headers={"ETag": etags.etag(f.properties.version)})


def _merge(current: asyncpg.Record, change: AssetPatch) -> AssetFields:
    """The stored asset with the sent fields applied, validated as a whole again."""
    stored = {f: current[f] for f in AssetFields.__struct_fields__ if f != "geometry"}
    stored["geometry"] = msgspec.json.decode(current["geometry"])
    stored["constraints"] = list(stored["constraints"])
    sent = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not msgspec.UNSET}
    if "geometry" in sent:
        sent["geometry"] = msgspec.to_builtins(sent["geometry"])
    try:
        return msgspec.convert({**stored, **sent}, AssetFields, from_attributes=False)
    except msgspec.ValidationError as exc:
        raise invalid_field("body", str(exc)) from exc


@delete("/v1/assets/{asset_id:str}", tags=["assets"], summary="Withdraw an asset (If-Match required)",
        guards=[MUNICIPAL], status_code=200, media_type=GEOJSON)
async def withdraw_asset(db: asyncpg.Connection, asset_id: str,
                         if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
                         ) -> Response[AssetFeature]:
    expected = etags.required_version(if_match)
    current = await _own_asset(db, asset_id)
    if current["status"] == "withdrawn":
        raise Conflict(f"Asset {asset_id} is already withdrawn.")
    row = await db.fetchrow(queries.WITHDRAW, current["asset_id"], expected)
    if row is None:
        raise etags.stale(current["version"])
    f = queries.feature(row)
    return Response(f, media_type=GEOJSON, headers={"ETag": etags.etag(f.properties.version)})


@get("/v1/assets/{asset_id:str}/history", tags=["assets"], summary="Every version of an asset, who made it and when",
     guards=[requires("municipality", "prefecture", "admin")])
async def asset_history(db: asyncpg.Connection, asset_id: str) -> AssetHistory:
    rows = await db.fetch(queries.HISTORY, _asset_id(asset_id))
    if not rows:
        raise NotFound(f"No asset {asset_id} among those your key may see.")
    return AssetHistory(asset_id, [AssetVersion(r["version"], r["op"], r["actor_role"], r["actor_tenant"], r["at"],
                                                msgspec.Raw(r["state"].encode())) for r in rows])


@get("/v1/municipalities/{code:str}/assets", tags=["assets"],
     summary="A municipality's own assets, drafts and withdrawn ones included",
     guards=[requires("municipality", "prefecture", "admin")], media_type=GEOJSON)
async def list_own_assets(
    request: Request, db: asyncpg.Connection, code: str,
    status: Annotated[str | None, Parameter(description="comma-separated: draft, published, withdrawn")] = None,
    after: str | None = None, limit: Annotated[int, Parameter(description="1-1000")] = 100,
) -> AssetCollection:
    code = parse_code(code)
    if not request.user.can_see_municipality(code):
        raise NotFound(f"No municipality {code} among those your key may see.")
    statuses = [s for s in (status or "").split(",") if s] or None
    if statuses and not set(statuses) <= {"draft", "published", "withdrawn"}:
        raise invalid_field("status", "choose from draft, published, withdrawn")
    check_limit(limit, 1000)
    cursor = decode_cursor(after, 1)
    rows = await db.fetch(queries.LIST_OWN, code, statuses, cursor[0] if cursor else None, limit + 1)
    features = [queries.feature(r) for r in rows[:limit]]
    nxt = next_link(request, encode_cursor([features[-1].id]) if len(rows) > limit else None)
    return AssetCollection(features=features, numberReturned=len(features), next=nxt,
                           links=[Link(nxt, "next")] if nxt else [])


# --- search -------------------------------------------------------------------------------------------

Format = Literal["geojson", "csv"]


def _wants_csv(request: Request, f: Format | None) -> bool:
    if f is not None:
        return f == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "geo+json" not in accept


async def _run_search(request: Request, db: asyncpg.Connection, flt: SearchFilter, after: str | None, limit: int,
                      count: bool, fmt: Format | None, encoding: str) -> Response[AssetCollection]:
    check_limit(limit, request.app.state.settings.page_limit_max)
    cursor = decode_cursor(after, 2)
    rows = await queries.search(db, flt, cursor, limit + 1)
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        last = page[-1]
        key = [last["distance_m"], last["asset_id"]] if flt.mode == "near" else [last["municipality_code"],
                                                                                 last["asset_id"]]
        nxt = next_link(request, encode_cursor(key))
    matched = await queries.count(db, flt) if count else None
    links = {"Link": f'<{nxt}>; rel="next"'} if nxt else {}
    if _wants_csv(request, fmt):
        if encoding not in ("utf-8", "cp932"):
            raise invalid_field("encoding", "choose utf-8 (with BOM, for Excel) or cp932")
        charset = "shift_jis" if encoding == "cp932" else "utf-8"
        return Response(to_csv(page, encoding), media_type=f"text/csv; charset={charset}",
                        headers={**links, "Content-Disposition": 'attachment; filename="assets.csv"'})
    features = [queries.feature(r, r["distance_m"]) for r in page]
    body = AssetCollection(features=features, numberReturned=len(features), numberMatched=matched, next=nxt,
                           links=[Link(nxt, "next")] if nxt else [])
    return Response(body, media_type=GEOJSON, headers=links)


@get("/v1/assets", tags=["search"], summary="Search the asset catalogue", media_type=GEOJSON,
     description="GeoJSON FeatureCollection (or CSV with Accept: text/csv or f=csv). Restricted assets show only "
                 "the centre of their ~1 km mesh and no address to those outside the owner's prefecture.")
async def search_assets(
    request: Request, db: asyncpg.Connection,
    bbox: Annotated[str | None, Parameter(description="minLon,minLat,maxLon,maxLat")] = None,
    near: Annotated[str | None, Parameter(description="lon,lat; sorts by distance")] = None,
    radius: Annotated[float | None, Parameter(description="metres from `near`, 1-50,000")] = None,
    within: Annotated[str | None, Parameter(description="GeoJSON Polygon; POST /v1/assets/search for big ones")
                      ] = None,
    category: Annotated[str | None, Parameter(description="comma-separated categories")] = None,
    availability: Annotated[str | None, Parameter(description="comma-separated availabilities")] = None,
    min_height: Annotated[float | None, Parameter(description="metres")] = None,
    power: Annotated[str | None, Parameter(description="yes, no or unknown")] = None,
    max_fibre_distance: Annotated[float | None, Parameter(description="metres")] = None,
    municipality: Annotated[str | None, Parameter(description="6-digit code")] = None,
    prefecture: Annotated[str | None, Parameter(description="number (13) or code (130001)")] = None,
    updated_since: dt.datetime | None = None,
    after: Annotated[str | None, Parameter(description="cursor from `next`")] = None,
    limit: Annotated[int, Parameter(description="1-1000")] = 100,
    count: Annotated[bool, Parameter(description="include numberMatched")] = False,
    f: Annotated[Format | None, Parameter(description="geojson or csv (else the Accept header decides)")] = None,
    encoding: Annotated[str, Parameter(description="CSV encoding: utf-8 (BOM) or cp932")] = "utf-8",
) -> Response[AssetCollection]:
    flt = build_filter(bbox=bbox, near=near, radius=radius, within=within, category=category,
                       availability=availability, min_height=min_height, power=power,
                       max_fibre_distance=max_fibre_distance, municipality=municipality, prefecture=prefecture,
                       updated_since=updated_since)
    return await _run_search(request, db, flt, after, limit, count, f, encoding)


@post("/v1/assets/search", tags=["search"], summary="Search inside a large polygon", status_code=200,
      media_type=GEOJSON, request_max_body_size=2_000_000)
async def search_assets_within(
    request: Request, db: asyncpg.Connection, data: AssetSearchBody,
    count: bool = False, f: Format | None = None, encoding: str = "utf-8",
) -> Response[AssetCollection]:
    flt = build_filter(within=data.within, category=data.category, availability=data.availability,
                       min_height=data.min_height, power=data.power, max_fibre_distance=data.max_fibre_distance,
                       municipality=data.municipality, prefecture=data.prefecture, updated_since=data.updated_since)
    return await _run_search(request, db, flt, data.after, data.limit, count, f, encoding)


# --- change feed --------------------------------------------------------------------------------------

_START = ("0", 0)


def _parse_change_cursor(after: str | None) -> tuple[str, int]:
    if after is None:
        return _START
    xid, sep, change = after.partition(":")
    if not sep or not xid.isdigit() or not change.isdigit():
        raise invalid_field("after", "is not a change cursor; pass the `cursor` of the previous answer")
    return xid, int(change)


@get("/v1/assets/changes", tags=["search"], summary="Assets created, updated and withdrawn since a cursor")
async def asset_changes(
    request: Request, db: asyncpg.Connection,
    after: Annotated[str | None, Parameter(description="`cursor` from the previous answer; omit for all")] = None,
    municipality: str | None = None, prefecture: str | None = None,
    limit: Annotated[int, Parameter(description="1-1000")] = 500,
) -> ChangePage:
    check_limit(limit, 1000)
    start = _parse_change_cursor(after)
    code = parse_code(municipality, "municipality") if municipality else None
    pref = parse_prefecture_number(prefecture)
    rows = await queries.changes(db, start, code, pref, limit + 1)
    page = rows[:limit]
    items = [
        AssetChange(change=f"{r['xid']}:{r['change_id']}", op=r["op"], asset_id=r["changed_asset"],
                    municipality_code=r["changed_municipality"], version=r["changed_version"], at=r["at"],
                    feature=queries.feature(r) if r["asset_id"] is not None and r["op"] != "withdrawn" else None)
        for r in page
    ]
    cursor = items[-1].change if items else f"{start[0]}:{start[1]}"
    nxt = next_link(request, cursor) if len(rows) > limit else None
    return ChangePage(items, cursor, nxt)


# --- statistics ---------------------------------------------------------------------------------------

@get("/v1/stats/assets", tags=["search"], summary="Counts of published assets")
async def asset_stats(
    db: asyncpg.Connection,
    group_by: Annotated[Literal["prefecture", "municipality", "category", "availability"],
                        Parameter(description="prefecture, municipality, category or availability")] = "prefecture",
    prefecture: Annotated[str | None, Parameter(description="limit to one prefecture")] = None,
) -> AssetStats:
    pref = parse_prefecture_number(prefecture)
    rows = await queries.stats(db, group_by, pref)
    groups = [StatRow(r["key"], r["label"], r["n"]) for r in rows]
    return AssetStats(group_by, sum(g.count for g in groups), groups)


route_handlers = [create_asset, get_asset, update_asset, withdraw_asset, asset_history, list_own_assets, search_assets,
                  search_assets_within, asset_changes, asset_stats, *tiles.route_handlers]
