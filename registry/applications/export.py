"""Usage applications as one CSV or XLSX (GET /v1/applications/export): the list the caller may see, whole.

Row security and the list's own query decide what the caller sees, exactly as GET /v1/applications; the
rows are read a page of `CHUNK` at a time through that list's keyset, so memory holds one page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from registry.applications import labels, queries, service
from registry.applications.models import Application
from registry.exports.table import Column
from registry.exports.writers import Rows

CHUNK = 1000
COLUMNS: list[Column] = [
    Column("application_id", "申請ID", "code", 38), Column("municipality_code", "全国地方公共団体コード", "code", 12),
    Column("carrier_code", "事業者コード", "code", 12), Column("asset_ids", "資産ID", "text", 40),
    Column("purpose", "用途", width=30), Column("starts_on", "開始日", "date", 12),
    Column("ends_on", "終了日", "date", 12), Column("status", "状態", labels=labels.STATUS, width=10),
    Column("refusal_reason", "不承認の理由", labels=labels.REFUSAL, width=16),
    Column("decision_note", "判断の記録", width=30), Column("submitted_at", "申請日時", "datetime", 26),
    Column("decision_due", "回答期限", "date", 12), Column("overdue", "期限超過", "bool", 8),
    Column("decided_at", "判断日時", "datetime", 26), Column("information_due", "情報提出期限", "date", 12),
    Column("clock_days_left", "残り日数", "int", 8), Column("deemed", "みなし承認", "bool", 8),
    Column("version", "版", "int", 6),
]


def cells(a: Application) -> tuple[object, ...]:
    return (a.application_id, a.municipality_code, a.carrier_code, a.asset_ids, a.purpose, a.starts_on, a.ends_on,
            a.status, a.refusal_reason, a.decision_note, a.submitted_at, a.decision_due, a.overdue, a.decided_at,
            a.information_due, a.clock_days_left, a.deemed, a.version)


async def chunks(db: asyncpg.Connection, status: str | None, overdue: bool) -> AsyncIterator[Rows]:
    after = None
    while True:
        page = await queries.list_applications(db, status, overdue, after, CHUNK)
        if page:
            yield [cells(a) for a in page]
        if len(page) < CHUNK:
            return
        after = service.list_after(service.list_key(page[-1]))
