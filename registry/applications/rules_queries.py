"""Deadline rules SQL: fixed text, $n parameters only."""

from __future__ import annotations

import asyncpg

from registry.applications.models import DeadlineRules, DeadlineRulesUpdate


async def get_rules(db: asyncpg.Connection, code: str) -> DeadlineRules:
    """The stored rules, or the defaults at version 0 when the municipality has set none."""
    row = await db.fetchrow(
        """select $1::text as municipality_code, coalesce(r.day_basis, 'calendar') as day_basis,
                  coalesce(r.remind_days, 3) as remind_days, coalesce(r.deemed_approval, false) as deemed_approval,
                  coalesce(r.version, 0) as version
             from (select 1) x left join application_deadline_rules r on r.municipality_code = $1""", code)
    return DeadlineRules(**dict(row))


async def save_rules(db: asyncpg.Connection, code: str, expected: int,
                     data: DeadlineRulesUpdate) -> DeadlineRules | None:
    """Insert (expected 0) or update (expected the stored version); None when `expected` is stale."""
    row = await db.fetchrow(
        """insert into application_deadline_rules as r (municipality_code, day_basis, remind_days, deemed_approval)
           select $1, coalesce($3, 'calendar'), coalesce($4, 3), coalesce($5, false) where $2::bigint = 0
           on conflict (municipality_code) do update
              set day_basis = coalesce($3, r.day_basis), remind_days = coalesce($4, r.remind_days),
                  deemed_approval = coalesce($5, r.deemed_approval), version = r.version + 1, updated_at = now()
            where false
           returning r.municipality_code::text, r.day_basis, r.remind_days, r.deemed_approval, r.version""",
        code, expected, data.day_basis, data.remind_days, data.deemed_approval)
    if row is None and expected > 0:
        row = await db.fetchrow(
            """update application_deadline_rules as r
                  set day_basis = coalesce($3, r.day_basis), remind_days = coalesce($4, r.remind_days),
                      deemed_approval = coalesce($5, r.deemed_approval), version = r.version + 1, updated_at = now()
                where municipality_code = $1 and version = $2::bigint
               returning r.municipality_code::text, r.day_basis, r.remind_days, r.deemed_approval, r.version""",
            code, expected, data.day_basis, data.remind_days, data.deemed_approval)
    return DeadlineRules(**dict(row)) if row else None
