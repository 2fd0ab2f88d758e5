"""SQL of supplier organisations: fixed text, $n parameters; row security decides what each caller sees."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from registry.suppliers.models import Supplier, SupplierCreate

_SUPPLIER = "corporate_number, name, name_en, contact_email, created_at"


async def insert_supplier(db: asyncpg.Connection, s: SupplierCreate) -> Supplier | None:
    """The new supplier, or None when one with that corporate number exists already."""
    row = await db.fetchrow(
        f"""insert into suppliers (corporate_number, name, name_en, contact_email) values ($1, $2, $3, $4)
            on conflict (corporate_number) do nothing returning {_SUPPLIER}""",
        s.corporate_number, s.name, s.name_en, s.contact_email)
    return Supplier(*row) if row else None


async def get_supplier(db: asyncpg.Connection, corporate_number: str) -> Supplier | None:
    row = await db.fetchrow(f"select {_SUPPLIER} from suppliers where corporate_number = $1", corporate_number)
    return Supplier(*row) if row else None


async def list_suppliers(db: asyncpg.Connection) -> list[Supplier]:
    return [Supplier(*r) for r in await db.fetch(f"select {_SUPPLIER} from suppliers order by corporate_number")]


async def supplier_names(db: asyncpg.Connection, numbers: Sequence[str]) -> dict[str, str]:
    rows = await db.fetch("select corporate_number, name from suppliers where corporate_number = any($1::text[])",
                          list(numbers))
    return {r[0]: r[1] for r in rows}
