"""Mail contacts: where each tenant (or one of its keys) gets notifications, in which language, how often."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import asyncpg
from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter

from registry import etags
from registry.i18n import tr
from registry.mail import queries, service
from registry.mail.models import Contact, ContactCreate, ContactPage, ContactUpdate
from registry.pagination import not_a_cursor, page_of, page_request
from registry.params import parse_uuid
from registry.problems import NotFound


def _missing(contact_id: str) -> NotFound:
    return NotFound(tr("No contact {contact_id} among your key's tenant's.", contact_id=contact_id))


@post("/v1/contacts", tags=["mail"], summary="Add an address for notification mail")
async def create_contact(request: Request, db: asyncpg.Connection, data: ContactCreate) -> Response[Contact]:
    service.checked_email(data.email)
    key_id = request.user.key_id if data.this_key else None
    created = await queries.insert(db, request.user, key_id, data.email, data.name, data.language, data.digest,
                                   data.event_types, data.unsubscribed)
    return etags.tagged(created, created.version, status=201,
                        headers={"Location": f"/v1/contacts/{created.contact_id}"})


@get("/v1/contacts", tags=["mail"], summary="Your tenant's notification addresses")
async def list_contacts(request: Request, db: asyncpg.Connection, after: str | None = None,
                        limit: Annotated[int, Parameter(description="page size")] = 100) -> ContactPage:
    wanted = page_request(request, after, limit, 2, types=(str, str))
    since, last = None, None
    if wanted.after:
        try:
            since, last = dt.datetime.fromisoformat(wanted.after[0]), wanted.after[1]
        except ValueError:
            raise not_a_cursor() from None
    rows = await queries.list_mine(db, since, last, wanted.fetch)
    page = page_of(request, rows, wanted, key=lambda c: [c.created_at.isoformat(), c.contact_id])
    return ContactPage(page.items, page.next)


@get("/v1/contacts/{contact_id:str}", tags=["mail"], summary="One notification address")
async def get_contact(db: asyncpg.Connection, contact_id: str) -> Response[Contact]:
    found = await queries.get(db, parse_uuid(contact_id, "contact_id"))
    if found is None:
        raise _missing(contact_id)
    return etags.tagged(found, found.version)


@patch("/v1/contacts/{contact_id:str}", tags=["mail"], summary="Change language, digest or unsubscribed types")
async def update_contact(db: asyncpg.Connection, contact_id: str, data: ContactUpdate,
                         if_match: Annotated[str | None, Parameter(header="If-Match")] = None) -> Response[Contact]:
    cid = parse_uuid(contact_id, "contact_id")
    version = etags.required_version(if_match)
    service.checked_email(data.email)
    saved = await queries.update(db, cid, version, data.email, data.name, data.language, data.digest,
                                 data.event_types, data.unsubscribed)
    if saved is None:
        current = await queries.get(db, cid)
        if current is None:
            raise _missing(contact_id)
        raise etags.stale(current.version)
    return etags.tagged(saved, saved.version)


@delete("/v1/contacts/{contact_id:str}", tags=["mail"], summary="Remove a notification address")
async def delete_contact(db: asyncpg.Connection, contact_id: str) -> None:
    if not await queries.delete(db, parse_uuid(contact_id, "contact_id")):
        raise _missing(contact_id)


route_handlers = [create_contact, list_contacts, get_contact, update_contact, delete_contact]
