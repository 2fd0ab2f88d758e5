"""A round's needs and its savings report as one CSV or XLSX, for the clerks who pool them in Excel.

Needs are read a page of `CHUNK` at a time through the needs list's own keyset (row security decides what
the caller sees, as GET .../needs); the savings rows are the report's own (GET .../savings), already
computed whole, handed out in chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

import asyncpg

from registry.exports.table import Column
from registry.exports.writers import Rows
from registry.procurement import labels, queries, views
from registry.procurement.models import Need

CHUNK = 1000
NEED_COLUMNS: list[Column] = [
    Column("need_id", "需要ID", "code", 38), Column("municipality_code", "全国地方公共団体コード", "code", 12),
    Column("organiser_code", "取りまとめ団体コード", "code", 12), Column("round_id", "調査ID", "code", 38),
    Column("category_code", "品目コード", "code", 14), Column("quantity", "数量", "int", 8),
    Column("quantity_max", "最大数量", "int", 8), Column("requirements", "要件", width=30),
    Column("baseline_unit_price_yen", "基準単価(円)", "int", 12),
    Column("baseline_source", "基準単価の根拠", labels=labels.BASELINE, width=12),
    Column("max_unit_price_yen", "上限単価(円)", "int", 12),
    Column("budget_status", "予算の状況", labels=labels.BUDGET, width=12),
    Column("delivery_date", "納期", "date", 12), Column("contact_name", "担当者", width=14),
    Column("contact_email", "連絡先メール", width=24), Column("status", "状態", labels=labels.NEED_STATUS, width=8),
    Column("version", "版", "int", 6), Column("created_at", "登録日時", "datetime", 26),
    Column("updated_at", "更新日時", "datetime", 26), Column("withdrawn_at", "取下げ日時", "datetime", 26),
]
_FIGURES_JA = {"price_savings": "価格削減額", "pooling_uplift": "共同化効果", "realised_savings": "実現削減額",
               "pooling_uplift_awarded": "落札価格での共同化効果", "process_savings": "事務削減額"}
_SAVINGS_JA = {
    "level": "集計単位", "key": "キー", "section": "区分", "category_code": "品目コード", "unit_code": "単位コード",
    "pool": "共同調達の単位", "tender_id": "入札ID", "tender_status": "入札の状態", "lot_id": "ロット",
    "municipality_code": "全国地方公共団体コード", "prefecture": "都道府県", "participants": "参加団体数",
    "participants_included": "算入団体数", "quantity": "数量", "pooled_quantity": "合算数量",
    "pooled_unit_price_yen": "カタログ共同調達単価(円)", "alone_unit_price_yen": "カタログ単独調達単価(円)",
    "awarded_unit_price_yen": "落札単価(円)",
    **{k: v for name, ja in _FIGURES_JA.items()
       for k, v in ((f"{name}_yen", f"{ja}(円)"), (f"{name}_basis", f"{ja}の根拠"),
                    (f"{name}_method", f"{ja}の算定方法"))},
    "headline_yen": "削減効果(円)", "headline_method": "削減効果の算定方法",
    "method_version": "算定方法の版", "baseline_source": "基準単価の根拠", "price_basis": "価格の根拠",
}
_CODES = {"key", "category_code", "unit_code", "pool", "tender_id", "lot_id", "municipality_code", "prefecture"}
_LABELLED = {"level": labels.LEVEL, "section": labels.SECTION, "baseline_source": labels.BASELINE}
SAVINGS_COLUMNS: list[Column] = [
    Column(k, _SAVINGS_JA[k], "code" if k in _CODES else "int" if k.endswith(("_yen", "participants",
                                                                                "participants_included",
                                                                                "quantity")) else "text",
           38 if k in ("key", "tender_id") else 14, _LABELLED.get(k))
    for k in views.SAVINGS_COLUMNS
]
assert [c.key for c in SAVINGS_COLUMNS] == list(views.SAVINGS_COLUMNS)


def need_cells(n: Need) -> tuple[object, ...]:
    requirements = "; ".join(f"{k}={'|'.join(v)}" for k, v in n.requirements.items())  # as the bulk CSV reads it
    return (n.need_id, n.municipality_code, n.organiser_code, n.round_id, n.category_code, n.quantity, n.quantity_max,
            requirements, n.baseline_unit_price_yen, n.baseline_source, n.max_unit_price_yen, n.budget_status,
            n.delivery_date, n.contact_name, n.contact_email, n.status, n.version, n.created_at, n.updated_at,
            n.withdrawn_at)


async def need_chunks(db: asyncpg.Connection, organiser: str, round_id: str) -> AsyncIterator[Rows]:
    after: tuple[str, str] | None = None
    while True:
        page = await queries.list_needs(db, organiser, round_id, after, CHUNK)
        if page:
            yield [need_cells(n) for n in page]
        if len(page) < CHUNK:
            return
        after = (page[-1].municipality_code, page[-1].need_id)


async def savings_chunks(table: Sequence[Mapping[str, object]]) -> AsyncIterator[Rows]:
    """The cells of views.savings_table (headline, tendered section, untendered section), in chunks."""
    for start in range(0, len(table), CHUNK):
        yield [tuple(f.get(k) for k in views.SAVINGS_COLUMNS) for f in table[start:start + CHUNK]]
