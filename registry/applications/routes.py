"""Usage applications: carriers apply, owner municipalities decide within their deadline."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
from litestar import Request, Response, get, post
from litestar.params import Parameter

from registry.applications import queries, states
from registry.applications.models import Application, ApplicationAction, ApplicationCreate, ApplicationPage
from registry.auth.guards import requires
from registry.idempotency import respond_once
from registry.pagination import check_limit, decode_cursor, encode_cursor, next_link
from registry.params import parse_uuid
from registry.principal import Principal
from registry.problems import Conflict, Forbidden, NotFound, invalid_field


def _carrier(principal: Principal, requested: str | None) -> str:
    if principal.role == "admin":
        if requested is None:
            raise invalid_field("carrier_code", "admins name the carrier the application is for")
        return requested
    if requested is not None and requested != principal.tenant_code:
        raise Forbidden(f"Your key files applications for {principal.tenant_code} only.")
    return principal.tenant_code


@post("/v1/applications", tags=["applications"], summary="Apply to use one or more assets",
      guards=[requires("carrier", "admin")])
async def file_application(
    request: Request, db: asyncpg.Connection, data: ApplicationCreate,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key")] = None,
) -> Response[Application]:
    carrier = _carrier(request.user, data.carrier_code)
    asset_ids = sorted({parse_uuid(a, "asset_ids") for a in data.asset_ids})
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise invalid_field("ends_on", "is before starts_on")

    async def produce() -> Application:
        visible = {r["asset_id"]: r["municipality_code"] for r in await db.fetch(queries.VISIBLE_ASSETS, asset_ids)}
        missing = [a for a in asset_ids if a not in visible]
        if missing:
            raise invalid_field("asset_ids", f"no published asset {missing[0]} among those your key may see")
        owners = sorted(set(visible.values()))
        if len(owners) > 1:
            raise invalid_field("asset_ids", f"the assets belong to {', '.join(owners)}; each municipality "
                                             "decides on its own assets, so file one application per municipality")
        owner = owners[0]
        application_id = await db.fetchval(queries.INSERT, owner, carrier, data.purpose, data.starts_on,
                                           data.ends_on)
        await db.execute(queries.INSERT_ASSETS, owner, application_id, asset_ids)
        await db.execute(queries.EVENT, owner, application_id, "submit", None, "submitted", None, None)
        loaded = await queries.load(db, application_id)
        assert loaded is not None
        return loaded

    return await respond_once(db, request, idempotency_key, data, produce,
                              headers=lambda a: {"Location": f"/v1/applications/{a.application_id}"})


@get("/v1/applications", tags=["applications"], summary="Applications your key may see",
     description="Carriers see their own; municipalities those on their assets; prefectures those in their "
                 "prefecture. `overdue=true` lists open applications past their decision date.")
async def list_applications(
    request: Request, db: asyncpg.Connection,
    status: states.Status | None = None,
    overdue: Annotated[bool, Parameter(description="only open applications past their decision date")] = False,
    after: str | None = None, limit: Annotated[int, Parameter(description="1-500")] = 100,
) -> ApplicationPage:
    check_limit(limit, 500)
    cursor = decode_cursor(after, 2)
    since, last = (dt.datetime.fromisoformat(cursor[0]), cursor[1]) if cursor else (None, None)
    rows = await db.fetch(queries.LIST, status, overdue, since, last, limit + 1)
    items = [queries.application(r) for r in rows[:limit]]
    nxt = None
    if len(rows) > limit:
        nxt = next_link(request, encode_cursor([items[-1].submitted_at.isoformat(), items[-1].application_id]))
    return ApplicationPage(items, nxt)


@get("/v1/applications/{application_id:str}", tags=["applications"], summary="One application with its history")
async def get_application(db: asyncpg.Connection, application_id: str) -> Application:
    found = await queries.load(db, parse_uuid(application_id, "application_id"))
    if found is None:
        raise NotFound(f"No application {application_id} among those your key may see.")
    return found


@post("/v1/applications/{application_id:str}/actions", tags=["applications"], status_code=200,
      summary="Move an application: request_information, respond, approve, refuse, withdraw, report_installed, "
              "terminate",
      guards=[requires("municipality", "carrier", "admin")])
async def act_on_application(request: Request, db: asyncpg.Connection, application_id: str,
                             data: ApplicationAction) -> Application:
    application_id = parse_uuid(application_id, "application_id")
    principal: Principal = request.user
    row = await db.fetchrow(queries.LOCK, application_id)
    if row is None:
        raise NotFound(f"No application {application_id} among those your key may see.")
    if principal.role == "carrier":
        party: states.Party = "carrier"
    elif principal.can_write_municipality(row["municipality_code"]):
        party = "owner"
    else:  # a prefecture reads its municipalities' applications but does not decide them
        raise Forbidden("Only the owner municipality and the applying carrier act on an application.")
    try:
        target = states.next_status(row["status"], data.action, party, data.reason)
    except states.TransitionError as exc:
        raise (Forbidden(str(exc)) if exc.forbidden else Conflict(str(exc))) from exc

    asset_ids = (await db.fetchval("select array_agg(asset_id::text) from application_assets "
                                   "where application_id = $1::uuid", application_id)) or []
    change = states.slot_change(row["status"], target)
    if change > 0:
        taken = await db.fetch(queries.TAKE_SLOTS, row["municipality_code"], asset_ids)
        if len(taken) != len(asset_ids):
            full = [r for r in await db.fetch(queries.SLOT_STATE, row["municipality_code"], asset_ids)
                    if r["asset_id"] not in {t["asset_id"] for t in taken}]
            detail = ", ".join(f"{r['asset_id']} ({r['current_tenants']} of {r['max_tenants']} slots taken, "
                               f"{r['status']})" for r in full)
            raise Conflict(f"Cannot approve: no free tenancy slot on {detail}. Refuse with reason no_space, or "
                           "free a slot first.")
    elif change < 0:
        await db.execute(queries.RELEASE_SLOTS, row["municipality_code"], asset_ids)

    restart_clock = data.action == "respond"
    await db.execute(queries.MOVE, application_id, target, data.reason, data.note, restart_clock)
    await db.execute(queries.EVENT, row["municipality_code"], application_id, data.action, row["status"], target,
                     data.reason, data.note)
    loaded = await queries.load(db, application_id)
    assert loaded is not None
    return loaded


route_handlers = [file_application, list_applications, get_application, act_on_application]
