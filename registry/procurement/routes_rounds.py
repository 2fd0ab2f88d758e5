"""Joint procurement routes: demand rounds and the needs municipalities submit to them."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from litestar import Request, Response, get, patch, post, put

from registry import etags
from registry.i18n import tr
from registry.idempotency import respond_once
from registry.pagination import page_of
from registry.principal import Principal
from registry.problems import FieldError, Problem, Unprocessable, invalid_field
from registry.procurement import csvio, queries, rules, service
from registry.procurement.api import (
    ANY_TENANT,
    ORGANISERS,
    SUBMITTERS,
    TAG,
    After,
    IdempotencyKey,
    IfMatch,
    Limit,
    listing,
)
from registry.procurement.models import (
    BulkResult,
    Need,
    NeedCreate,
    NeedPage,
    NeedUpdate,
    NeedVersionPage,
    Round,
    RoundCreate,
    RoundPage,
    RoundUpdate,
)

# ---------------------------------------------------------------- rounds


@post("/v1/procurement/rounds", tags=TAG, summary="Open a demand round (prefectures, admins)", guards=[ORGANISERS])
async def create_round(request: Request, db: asyncpg.Connection, data: RoundCreate,
                       idempotency_key: IdempotencyKey = None) -> Response[Round]:
    principal: Principal = request.user
    prefectures = rules.round_prefectures(principal, data.prefectures)
    rules.check_new_round(data, await queries.get_categories(db, data.category_codes), datetime.now(UTC))

    async def produce() -> Round:
        return await queries.insert_round(
            db, rules.organiser_code(principal), data.title, prefectures, sorted(set(data.category_codes)),
            data.opens_at, data.closes_at, data.withdrawal_deadline, data.min_participants, data.min_quantity)

    return await respond_once(db, request, idempotency_key, data, produce,
                              headers=lambda r: {"ETag": etags.etag(r.version),
                                                 "Location": f"/v1/procurement/rounds/{r.round_id}"})


@get("/v1/procurement/rounds", tags=TAG, summary="Demand rounds your key may see", guards=[ANY_TENANT])
async def list_rounds(request: Request, db: asyncpg.Connection, after: After = None, limit: Limit = 50) -> RoundPage:
    # The cursor is (created_at in microseconds since 1970, round_id): typed, so a crafted one is a 422.
    wanted = listing(request, after, limit, (int, str))
    key = (rules.from_micros(wanted.after[0]), wanted.after[1]) if wanted.after else None
    rows = await queries.list_rounds(db, key, wanted.fetch)
    page = page_of(request, rows, wanted, key=lambda r: [rules.micros(r.created_at), r.round_id])
    return RoundPage(page.items, page.next)


@get("/v1/procurement/rounds/{round_id:str}", tags=TAG, summary="One demand round", guards=[ANY_TENANT])
async def get_round(db: asyncpg.Connection, round_id: str) -> Response[Round]:
    found = await service.visible_round(db, round_id)
    return etags.tagged(found, found.version)


@patch("/v1/procurement/rounds/{round_id:str}", tags=TAG, summary="Change a round's title, window or rules",
       guards=[ORGANISERS])
async def update_round(request: Request, db: asyncpg.Connection, round_id: str, data: RoundUpdate,
                       if_match: IfMatch = None) -> Response[Round]:
    expected = etags.required_version(if_match)
    current = await service.organised_round(db, request.user, round_id)
    saved = await queries.update_round(db, rules.changed_round(current, data), expected)
    if saved is None:
        raise etags.stale(current.version)
    return etags.tagged(saved, saved.version)


# ---------------------------------------------------------------- needs

@post("/v1/procurement/rounds/{round_id:str}/needs", tags=TAG, summary="Submit a need to a round",
      description="Municipality keys; send an Idempotency-Key so that a retry cannot submit it twice.",
      guards=[SUBMITTERS])
async def create_need(request: Request, db: asyncpg.Connection, round_id: str, data: NeedCreate,
                      idempotency_key: IdempotencyKey = None) -> Response[Need]:
    r = await service.visible_round(db, round_id)
    municipality = rules.need_municipality(request.user, data.municipality_code, r)
    rules.require_open(r, "submitted")
    rules.require_valid_need(data, await queries.get_category(db, data.category_code), data.category_code, r)

    async def produce() -> Need:
        return (await queries.insert_needs(db, r.organiser_code, r.round_id,
                                           [(municipality, data.category_code, data)]))[0]

    return await respond_once(db, request, idempotency_key, data, produce,
                              headers=lambda n: {"ETag": etags.etag(n.version),
                                                 "Location": f"/v1/procurement/needs/{n.need_id}"})


@post("/v1/procurement/rounds/{round_id:str}/needs.csv", tags=TAG, summary="Submit many needs from a CSV file",
      description=("Columns: " + ", ".join(csvio.NEED_COLUMNS) + ". requirements are `attr=value|value;attr=value`. "
                   "Every row is checked; if any row is rejected, nothing is stored and every rejected row is "
                   "listed (row 1 is the header)."),
      guards=[SUBMITTERS])
async def upload_needs(request: Request, db: asyncpg.Connection, round_id: str,
                       idempotency_key: IdempotencyKey = None) -> Response[BulkResult]:
    r = await service.visible_round(db, round_id)
    rules.require_open(r, "submitted")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_field("body", tr("the CSV must be UTF-8 (save as 'CSV UTF-8' in Excel)")) from exc
    try:
        rows = csvio.parse_needs(text)
    except csvio.CsvRejected as rejected:
        raise _csv_problem(rejected.rows) from None
    categories = await queries.get_categories(db, {need.category_code for _, need in rows})
    lines = []
    rejected: list[tuple[int, str]] = []
    for number, need in rows:
        try:
            municipality = rules.need_municipality(request.user, need.municipality_code, r)
        except Problem as exc:
            rejected.append((number, exc.detail))
            continue
        problems = rules.check_need(need, categories.get(need.category_code), need.category_code, r)
        if problems:
            rejected.append((number, rules.sentence(problems)))
        else:
            lines.append((municipality, need.category_code, need))
    if rejected:
        raise _csv_problem(rejected)

    async def produce() -> BulkResult:
        created = await queries.insert_needs(db, r.organiser_code, r.round_id, lines)
        return BulkResult(len(created), [n.need_id for n in created])

    return await respond_once(db, request, idempotency_key, {"csv": text}, produce)


def _csv_problem(rows: list[tuple[int, str]]) -> Unprocessable:
    # The detail names at most 20 rows so that it stays readable; `errors` lists every one.
    shown = ", ".join(f"row {n}" for n, _ in rows[:20]) + (" ..." if len(rows) > 20 else "")
    return Unprocessable(tr("{row_count} row(s) rejected ({shown}); nothing was stored. Row 1 is the "
                            "header.", row_count=len(rows), shown=shown),
                         errors=[FieldError(f"row {n}", reason) for n, reason in rows])


@get("/v1/procurement/rounds/{round_id:str}/needs", tags=TAG, summary="Needs of a round your key may see",
     guards=[ANY_TENANT])
async def list_needs(request: Request, db: asyncpg.Connection, round_id: str, after: After = None,
                     limit: Limit = 200) -> NeedPage:
    r = await service.visible_round(db, round_id)
    wanted = listing(request, after, limit, (str, str))
    key = (wanted.after[0], wanted.after[1]) if wanted.after else None
    rows = await queries.list_needs(db, r.organiser_code, r.round_id, key, wanted.fetch)
    page = page_of(request, rows, wanted, key=lambda n: [n.municipality_code, n.need_id])
    return NeedPage(page.items, page.next)


@get("/v1/procurement/needs/{need_id:str}", tags=TAG, summary="One need", guards=[ANY_TENANT])
async def get_need(db: asyncpg.Connection, need_id: str) -> Response[Need]:
    found = await service.visible_need(db, need_id)
    return etags.tagged(found, found.version)


@put("/v1/procurement/needs/{need_id:str}", tags=TAG, summary="Change a need while the window is open",
     guards=[SUBMITTERS])
async def update_need(request: Request, db: asyncpg.Connection, need_id: str, data: NeedUpdate,
                      if_match: IfMatch = None) -> Response[Need]:
    expected = etags.required_version(if_match)
    need, r = await service.own_need(db, request.user, need_id)
    rules.require_open(r, "edited")
    rules.require_active(need.status)
    rules.require_valid_need(data, await queries.get_category(db, need.category_code), need.category_code, r)
    saved = await queries.update_need(db, need.municipality_code, need.need_id, expected, data)
    if saved is None:
        raise etags.stale(need.version)
    return etags.tagged(saved, saved.version)


@post("/v1/procurement/needs/{need_id:str}/withdraw", tags=TAG, summary="Withdraw a need before the deadline",
      description="Send If-Match with the need's ETag. Withdrawing re-prices the rest of the pool.",
      guards=[SUBMITTERS], status_code=200)
async def withdraw_need(request: Request, db: asyncpg.Connection, need_id: str,
                        if_match: IfMatch = None) -> Response[Need]:
    expected = etags.required_version(if_match)
    need, r = await service.own_need(db, request.user, need_id)
    rules.require_withdrawable(r)
    if need.status == "withdrawn":
        return etags.tagged(need, need.version)
    saved = await queries.withdraw_need(db, need.municipality_code, need.need_id, expected)
    if saved is None:
        raise etags.stale(need.version)
    return etags.tagged(saved, saved.version)


@get("/v1/procurement/needs/{need_id:str}/versions", tags=TAG, summary="Every version of a need",
     guards=[ANY_TENANT])
async def need_versions(db: asyncpg.Connection, need_id: str) -> NeedVersionPage:
    found = await service.visible_need(db, need_id)
    return NeedVersionPage(await queries.need_versions(db, found.municipality_code, found.need_id))


route_handlers: list = [create_round, list_rounds, get_round, update_round, create_need, upload_needs, list_needs,
                        get_need, update_need, withdraw_need, need_versions]
