"""Function-level authorisation: which roles may call a route (403 for the others)."""

from __future__ import annotations

from collections.abc import Callable

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from registry.i18n import tr
from registry.principal import Principal, Role
from registry.problems import Forbidden

Guard = Callable[[ASGIConnection, BaseRouteHandler], None]


def requires(*roles: Role) -> Guard:
    allowed = set(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        principal: Principal = connection.user
        if principal.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise Forbidden(tr("This route is for {names} keys; yours is a {role} key.",
                               names=names, role=principal.role))

    guard.roles = frozenset(allowed)  # type: ignore[attr-defined]  # read by the route matrix test
    return guard

