from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from registry.principal import Principal, Role

# The languages problems are written in (registry/i18n.py); a key's `lang` is used when a request sends no
# Accept-Language the server offers.
Lang = Literal["en", "ja"]
_LANG = "language of problem messages when a request sends no Accept-Language: en or ja (null: English)"


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    role: Role
    tenant: Annotated[str, msgspec.Meta(
        description="municipality or prefecture code, carrier code, supplier corporate number, or 'admin'")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="who or what uses the key")]
    lang: Annotated[Lang | None, msgspec.Meta(description=_LANG)] = None


class KeyChange(msgspec.Struct, forbid_unknown_fields=True):
    """What a key's holder (or an admin) may change on a key: the language of its problems."""

    lang: Annotated[Lang | None, msgspec.Meta(description=_LANG)]


class KeyInfo(msgspec.Struct):
    key_id: str
    role: Role
    tenant_code: str
    prefecture_code: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None
    lang: Lang | None = None


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
