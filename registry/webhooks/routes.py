"""Webhooks: each tenant's subscriptions, their signing secrets, and the log of what was delivered."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from litestar import Request, Response, delete, get, patch, post
from litestar.params import Parameter

from registry import etags
from registry.i18n import tr
from registry.pagination import page_of, page_request
from registry.params import parse_uuid
from registry.problems import NotFound
from registry.webhooks import queries, service
from registry.webhooks.models import (
    DeliveryPage,
    Redelivered,
    Redelivery,
    Subscription,
    SubscriptionCreate,
    SubscriptionPage,
    SubscriptionUpdate,
)
from registry.webhooks.signing import new_secret

# After a rotation the old secret also signs for a day, so receivers can switch without losing a delivery.
ROTATION_GRACE_HOURS = 24


def _missing(subscription_id: str) -> NotFound:
    return NotFound(tr("No webhook subscription {subscription_id} among your key's tenant's.",
                       subscription_id=subscription_id))


@post("/v1/webhooks", tags=["webhooks"], summary="Subscribe a URL to events",
      description="Deliveries are signed by the Standard Webhooks scheme with the `secret` shown once here.")
async def create_webhook(request: Request, db: asyncpg.Connection, data: SubscriptionCreate) -> Response[Subscription]:
    service.checked_types(data.event_types)
    service.checked_bbox(data.bbox)
    await service.checked_target(data.url, request.app.state.settings.webhook_allow_networks)
    created = await queries.insert(db, request.user, data.url, data.event_types, data.prefectures, data.bbox,
                                   data.description, new_secret())
    return etags.tagged(created, created.version, status=201,
                        headers={"Location": f"/v1/webhooks/{created.subscription_id}"})


@get("/v1/webhooks", tags=["webhooks"], summary="Your tenant's webhook subscriptions")
async def list_webhooks(request: Request, db: asyncpg.Connection, after: str | None = None,
                        limit: Annotated[int, Parameter(description="page size")] = 100) -> SubscriptionPage:
    wanted = page_request(request, after, limit, 2, types=(str, str))
    since, last = service.list_after(wanted.after)
    rows = await queries.list_mine(db, since, last, wanted.fetch)
    page = page_of(request, rows, wanted, key=service.list_key)
    return SubscriptionPage(page.items, page.next)


@get("/v1/webhooks/{subscription_id:str}", tags=["webhooks"], summary="One webhook subscription")
async def get_webhook(db: asyncpg.Connection, subscription_id: str) -> Response[Subscription]:
    found = await queries.get(db, parse_uuid(subscription_id, "subscription_id"))
    if found is None:
        raise _missing(subscription_id)
    return etags.tagged(found, found.version)


@patch("/v1/webhooks/{subscription_id:str}", tags=["webhooks"], summary="Change, pause or resume a subscription",
       description="`paused: true` keeps deliveries pending; `paused: false` resumes (and clears a failing flag).")
async def update_webhook(
    request: Request, db: asyncpg.Connection, subscription_id: str, data: SubscriptionUpdate,
    if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
) -> Response[Subscription]:
    sid = parse_uuid(subscription_id, "subscription_id")
    version = etags.required_version(if_match)
    service.checked_types(data.event_types)
    service.checked_bbox(data.bbox)
    await service.checked_target(data.url, request.app.state.settings.webhook_allow_networks)
    saved = await queries.update(db, sid, version, data.url, data.event_types, data.prefectures, data.bbox,
                                 data.description, data.paused)
    if saved is None:
        current = await queries.get(db, sid)
        if current is None:
            raise _missing(subscription_id)
        raise etags.stale(current.version)
    return etags.tagged(saved, saved.version)


@delete("/v1/webhooks/{subscription_id:str}", tags=["webhooks"], summary="Unsubscribe (its delivery log goes too)")
async def delete_webhook(db: asyncpg.Connection, subscription_id: str) -> None:
    if not await queries.delete(db, parse_uuid(subscription_id, "subscription_id")):
        raise _missing(subscription_id)


@post("/v1/webhooks/{subscription_id:str}/rotate-secret", tags=["webhooks"], status_code=200,
      summary="A new signing secret, shown once; the old one also signs for 24 hours")
async def rotate_webhook_secret(db: asyncpg.Connection, subscription_id: str) -> Response[Subscription]:
    saved = await queries.rotate(db, parse_uuid(subscription_id, "subscription_id"), new_secret(),
                                 ROTATION_GRACE_HOURS)
    if saved is None:
        raise _missing(subscription_id)
    return etags.tagged(saved, saved.version)


@get("/v1/webhooks/{subscription_id:str}/deliveries", tags=["webhooks"], summary="The delivery log, newest first")
async def list_deliveries(request: Request, db: asyncpg.Connection, subscription_id: str,
                          status: Literal["pending", "delivered", "failed"] | None = None,
                          after: str | None = None,
                          limit: Annotated[int, Parameter(description="page size")] = 100) -> DeliveryPage:
    sid = parse_uuid(subscription_id, "subscription_id")
    if await queries.get(db, sid) is None:
        raise _missing(subscription_id)
    wanted = page_request(request, after, limit, 1, types=(int,))
    rows = await queries.deliveries(db, sid, status, wanted.first(), wanted.fetch)
    page = page_of(request, rows, wanted, key=lambda d: [d.delivery_id])
    return DeliveryPage(page.items, page.next)


@post("/v1/webhooks/{subscription_id:str}/redeliver", tags=["webhooks"], status_code=200,
      summary="Send failed deliveries again (all of them, or those named)")
async def redeliver(db: asyncpg.Connection, subscription_id: str, data: Redelivery) -> Redelivered:
    sid = parse_uuid(subscription_id, "subscription_id")
    if await queries.get(db, sid) is None:
        raise _missing(subscription_id)
    return Redelivered(await queries.redeliver(db, sid, data.delivery_ids))


route_handlers = [create_webhook, list_webhooks, get_webhook, update_webhook, delete_webhook, rotate_webhook_secret,
                  list_deliveries, redeliver]
