"""Who may issue or revoke which keys (issue 16, delegated onboarding). Pure.

Every tenant manages its own keys; admins everyone's; a prefecture also the municipality keys of its
own municipalities, so that onboarding Tokyo's 62 municipalities needs no admin. Never another
prefecture's municipalities (404: not among those it may see) and never any other role (403). Row
security says the same again (sql/130, api_keys_prefecture_delegated).
"""

from __future__ import annotations

from registry.auth.models import KeyInfo
from registry.codes import CodeError, normalise
from registry.principal import Principal
from registry.problems import Forbidden, NotFound


def _own(p: Principal, role: str, tenant: str) -> bool:
    return role == p.role and tenant == p.tenant_code


def require_may_issue(p: Principal, role: str, tenant: str) -> None:
    """Raise unless the principal may create a key of `role` for `tenant`."""
    if p.role == "admin" or _own(p, role, tenant):
        return
    if p.role != "prefecture" or role != "municipality":
        allowed = "municipality keys of its own municipalities and keys of its own" if p.role == "prefecture" \
            else "keys only for your own tenant"
        raise Forbidden(f"Your {p.role} key may create {allowed} ({p.role} {p.tenant_code}); "
                        f"a {role} key for {tenant} needs an admin.")
    try:
        code = normalise(tenant)
    except CodeError as exc:
        raise NotFound(f"No municipality {tenant!r} among those your key may manage: {exc}") from exc
    if code[:2] != p.prefecture_number:
        raise NotFound(f"No municipality {code} among those your key may manage (prefecture {p.tenant_code}).")


def may_manage(p: Principal, key: KeyInfo) -> bool:
    """Mirror of the api_keys policies: own keys, admins all, a prefecture its municipalities' keys."""
    if p.role == "admin" or _own(p, key.role, key.tenant_code):
        return True
    return p.role == "prefecture" and key.role == "municipality" and key.tenant_code[:2] == p.prefecture_number
