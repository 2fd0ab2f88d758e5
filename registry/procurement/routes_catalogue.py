"""Joint procurement routes: the catalogue of item categories and their price curves."""

from __future__ import annotations

import asyncpg
from litestar import Request, Response, get, post, put

from registry import etags
from registry.auth.guards import requires
from registry.i18n import tr
from registry.idempotency import respond_once
from registry.problems import Conflict, NotFound
from registry.procurement import queries, rules
from registry.procurement.api import TAG, IdempotencyKey, IfMatch
from registry.procurement.models import Category, CategoryCreate, CategoryPage, CategoryUpdate


@get("/v1/procurement/categories", tags=TAG, summary="Item categories with their price curves")
async def list_categories(db: asyncpg.Connection) -> CategoryPage:
    return CategoryPage(await queries.list_categories(db))


async def _category(db: asyncpg.Connection, code: str) -> Category:
    found = await queries.get_category(db, code)
    if found is None:
        raise NotFound(tr("No item category {code}.", code=f"{code!r}"))
    return found


@get("/v1/procurement/categories/{code:str}", tags=TAG, summary="One item category")
async def get_category(db: asyncpg.Connection, code: str) -> Response[Category]:
    found = await _category(db, code)
    return etags.tagged(found, found.version)


@post("/v1/procurement/categories", tags=TAG, summary="Add an item category (admins)", guards=[requires("admin")])
async def create_category(request: Request, db: asyncpg.Connection, data: CategoryCreate,
                          idempotency_key: IdempotencyKey = None) -> Response[Category]:
    curve = rules.checked_curve(data.price_tiers, "price_tiers")

    async def produce() -> Category:
        if await queries.get_category(db, data.category_code):
            raise Conflict(tr("An item category {category_code} already exists; PUT it to change it.",
                              category_code=f"{data.category_code!r}"))
        return await queries.insert_category(db, Category(
            data.category_code, data.name, data.name_en, data.unit_code, data.unit_name, data.list_price_yen,
            data.spec_attributes, curve, data.process_cost_yen, 1))

    return await respond_once(db, request, idempotency_key, data, produce,
                              headers=lambda c: {"ETag": etags.etag(c.version)})


@put("/v1/procurement/categories/{code:str}", tags=TAG, summary="Change an item category or its price curve",
     guards=[requires("admin")])
async def update_category(db: asyncpg.Connection, code: str, data: CategoryUpdate,
                          if_match: IfMatch = None) -> Response[Category]:
    expected = etags.required_version(if_match)
    current = await _category(db, code)
    curve = rules.checked_curve(data.price_tiers, "price_tiers")
    saved = await queries.update_category(db, Category(
        code, data.name, data.name_en, current.unit_code, data.unit_name, data.list_price_yen,
        data.spec_attributes, curve, data.process_cost_yen, current.version), expected)
    if saved is None:
        raise etags.stale(current.version)
    return etags.tagged(saved, saved.version)


route_handlers: list = [list_categories, get_category, create_category, update_category]
