"""A municipality's deadline rules (issue 15): how its periods count, when reminders go, and whether silence
past the decision date is a deemed approval."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from litestar import Request, Response, get, put
from litestar.params import Parameter

from registry import etags
from registry.applications import rules_queries as queries
from registry.applications.models import DeadlineRules, DeadlineRulesUpdate
from registry.auth.guards import requires
from registry.i18n import tr
from registry.params import parse_code
from registry.problems import Forbidden, NotFound


@get("/v1/municipalities/{code:str}/deadline-rules", tags=["applications"],
     summary="How the municipality's application deadlines count and act",
     guards=[requires("municipality", "prefecture", "admin")])
async def get_deadline_rules(request: Request, db: asyncpg.Connection, code: str) -> Response[DeadlineRules]:
    code = parse_code(code)
    if not request.user.can_see_municipality(code):
        raise NotFound(tr("No municipality {code} among those your key may see.", code=code))
    found = await queries.get_rules(db, code)
    return etags.tagged(found, found.version)


@put("/v1/municipalities/{code:str}/deadline-rules", tags=["applications"],
     summary="Set day basis (calendar or Japanese working days), reminder lead and deemed approval",
     description="Send the ETag you read as If-Match (\"0\" before the first change).",
     guards=[requires("municipality", "admin")])
async def put_deadline_rules(request: Request, db: asyncpg.Connection, code: str, data: DeadlineRulesUpdate,
                             if_match: Annotated[str | None, Parameter(header="If-Match")] = None,
                             ) -> Response[DeadlineRules]:
    code = parse_code(code)
    if not request.user.can_write_municipality(code):
        if request.user.can_see_municipality(code):
            raise Forbidden(tr("Only the municipality itself sets its deadline rules."))
        raise NotFound(tr("No municipality {code} among those your key may see.", code=code))
    expected = etags.required_version(if_match)
    saved = await queries.save_rules(db, code, expected, data)
    if saved is None:
        raise etags.stale((await queries.get_rules(db, code)).version)
    return etags.tagged(saved, saved.version)


route_handlers = [get_deadline_rules, put_deadline_rules]
