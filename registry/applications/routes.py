"""Usage applications: carriers apply, owner municipalities decide within their deadline."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get, post
from litestar.params import Parameter

from registry.applications import export_routes, queries, service, states
from registry.applications.models import Application, ApplicationAction, ApplicationCreate, ApplicationPage
from registry.auth.guards import requires
from registry.idempotency import respond_once
from registry.pagination import page_of, page_request
from registry.params import parse_uuid
from registry.tenancy import acting_for


@post("/v1/applications", tags=["applications"], summary="Apply to use one or more assets",
      guards=[requires("carrier", "admin")])
async def file_application(
    request: Request, db: asyncpg.Connection, data: ApplicationCreate,
    idempotency_key: Annotated[str | None, Parameter(header="Idempotency-Key")] = None,
) -> Response[Application]:
    carrier = acting_for(request.user, data.carrier_code, "carrier_code", what="carrier")
    asset_ids = service.checked_assets(data)
    return await respond_once(db, request, idempotency_key, data,
                              lambda: service.file(db, carrier, data, asset_ids),
                              headers=lambda a: {"Location": f"/v1/applications/{a.application_id}"})


@get("/v1/applications", tags=["applications"], summary="Applications your key may see",
     description="Carriers see their own; municipalities those on their assets; prefectures those in their "
                 "prefecture. `overdue=true` lists submitted applications past their decision date (the clock "
                 "stops while information is requested).")
async def list_applications(
    request: Request, db: asyncpg.Connection,
    status: states.Status | None = None,
    overdue: Annotated[bool, Parameter(description="only open applications past their decision date")] = False,
    after: str | None = None,
    limit: Annotated[int, Parameter(description="page size, at most KYODO_PAGE_LIMIT (1,000 unless set)")] = 100,
) -> ApplicationPage:
    wanted = page_request(request, after, limit, 2, types=(str, str))
    rows = await queries.list_applications(db, status, overdue, service.list_after(wanted.after), wanted.fetch)
    page = page_of(request, rows, wanted, key=service.list_key)
    return ApplicationPage(page.items, page.next)


@get("/v1/applications/{application_id:str}", tags=["applications"], summary="One application with its history")
async def get_application(db: asyncpg.Connection, application_id: str) -> Application:
    return await service.visible(db, parse_uuid(application_id, "application_id"))


@post("/v1/applications/{application_id:str}/actions", tags=["applications"], status_code=200,
      summary="Move an application: request_information, respond, approve, refuse, withdraw, report_installed, "
              "terminate",
      guards=[requires("municipality", "carrier", "admin")])
async def act_on_application(request: Request, db: asyncpg.Connection, application_id: str,
                             data: ApplicationAction) -> Application:
    return await service.act(db, request.user, parse_uuid(application_id, "application_id"), data)


route_handlers = [file_application, list_applications, get_application, act_on_application,
                  *export_routes.route_handlers]
