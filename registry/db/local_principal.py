"""The principal of an open transaction, set with SET LOCAL.

Apart from registry.db.pool, which also sets it for a connection's session and hands connections to requests: the
command line and the loaders set it only this way, and importing the pool brought in the web framework, 0.19 s of a
load's 0.9-1.3 s of imports (bench/README.md)."""

from __future__ import annotations

import asyncpg

from registry.principal import Principal

# Literal SET LOCALs (app.set_local_principal, sql/175), the one form a Citus coordinator passes on to its workers;
# it costs the same round trip as set_config(..., true) did.
_SET_PRINCIPAL_LOCAL = "select app.set_local_principal($1, $2, $3, $4)"


def principal_settings(principal: Principal | None) -> tuple[str, str | None, str | None, str | None]:
    """Role, tenant, prefecture and key id, as the database's principal settings take them (`none`: no principal)."""
    if principal is None:
        return ("none", None, None, None)
    return (principal.role, principal.tenant_code, principal.prefecture_code, principal.key_id)


async def set_local_principal(conn: asyncpg.Connection, principal: Principal | None) -> None:
    """The principal for the rest of the connection's open transaction."""
    await conn.execute(_SET_PRINCIPAL_LOCAL, *principal_settings(principal))
