"""Webhook delivery for one subscription: signed POSTs, the oldest pending event of each subject at a time.

The worker holds the subscription by a lease (worker_lease_s) rather than by an open transaction, so a long
delivery never holds back the asset change feed (which waits for older transactions), and a worker killed in
the middle of a delivery lets go when the lease ends: the delivery is still pending and is sent again (the
receiver drops the repeat by its webhook-id).
"""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from registry.events.runtime import Runtime, as_admin
from registry.webhooks import queries as q
from registry.webhooks.guard import TargetRefused, check_target
from registry.webhooks.models import Pending, Target
from registry.webhooks.signing import signed_headers

BATCH = 64
GIVE_UP_HOURS = 24.0


async def _post(http: httpx.AsyncClient, target: Target, p: Pending) -> tuple[int | None, str | None]:
    """(HTTP status, error); error None means delivered."""
    now = dt.datetime.now(dt.UTC)
    body = p.data.decode()
    headers = signed_headers(q.message_id(p.event_id), now, body, target.keys)
    try:
        r = await http.post(target.url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    if 200 <= r.status_code < 300:
        return r.status_code, None
    return r.status_code, f"HTTP {r.status_code}"


async def deliver(rt: Runtime, subscription_id: str) -> int:
    """Deliver what is due for the subscription; the number of deliveries made."""
    lease = rt.settings.worker_lease_s
    sent = 0
    async with rt.pool.acquire() as conn:
        for _ in range(3):  # once more if something arrived while we let go of the lease
            target = await as_admin(conn, lambda: q.take_lease(conn, subscription_id, lease))
            if target is None:
                return sent
            try:
                sent += await _drain(rt, conn, target)
            finally:
                await as_admin(conn, lambda: q.release_lease(conn, subscription_id))
            if not await as_admin(conn, lambda: q.next_batch(conn, subscription_id, 1)):
                return sent
    return sent


async def _drain(rt: Runtime, conn, target: Target) -> int:
    sent = 0
    while True:
        batch = await as_admin(conn, lambda: q.next_batch(conn, target.subscription_id, BATCH))
        if not batch:
            return sent
        try:
            await check_target(target.url, rt.settings.webhook_allow_networks)
            results = await asyncio.gather(*(_post(rt.http, target, p) for p in batch))
        except TargetRefused as exc:
            results = [(None, f"refused: {exc}")] * len(batch)
        ok = [(p.delivery_id, code) for p, (code, err) in zip(batch, results, strict=True) if err is None]
        bad = [(p.delivery_id, code, err) for p, (code, err) in zip(batch, results, strict=True) if err is not None]

        async def record(ok: list = ok, bad: list = bad) -> None:
            if ok:
                await q.delivered(conn, [i for i, _ in ok], [c or 0 for _, c in ok])
            if bad:
                await q.failed(conn, target.subscription_id, [i for i, _, _ in bad], [c for _, c, _ in bad],
                               [e for _, _, e in bad], rt.settings.webhook_retry_base_s, GIVE_UP_HOURS)
            await q.renew_lease(conn, target.subscription_id, rt.settings.worker_lease_s)

        await as_admin(conn, record)
        sent += len(ok)
        if bad and not ok:
            return sent  # the receiver is down: the sweep comes back when the next attempt is due
