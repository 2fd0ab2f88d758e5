"""The daily digest to a real SMTP server (aiosmtpd): a digest contact gets one mail a day listing what its
tenant must act on, with the same decision dates the API shows, and no mail per event."""

from __future__ import annotations

import email
from email import policy

import msgspec

from registry.events import mailer
from registry.events.runtime import close_runtime, open_runtime
from registry.settings import Settings
from tests.assets_fixture import CHIYODA, SHINJUKU
from tests.events_fixture import apply, client_for, event_settings, make_asset
from tests.test_mail import smtp  # noqa: F401  (the SMTP server fixture)


async def test_a_digest_contact_gets_one_mail_a_day_with_its_own_pending_decisions(settings: Settings, make_key,
                                                                                   smtp) -> None:  # noqa: F811
    inbox, port = smtp
    s = msgspec.structs.replace(event_settings(settings), smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none",
                                mail_from="noreply@kyodo.example.jp")
    async with client_for(s) as client:
        chiyoda = await make_key("municipality", CHIYODA)
        shinjuku = await make_key("municipality", SHINJUKU)
        docomo = await make_key("carrier", "docomo")
        r = await client.post("/v1/contacts", json={"email": "joho@city.chiyoda.example.lg.jp", "name": "情報政策課",
                                                    "digest": True}, headers=chiyoda)
        assert r.status_code == 201, r.text
        mine = [await apply(client, docomo, await make_asset(client, chiyoda, f"D-{i}")) for i in range(2)]
        theirs = await apply(client, docomo, await make_asset(client, shinjuku, "D-9"))
        due = {a["application_id"]: (await client.get(f"/v1/applications/{a['application_id']}",
                                                        headers=chiyoda)).json()["decision_due"] for a in mine}
    rt = await open_runtime(s)
    try:
        assert await mailer.send_due(rt) == 0, "a digest contact gets no mail per event"
        assert await mailer.send_digests(rt) == 1
        assert await mailer.send_digests(rt) == 0, "one digest a day, however often the job runs"
    finally:
        await close_runtime(rt)
    assert len(inbox.messages) == 1
    rcpt, raw = inbox.messages[0]
    assert rcpt == ["joho@city.chiyoda.example.lg.jp"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "[Kyodo] 本日の未処理案件と期限（2件）"
    body = msg.get_content()
    for application_id, decision_due in due.items():
        line = next(x for x in body.splitlines() if application_id[:8] in x)
        assert f"({CHIYODA}, docomo)" in line and f"期限 {decision_due}" in line and "(submitted)" in line
    assert theirs["application_id"][:8] not in body, "Shinjuku's application is not Chiyoda's business"
