"""The `load.finished` event: written by the loader in the load's own transaction (sql/087)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

# The report's first issues travel in the event; the whole list is in the load's CSV report. 20 lines keep a
# webhook payload of a 100,000-row file with thousands of warnings under ~5 KB.
ISSUES_IN_EVENT = 20


async def load_finished(db: asyncpg.Connection, municipalities: list[str], report: dict[str, Any]) -> int:
    """One event per municipality the load wrote to; returns how many were written."""
    return await db.fetchval("select app.load_finished($1::text[], $2::jsonb)", sorted(set(municipalities)),
                             json.dumps(report, ensure_ascii=False, default=str))
