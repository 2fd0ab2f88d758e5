"""API keys: `kyd_<tenant>_<secret>`. Only the SHA-256 of the whole key is stored.

The tenant in the key lets the lookup go to the tenant's rows directly (and, under Citus, to
one shard); the 192-bit secret makes a slow hash unnecessary.
"""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "kyd"
_KEY = re.compile(r"^kyd_(?P<tenant>[a-z0-9][a-z0-9-]{1,31}|admin|[0-9]{6})_(?P<secret>[0-9a-f]{48})$")


def new_key(tenant_code: str) -> tuple[str, bytes]:
    key = f"{PREFIX}_{tenant_code}_{secrets.token_hex(24)}"
    return key, digest(key)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse(key: str) -> tuple[str, bytes] | None:
    """(tenant code, hash) for a well-formed key, None for anything else."""
    match = _KEY.match(key.strip())
    if not match:
        return None
    return match.group("tenant"), digest(match.group(0))
