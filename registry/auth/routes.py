"""Key management over HTTP: each tenant manages its own keys; admins everyone's."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, delete, get, patch, post
from litestar.params import Parameter

from registry.auth import delegation, queries
from registry.auth.models import CreatedKey, KeyChange, KeyCreate, KeyInfo, KeyPage
from registry.i18n import tr
from registry.pagination import page_of, page_request
from registry.params import parse_uuid
from registry.principal import Principal
from registry.problems import NotFound


@get("/v1/me", tags=["keys"], summary="The principal behind the key you sent")
async def me(request: Request) -> Principal:
    return request.user


@get("/v1/keys", tags=["keys"],
     summary="Your tenant's API keys (prefectures: theirs and their municipalities'; admins: all)")
async def list_keys(
    request: Request, db: asyncpg.Connection,
    tenant: Annotated[str | None, Parameter(description="admins: only this tenant's keys")] = None,
    after: str | None = None,
    limit: Annotated[int, Parameter(description="page size, at most KYODO_PAGE_LIMIT (1,000 unless set)")] = 100,
) -> KeyPage:
    wanted = page_request(request, after, limit, types=(str,))
    last = parse_uuid(wanted.after[0], "after") if wanted.after else None
    page = page_of(request, await queries.list_keys(db, tenant, last, wanted.fetch), wanted,
                   key=lambda k: [k.key_id])
    return KeyPage(page.items, page.next)


@post("/v1/keys", tags=["keys"], summary="Create an API key; the key is shown once")
async def create_key(request: Request, db: asyncpg.Connection, data: KeyCreate) -> CreatedKey:
    delegation.require_may_issue(request.user, data.role, data.tenant)
    return await queries.create_key(db, data.role, data.tenant, data.name, data.lang)


@delete("/v1/keys/{key_id:str}", tags=["keys"], summary="Revoke an API key", status_code=200)
async def revoke_key(request: Request, db: asyncpg.Connection, key_id: str) -> KeyInfo:
    revoked = await queries.revoke_key(db, parse_uuid(key_id, "key_id"))
    if not delegation.may_manage(request.user, revoked):  # row security agreed; the code checks it again
        raise NotFound(tr("No key {key_id} among those your key may manage.", key_id=key_id))
    request.app.state.key_cache.forget(revoked.key_id)  # this worker at once; the others by sql/210's notice
    return revoked


@patch("/v1/keys/{key_id:str}", tags=["keys"],
       summary="Set the language of a key's problem messages (used when a request sends no Accept-Language)")
async def change_key(request: Request, db: asyncpg.Connection, key_id: str, data: KeyChange) -> KeyInfo:
    changed = await queries.set_key_language(db, parse_uuid(key_id, "key_id"), data.lang)
    if not delegation.may_manage(request.user, changed):  # row security agreed; the code checks it again
        raise NotFound(tr("No key {key_id} among those your key may manage.", key_id=key_id))
    request.app.state.key_cache.forget(changed.key_id)
    return changed


route_handlers = [me, list_keys, create_key, change_key, revoke_key]
