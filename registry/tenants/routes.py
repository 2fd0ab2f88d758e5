"""Prefectures, municipalities, their settings, and carrier organisations."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get, post, put
from litestar.params import Parameter

from registry import etags
from registry.auth.guards import requires
from registry.i18n import tr
from registry.pagination import page_of, page_request
from registry.params import parse_code, parse_prefecture
from registry.principal import Principal
from registry.problems import Conflict, NotFound
from registry.tenants import queries
from registry.tenants.models import (
    Carrier,
    CarrierCreate,
    CarrierPage,
    Municipality,
    MunicipalityPage,
    MunicipalitySettings,
    MunicipalitySettingsUpdate,
    PrefecturePage,
    parse_carrier_code,
)


@get("/v1/prefectures", tags=["reference"], summary="The 47 prefectures")
async def prefectures(db: asyncpg.Connection) -> PrefecturePage:
    return PrefecturePage(await queries.list_prefectures(db))


@get("/v1/municipalities", tags=["reference"], summary="Municipalities, filtered by prefecture")
async def municipalities(
    request: Request,
    db: asyncpg.Connection,
    prefecture: Annotated[str | None, Parameter(description="prefecture number (13) or code (130001)")] = None,
    include_wards: Annotated[bool, Parameter(description="also list the wards of designated cities")] = False,
    after: Annotated[str | None, Parameter(description="cursor from the previous page's `next`")] = None,
    limit: Annotated[int, Parameter(description="page size, up to the server's reference limit (2,000: all "
                                                "1,741 municipalities fit one page)")] = 500,
    count: Annotated[bool, Parameter(description="include the total number of matches")] = False,
) -> MunicipalityPage:
    pref = parse_prefecture(prefecture)
    wanted = page_request(request, after, limit, types=(str,),
                          maximum=request.app.state.settings.reference_limit_max)
    rows = await queries.list_municipalities(db, pref, include_wards, wanted.first(), wanted.fetch)
    page = page_of(request, rows, wanted, key=lambda m: [m.code])
    total = await queries.count_municipalities(db, pref, include_wards) if count else None
    return MunicipalityPage(page.items, page.next, total)


@get("/v1/municipalities/{code:str}", tags=["reference"], summary="One municipality by its 6-digit code")
async def municipality(db: asyncpg.Connection, code: str) -> Municipality:
    code = parse_code(code)
    found = await queries.get_municipality(db, code)
    if found is None:
        raise NotFound(tr("No municipality has code {code}.", code=code))
    return found


async def _visible_municipality(db: asyncpg.Connection, principal: Principal, code: str) -> str:
    code = parse_code(code)
    if not principal.can_see_municipality(code) or await queries.municipality_kind(db, code) != "municipality":
        raise NotFound(tr("No municipality {code} among those your key may see.", code=code))
    return code


@get("/v1/municipalities/{code:str}/settings", tags=["tenants"], summary="A municipality's settings",
     guards=[requires("municipality", "prefecture", "admin")])
async def get_settings(request: Request, db: asyncpg.Connection, code: str) -> Response[MunicipalitySettings]:
    code = await _visible_municipality(db, request.user, code)
    found = await queries.get_settings(db, code)
    return etags.tagged(found, found.version)


@put("/v1/municipalities/{code:str}/settings", tags=["tenants"], summary="Change a municipality's settings",
     description="Send the ETag you read as If-Match (\"0\" before the first change).",
     guards=[requires("municipality", "admin")])
async def put_settings(request: Request, db: asyncpg.Connection, code: str, data: MunicipalitySettingsUpdate,
                       if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
                       ) -> Response[MunicipalitySettings]:
    code = await _visible_municipality(db, request.user, code)
    expected = etags.required_version(if_match)
    saved = await queries.upsert_settings(db, code, expected, data.decision_days, data.information_days,
                                          data.contact_name, data.contact_email)
    if saved is None:
        raise etags.stale((await queries.get_settings(db, code)).version)
    return etags.tagged(saved, saved.version)


@get("/v1/carriers", tags=["tenants"], summary="Carrier organisations")
async def carriers(db: asyncpg.Connection) -> CarrierPage:
    return CarrierPage(await queries.list_carriers(db))


@get("/v1/carriers/{carrier_code:str}", tags=["tenants"], summary="One carrier organisation")
async def carrier(db: asyncpg.Connection, carrier_code: str) -> Carrier:
    found = await queries.get_carrier(db, parse_carrier_code(carrier_code, "carrier_code"))
    if found is None:
        raise NotFound(tr("No carrier has code {carrier_code}.", carrier_code=f"{carrier_code!r}"))
    return found


@post("/v1/carriers", tags=["tenants"], summary="Register a carrier organisation (admins)",
      guards=[requires("admin")])
async def create_carrier(db: asyncpg.Connection, data: CarrierCreate) -> Carrier:
    if await queries.get_carrier(db, data.carrier_code):
        raise Conflict(tr("A carrier with code {carrier_code} already exists.",
                          carrier_code=f"{data.carrier_code!r}"))
    return await queries.insert_carrier(db, Carrier(data.carrier_code, data.name, data.name_en, data.contact_email))


route_handlers = [prefectures, municipalities, municipality, get_settings, put_settings, carriers, carrier,
                  create_carrier]
