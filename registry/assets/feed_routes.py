"""The change feed carriers keep their copies in sync with, and counts of published assets."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from litestar import Request, get
from litestar.params import Parameter

from registry.assets import queries
from registry.assets.models import AssetStats, ChangePage
from registry.i18n import tr
from registry.pagination import next_link, page_request
from registry.params import parse_code, parse_prefecture_number
from registry.problems import invalid_field

_START = ("0", 0)
# xid8 and the change id are 64-bit: a longer number is no cursor of ours (and would fail inside the query).
_MAX_XID, _MAX_CHANGE = 2**64 - 1, 2**63 - 1


def parse_change_cursor(after: str | None) -> tuple[str, int]:
    """The feed's cursor, `xid:change_id`: clients store it as given, so it stays readable rather than opaque."""
    if after is None:
        return _START
    xid, sep, change = after.partition(":")
    if not sep or not xid.isdigit() or not change.isdigit() or int(xid) > _MAX_XID or int(change) > _MAX_CHANGE:
        raise invalid_field("after", tr("is not a change cursor; pass the `cursor` of the previous answer"))
    return xid, int(change)


@get("/v1/assets/changes", tags=["search"], summary="Assets created, updated and withdrawn since a cursor")
async def asset_changes(
    request: Request, db: asyncpg.Connection,
    after: Annotated[str | None, Parameter(description="`cursor` from the previous answer; omit for all")] = None,
    municipality: str | None = None, prefecture: str | None = None,
    limit: Annotated[int, Parameter(description="1-1000")] = 500,
) -> ChangePage:
    wanted = page_request(request, None, limit)
    start = parse_change_cursor(after)
    code = parse_code(municipality, "municipality") if municipality else None
    changes = await queries.changes(db, start, code, parse_prefecture_number(prefecture), wanted.fetch)
    items = changes[:wanted.limit]
    cursor = items[-1].change if items else f"{start[0]}:{start[1]}"
    return ChangePage(items, cursor, next_link(request, cursor) if len(changes) > wanted.limit else None)


@get("/v1/stats/assets", tags=["search"], summary="Counts of published assets")
async def asset_stats(
    db: asyncpg.Connection,
    group_by: Annotated[Literal["prefecture", "municipality", "category", "availability"],
                        Parameter(description="prefecture, municipality, category or availability")] = "prefecture",
    prefecture: Annotated[str | None, Parameter(description="limit to one prefecture")] = None,
) -> AssetStats:
    groups = await queries.stats(db, group_by, parse_prefecture_number(prefecture))
    return AssetStats(group_by, sum(g.count for g in groups), groups)


route_handlers = [asset_changes, asset_stats]
