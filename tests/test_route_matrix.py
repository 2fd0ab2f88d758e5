"""Every route, every role: 401 without a key, 403 for a role the route is not for, and never a 5xx.

The route list comes from the app itself, so a new route is covered the day it is added.
"""

import re
import uuid

import pytest
from litestar.testing import AsyncTestClient

from registry.app import route_handlers
from tests.conftest import assert_problem

# The supplier is the National Tax Agency's own corporate number (法人番号), a real and valid one.
ROLES = {"municipality": "131016", "prefecture": "270008", "carrier": "docomo", "supplier": "7000012050002",
         "admin": "admin"}
# Open to anyone: the probes and the web map's landing page and map page (registry/web.py); /map sends a
# visitor without a live session to / rather than answering 401 (tests/test_web_sessions.py).
OPEN = {"/healthz", "/readyz", "/", "/map"}


def _routes() -> list[tuple[str, str, frozenset[str] | None]]:
    found = []
    for handler in route_handlers():
        roles = None
        for guard in handler.guards or []:
            roles = getattr(guard, "roles", roles)
        for path in handler.paths:
            for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                found.append((method, path, roles))
    return sorted(found)


def _concrete(path: str) -> str:
    """Path parameters filled with values that exist nowhere the caller may see."""
    def value(match: re.Match) -> str:
        name, kind = match.group(1), match.group(2)
        if kind == ":int":
            return "0"
        if name == "code" and "/municipalities/" in path:
            return "472018"  # Naha: outside every test key's reach but for admin
        if name == "carrier_code":
            return "nobody"
        if name == "code":
            return "no-such-category"
        return str(uuid.uuid4())
    return re.sub(r"\{(\w+)(:\w+)?\}", value, path)


ROUTES = _routes()


def test_every_v1_route_is_in_the_matrix() -> None:
    v1 = [r for r in ROUTES if r[1].startswith("/v1")]
    assert len(v1) >= 50


@pytest.mark.parametrize(("method", "path", "roles"), [r for r in ROUTES if r[1] not in OPEN],
                         ids=lambda v: v if isinstance(v, str) else None)
async def test_route_rules(client: AsyncTestClient, make_key, method: str, path: str,
                           roles: frozenset[str] | None) -> None:
    url = _concrete(path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    assert_problem(await client.request(method, url, json=body), 401)
    for role, tenant in ROLES.items():
        headers = {**(await make_key(role, tenant)), "If-Match": '"1"'}
        r = await client.request(method, url, json=body, headers=headers)
        assert r.status_code < 500, f"{role} {method} {url}: {r.text}"
        if roles is not None and role not in roles:
            assert_problem(r, 403)
        elif r.status_code >= 400:
            assert_problem(r, r.status_code)
            if method == "GET" and "{" in path and role != "admin":
                # Somebody else's (or nobody's) object: not found, never forbidden, never revealed.
                assert r.status_code in (404, 422), f"{role} {method} {url}: {r.status_code}"
