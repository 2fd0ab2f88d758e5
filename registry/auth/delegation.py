"""Who may issue or revoke which keys (issue 16, delegated onboarding). Pure.

Every tenant manages its own keys; admins everyone's; a prefecture also the municipality keys of its
own municipalities, so that onboarding Tokyo's 62 municipalities needs no admin. Never another
prefecture's municipalities (404: not among those it may see) and never any other role (403). Row
security says the same again (sql/130, api_keys_prefecture_delegated).
"""

from __future__ import annotations

from registry.auth.models import KeyInfo
from registry.codes import CodeError, normalise
from registry.i18n import message_of, tr
from registry.principal import Principal
from registry.problems import Forbidden, NotFound


def _own(p: Principal, role: str, tenant: str) -> bool:
    return role == p.role and tenant == p.tenant_code


def require_may_issue(p: Principal, role: str, tenant: str) -> None:
    """Raise unless the principal may create a key of `role` for `tenant`."""
    if p.role == "admin" or _own(p, role, tenant):
        return
    if p.role != "prefecture" or role != "municipality":
        if p.role == "prefecture":
            raise Forbidden(tr("Your {own_role} key may create municipality keys of its own municipalities and "
                               "keys of its own ({own_role} {own_tenant}); a {role} key for {tenant} needs an "
                               "admin.", own_role=p.role, own_tenant=p.tenant_code, role=role, tenant=tenant))
        raise Forbidden(tr("Your {own_role} key may create keys only for your own tenant ({own_role} {own_tenant}); "
                           "a {role} key for {tenant} needs an admin.",
                           own_role=p.role, own_tenant=p.tenant_code, role=role, tenant=tenant))
    try:
        code = normalise(tenant)
    except CodeError as exc:
        raise NotFound(tr("No municipality {tenant} among those your key may manage: {error}",
                          tenant=f"{tenant!r}", error=message_of(exc))) from exc
    if code[:2] != p.prefecture_number:
        raise NotFound(tr("No municipality {code} among those your key may manage (prefecture {prefecture}).",
                          code=code, prefecture=p.tenant_code))


def may_manage(p: Principal, key: KeyInfo) -> bool:
    """Mirror of the api_keys policies: own keys, admins all, a prefecture its municipalities' keys."""
    if p.role == "admin" or _own(p, key.role, key.tenant_code):
        return True
    return p.role == "prefecture" and key.role == "municipality" and key.tenant_code[:2] == p.prefecture_number
