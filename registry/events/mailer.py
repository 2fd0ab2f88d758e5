"""Sending the mail the outbox fanned out (sql/081), and the daily digest."""

from __future__ import annotations

import aiosmtplib

from registry.events import queries as eq
from registry.events.runtime import Runtime, as_admin
from registry.mail import queries as mq
from registry.mail import sender, templates


async def send_due(rt: Runtime, limit: int = 50) -> int:
    """Send due event mails, each marked sent or rescheduled in the transaction that picked it."""
    sent = 0
    async with rt.pool.acquire() as conn:

        async def batch() -> int:
            n = 0
            for m in await mq.due(conn, limit):
                subject, body = templates.render(m.event_type, m.data, m.language)
                error = None
                try:
                    await sender.send(rt.settings, sender.message(rt.settings, m.email, subject, body, m.name))
                    n += 1
                except (aiosmtplib.SMTPException, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"[:500]
                await mq.mark(conn, m.delivery_id, error)
            return n

        while (n := await as_admin(conn, batch)):
            sent += n
    return sent


async def send_digests(rt: Runtime) -> int:
    """One mail per digest contact with its pending decisions and approaching deadlines (none when nothing is)."""
    sent = 0
    async with rt.pool.acquire() as conn:
        for c in await as_admin(conn, lambda: mq.digest_contacts(conn)):
            lines = await as_admin(conn, lambda c=c: eq.digest_lines(conn, c["role"], c["tenant_code"],
                                                                     c["prefecture_code"]))
            if not lines:
                continue
            subject, body = templates.render_digest([(x.what, x.due, x.status) for x in lines], c["language"])
            error = None
            try:
                await sender.send(rt.settings, sender.message(rt.settings, c["email"], subject, body, c["name"]))
                sent += 1
            except (aiosmtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            await as_admin(conn, lambda c=c, error=error: mq.record_digest(conn, c["contact_id"], c["tenant_code"],
                                                                           error))
    return sent
