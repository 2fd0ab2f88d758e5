from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from registry.principal import Principal, Role


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    role: Role
    tenant: Annotated[str, msgspec.Meta(
        description="municipality or prefecture code, carrier code, supplier corporate number, or 'admin'")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="who or what uses the key")]


class KeyInfo(msgspec.Struct):
    key_id: str
    role: Role
    tenant_code: str
    prefecture_code: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None


class CreatedKey(msgspec.Struct):
    key: Annotated[str, msgspec.Meta(description="shown once; only its hash is stored")]
    info: KeyInfo


class KeyPage(msgspec.Struct):
    items: list[KeyInfo]
    next: str | None



class SessionInfo(msgspec.Struct):
    """The signed-in principal; with a cookie, the session's expiry and the CSRF token its writes send."""

    principal: Principal
    csrf_token: Annotated[str | None, msgspec.Meta(
        description="send as X-CSRF-Token on every write made with the session cookie")] = None
    expires_at: datetime | None = None
