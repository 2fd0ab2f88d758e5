"""Acting for a tenant: the one rule for whose behalf a write is made.

Admins must name the tenant (a municipality, prefecture or carrier); everyone else acts for their
own tenant, and may repeat it but not name another one.
"""

from __future__ import annotations

from collections.abc import Callable

from registry.i18n import tr
from registry.principal import Principal
from registry.problems import Forbidden, invalid_field


def _as_given(value: str, field: str) -> str:
    return value


def acting_for(principal: Principal, requested: str | None, field: str, *,
               parse: Callable[[str, str], str] = _as_given, what: str = "tenant") -> str:
    """The tenant code a write is for, parsed with `parse` (which raises 422 naming `field`)."""
    if principal.role == "admin":
        if requested is None:
            raise invalid_field(field, tr("admins name the {what} to act for", what=what))
        return parse(requested, field)
    if requested is not None and parse(requested, field) != principal.tenant_code:
        raise Forbidden(tr("Your key acts for {tenant_code} only; leave out {field} or send {tenant_code}.",
                           tenant_code=principal.tenant_code, field=field))
    return principal.tenant_code
