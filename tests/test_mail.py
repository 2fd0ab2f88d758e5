"""Notification mail to a real SMTP server (aiosmtpd, started here): Japanese subject and body, encoded so that
a standard parser reads them back as written; unsubscribing from a type stops it."""

from __future__ import annotations

import asyncio
import email
import socket
from email import policy

import msgspec
import pytest
from aiosmtpd.controller import Controller

from registry.settings import Settings
from tests.assets_fixture import CHIYODA
from tests.events_fixture import act, apply, client_for, event_settings, make_asset, worker


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_a_refusal_reaches_the_carrier_in_japanese(settings: Settings, make_key, smtp) -> None:
    inbox, port = smtp
    s = msgspec.structs.replace(event_settings(settings), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none",
                                mail_from="noreply@kyodo.example.jp")
    async with client_for(s) as client, worker(s):
        chiyoda = await make_key("municipality", CHIYODA)
        docomo = await make_key("carrier", "docomo")
        r = await client.post("/v1/contacts", json={"email": "siting@docomo.example.jp", "name": "用地担当",
                                                    "unsubscribed": ["application.submitted"]}, headers=docomo)
        assert r.status_code == 201, r.text
        app = await apply(client, docomo, await make_asset(client, chiyoda, "P-1"))
        assert (await act(client, chiyoda, app["application_id"], "refuse", reason="no_space",
                          note="空き容量なし")).status_code == 200
        for _ in range(300):
            if inbox.messages:
                break
            await asyncio.sleep(0.1)
    assert len(inbox.messages) == 1, "one mail: submitted was unsubscribed"
    rcpt, raw = inbox.messages[0]
    assert rcpt == ["siting@docomo.example.jp"]
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # the headers on the wire are ASCII: RFC 2047
    assert "Subject: [Kyodo] =?utf-8?" in head
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == f"[Kyodo] 利用申請が不許可となりました（{app['application_id'][:8]}）"
    assert msg.get_content_charset() == "utf-8" and msg["Content-Transfer-Encoding"] == "base64"
    body = msg.get_content()
    assert "不許可の理由: 設置できる空きがないため" in body
    assert "備考: 空き容量なし" in body and app["application_id"] in body


def test_english_on_request() -> None:
    from registry.mail.templates import render
    subject, body = render("application.refused", {"application_id": "0123456789", "refusal_reason": "interference"},
                           "en")
    assert subject == "[Kyodo] An application was refused (01234567)"
    assert "Reason: interference" in body
