"""Browser sessions for the web map (sql/057_web_sessions.sql): a cookie in place of the key.

The page sends the API key once, as `Authorization: Bearer`, to POST /v1/session and gets back a cookie
`kyodo_session=kys_<tenant>_<64 hex>`: HttpOnly (no script reads it), SameSite=Strict (no other site's
page sends it), Secure when served over https. Only the token's SHA-256 is stored, as for keys.

Writes made with the cookie need a CSRF token as well (`X-CSRF-Token`): SameSite=Strict already keeps
the cookie off cross-site requests in current browsers; the token covers older ones and same-site
subdomains. It is derived from the session token (SHA-256 of a fixed label and the token), so nothing
more is stored, and a page elsewhere cannot compute it without the HttpOnly cookie. A write whose
`Origin` header names another origin is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE = "kyodo_session"
CSRF_HEADER = "x-csrf-token"
_TOKEN = re.compile(r"^kys_(?P<tenant>[a-z0-9][a-z0-9-]{1,31}|admin|[0-9]{6})_(?P<secret>[0-9a-f]{64})$")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_token(tenant_code: str) -> tuple[str, bytes]:
    token = f"kys_{tenant_code}_{secrets.token_hex(32)}"
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse(token: str) -> tuple[str, bytes] | None:
    """(tenant code, hash) for a well-formed session token, None for anything else."""
    match = _TOKEN.match(token.strip())
    if not match:
        return None
    return match.group("tenant"), digest(match.group(0))


def csrf_token(token: str) -> str:
    return hashlib.sha256(b"kyodo-csrf:" + token.encode()).hexdigest()


def csrf_matches(token: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(csrf_token(token), sent)
