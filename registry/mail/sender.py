"""SMTP with aiosmtplib: server, port, TLS and credentials from settings (KYODO_SMTP_*)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from registry.settings import Settings


def message(settings: Settings, to: str, subject: str, body: str, name: str | None = None) -> EmailMessage:
    """A UTF-8 message: the Japanese subject RFC 2047-encoded, the body base64, so no relay mangles it."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = formataddr((name, to)) if name else to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1])
    msg.set_content(body, charset="utf-8", cte="base64")
    return msg


async def send(settings: Settings, msg: EmailMessage) -> None:
    """Raise aiosmtplib.SMTPException or OSError when the server does not take it."""
    if settings.smtp_host is None:
        raise OSError("no mail server is configured (KYODO_SMTP_HOST)")
    await aiosmtplib.send(
        msg, hostname=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_user,
        password=settings.smtp_password, use_tls=settings.smtp_tls == "tls",
        start_tls=None if settings.smtp_tls == "starttls" else False, timeout=30)
