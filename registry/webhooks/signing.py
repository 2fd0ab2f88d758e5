"""Standard Webhooks signatures (https://www.standardwebhooks.com), made by the `standardwebhooks` library so
that receivers verify them with the same off-the-shelf code."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from standardwebhooks.webhooks import Webhook


def new_secret() -> str:
    """whsec_ and 32 random bytes in base64: the form every Standard Webhooks library reads."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(message_id: str, at: dt.datetime, body: str, keys: list[str]) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature, signed with each key (two during a rotation)."""
    signatures = " ".join(Webhook(k).sign(message_id, at, body) for k in keys)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json"}
