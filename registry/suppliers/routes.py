"""Supplier organisations: registered by an admin under their corporate number; keys as for any tenant."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get, post
from litestar.params import Parameter

from registry.auth.guards import requires
from registry.i18n import tr
from registry.idempotency import HEADER as IDEMPOTENCY_HEADER
from registry.idempotency import respond_once
from registry.problems import Conflict, NotFound, invalid_field
from registry.suppliers import corporate_number, queries
from registry.suppliers.models import Supplier, SupplierCreate, SupplierPage

TAG = ["suppliers"]
IdempotencyKey = Annotated[str | None, Parameter(header=IDEMPOTENCY_HEADER, description="a fresh UUID per request")]


@post("/v1/suppliers", tags=TAG, guards=[requires("admin")],
      summary="Register a supplier organisation by its corporate number (admins)")
async def create_supplier(request: Request, db: asyncpg.Connection, data: SupplierCreate,
                          idempotency_key: IdempotencyKey = None) -> Response[Supplier]:
    why = corporate_number.problem(data.corporate_number)
    if why:
        raise invalid_field("corporate_number", why)

    async def produce() -> Supplier:
        saved = await queries.insert_supplier(db, data)
        if saved is None:
            raise Conflict(tr("A supplier with corporate number {corporate_number} is registered already.",
                              corporate_number=data.corporate_number))
        return saved

    return await respond_once(db, request, idempotency_key, data, produce)


@get("/v1/suppliers", tags=TAG, guards=[requires("prefecture", "admin")],
     summary="Registered supplier organisations (organisers and admins)")
async def list_suppliers(db: asyncpg.Connection) -> SupplierPage:
    return SupplierPage(await queries.list_suppliers(db))


@get("/v1/suppliers/{corporate_number:str}", tags=TAG, guards=[requires("prefecture", "supplier", "admin")],
     summary="One supplier organisation (a supplier key: its own)")
async def get_supplier(request: Request, db: asyncpg.Connection, corporate_number: str) -> Supplier:
    found = None
    if request.user.role != "supplier" or request.user.tenant_code == corporate_number:
        found = await queries.get_supplier(db, corporate_number)
    if found is None:
        raise NotFound(tr("No supplier {corporate_number} among those your key may see.",
                          corporate_number=corporate_number))
    return found


route_handlers: list = [create_supplier, list_suppliers, get_supplier]
