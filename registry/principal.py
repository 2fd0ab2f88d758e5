"""Who is calling: the principal behind an API key."""

from __future__ import annotations

from typing import Literal

import msgspec

Role = Literal["municipality", "prefecture", "carrier", "supplier", "admin"]


class Principal(msgspec.Struct, frozen=True):
    key_id: str
    role: Role
    tenant_code: str
    prefecture_code: str | None
    name: str

    @property
    def prefecture_number(self) -> str | None:
        return self.prefecture_code[:2] if self.prefecture_code else None

    def can_see_municipality(self, code: str) -> bool:
        """Mirror of app.can_see_lg in SQL: the code enforces it, the database enforces it again."""
        if self.role == "admin":
            return True
        if self.role == "municipality":
            return code == self.tenant_code
        if self.role == "prefecture":
            return code[:2] == self.prefecture_number
        return False

    def can_write_municipality(self, code: str) -> bool:
        return self.role == "admin" or (self.role == "municipality" and code == self.tenant_code)
