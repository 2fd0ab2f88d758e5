"""Japanese labels of the procurement enumerations (models.BudgetStatus, BaselineSource, need status and the
savings report's levels), for exports."""

from __future__ import annotations

from typing import get_args

from registry.procurement.models import BaselineSource, BudgetStatus

BUDGET: dict[str, str] = {"planned": "予算計上予定", "requested": "予算要求中", "approved": "予算承認済"}
BASELINE: dict[str, str] = {"current_contract": "現行契約", "standalone_quote": "単独見積", "list_price": "定価"}
NEED_STATUS: dict[str, str] = {"active": "有効", "withdrawn": "取下げ"}
LEVEL: dict[str, str] = {"municipality": "市区町村", "tender": "入札", "category": "品目", "prefecture": "都道府県",
                         "total": "合計", "pool": "共同調達の単位", "headline": "削減効果"}
SECTION: dict[str, str] = {"tendered": "入札に付された", "untendered": "入札に付されていない"}
assert set(BUDGET) == set(get_args(BudgetStatus)) and set(BASELINE) == set(get_args(BaselineSource))
