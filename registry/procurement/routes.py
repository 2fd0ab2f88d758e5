"""Joint procurement: catalogue, demand rounds, needs, pooling, shared tenders, savings, OCDS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, patch, post, put
from litestar.params import Parameter

from registry import etags
from registry.auth.guards import requires
from registry.codes import CodeError, prefecture_number
from registry.idempotency import HEADER as IDEMPOTENCY_HEADER
from registry.idempotency import respond_once
from registry.pagination import check_limit, decode_cursor, encode_cursor, next_link
from registry.principal import Principal
from registry.problems import Conflict, FieldError, NotFound, Problem, Unprocessable, invalid_field
from registry.procurement import csvio, ocds, queries, service
from registry.procurement.models import (
    Aggregate,
    AwardCreate,
    BulkResult,
    Category,
    CategoryAggregate,
    CategoryCreate,
    CategoryPage,
    CategoryUpdate,
    ContractPage,
    FormResult,
    Need,
    NeedCreate,
    NeedPage,
    NeedUpdate,
    NeedVersionPage,
    PoolSummary,
    PriceTier,
    Round,
    RoundCreate,
    RoundPage,
    RoundUpdate,
    SavingsReport,
    StatusChange,
    Tender,
    TenderForm,
    TenderPage,
)
from registry.procurement.pricing import Tier, next_breakpoint, price_at
from registry.procurement.savings import (
    METHOD_VERSION,
    PRICE_METHOD,
    PROCESS_METHOD,
    REALISED_METHOD,
    UPLIFT_METHOD,
    WhatIf,
    report,
    what_if,
)
from registry.procurement.states import transition_error

TAG = ["procurement"]
IdempotencyKey = Annotated[str | None, Parameter(header=IDEMPOTENCY_HEADER, description="a fresh UUID per request")]
IfMatch = Annotated[str | None, Parameter(header="If-Match")]
ANY_TENANT = requires("municipality", "prefecture", "admin")
ORGANISERS = requires("prefecture", "admin")


def _wants_csv(request: Request, fmt: str | None) -> bool:
    return fmt == "csv" or "text/csv" in (request.headers.get("accept") or "")


def _etagged(body: Any, version: int, status: int = 200) -> Response:
    return Response(body, status_code=status, headers={"ETag": etags.etag(version)})


# ---------------------------------------------------------------- catalogue

@get("/v1/procurement/categories", tags=TAG, summary="Item categories with their price curves")
async def list_categories(db: asyncpg.Connection) -> CategoryPage:
    return CategoryPage(await queries.list_categories(db))


@get("/v1/procurement/categories/{code:str}", tags=TAG, summary="One item category")
async def get_category(db: asyncpg.Connection, code: str) -> Response[Category]:
    found = await queries.get_category(db, code)
    if found is None:
        raise NotFound(f"No item category {code!r}.")
    return _etagged(found, found.version)


@post("/v1/procurement/categories", tags=TAG, summary="Add an item category (admins)", guards=[requires("admin")])
async def create_category(request: Request, db: asyncpg.Connection, data: CategoryCreate,
                          idempotency_key: IdempotencyKey = None) -> Response[Category]:
    curve = service.checked_curve(data.price_tiers, "price_tiers")

    async def produce() -> Category:
        if await queries.get_category(db, data.category_code):
            raise Conflict(f"An item category {data.category_code!r} already exists; PUT it to change it.")
        return await queries.insert_category(db, Category(
            data.category_code, data.name, data.name_en, data.unit_code, data.unit_name, data.list_price_yen,
            data.spec_attributes, _as_models(curve), data.process_cost_yen, 1))

    return await respond_once(db, request, idempotency_key, data, produce,
                              headers=lambda c: {"ETag": etags.etag(c.version)})


def _as_models(checked: list[Tier]) -> list[PriceTier]:
    return [PriceTier(t.min_quantity, t.unit_price_yen) for t in checked]


@put("/v1/procurement/categories/{code:str}", tags=TAG, summary="Change an item category or its price curve",
     guards=[requires("admin")])
async def update_category(db: asyncpg.Connection, code: str, data: CategoryUpdate,
                          if_match: IfMatch = None) -> Response[Category]:
    expected = etags.required_version(if_match)
    current = await queries.get_category(db, code)
    if current is None:
        raise NotFound(f"No item category {code!r}.")
    curve = _as_models(service.checked_curve(data.price_tiers, "price_tiers"))
    saved = await queries.update_category(db, Category(
        code, data.name, data.name_en, current.unit_code, data.unit_name, data.list_price_yen,
        data.spec_attributes, curve, data.process_cost_yen, current.version), expected)
    if saved is None:
        raise etags.stale(current.version)
    return _etagged(saved, saved.version)


# ---------------------------------------------------------------- rounds

def _prefecture_numbers(values: list[str]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(prefecture_number(value))
        except CodeError as exc:
            raise invalid_field("prefectures", str(exc)) from exc
    return sorted(set(out))


def _check_deadlines(opens_at: datetime, closes_at: datetime, withdrawal: datetime) -> None:
    if not opens_at < closes_at:
        raise invalid_field("closes_at", f"must be after opens_at ({opens_at.isoformat()})")
    if not closes_at <= withdrawal:
        raise invalid_field("withdrawal_deadline", f"must not be before closes_at ({closes_at.isoformat()})")


@post("/v1/procurement/rounds", tags=TAG, summary="Open a demand round (prefectures, admins)", guards=[ORGANISERS])
async def create_round(request: Request, db: asyncpg.Connection, data: RoundCreate,
                       idempotency_key: IdempotencyKey = None) -> Response[Round]:
    principal: Principal = request.user
    for name in ("closes_at", "withdrawal_deadline", "opens_at"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            raise invalid_field(name, "needs a time zone, e.g. 2026-03-31T17:00:00+09:00")
    if data.prefectures is None:
        if principal.role != "prefecture":
            raise invalid_field("prefectures", "admins say which prefectures' municipalities may take part")
        prefectures = [principal.prefecture_number or ""]
    else:
        prefectures = _prefecture_numbers(data.prefectures)
    categories = await queries.get_categories(db, data.category_codes)
    unknown = sorted(set(data.category_codes) - set(categories))
    if unknown:
        raise invalid_field("category_codes", f"unknown item categories {unknown}")
    _check_deadlines(data.opens_at or datetime.now(UTC), data.closes_at, data.withdrawal_deadline)

    async def produce() -> Round:
        return await queries.insert_round(
            db, service.organiser_code(principal), data.title, prefectures, sorted(set(data.category_codes)),
            data.opens_at, data.closes_at, data.withdrawal_deadline, data.min_participants, data.min_quantity)

    return await respond_once(db, request, idempotency_key, data, produce,
                              headers=lambda r: {"ETag": etags.etag(r.version),
                                                 "Location": f"/v1/procurement/rounds/{r.round_id}"})


@get("/v1/procurement/rounds", tags=TAG, summary="Demand rounds your key may see", guards=[ANY_TENANT])
async def list_rounds(request: Request, db: asyncpg.Connection, after: str | None = None,
                      limit: Annotated[int, Parameter(description="page size, 1-200")] = 50) -> RoundPage:
    check_limit(limit, 200)
    cursor = decode_cursor(after, 2)
    rows = await queries.list_rounds(db, cursor, limit + 1)
    items = rows[:limit]
    more = len(rows) > limit
    nxt = next_link(request, encode_cursor([items[-1].created_at.isoformat(), items[-1].round_id]) if more else None)
    return RoundPage(items, nxt)


@get("/v1/procurement/rounds/{round_id:str}", tags=TAG, summary="One demand round", guards=[ANY_TENANT])
async def get_round(db: asyncpg.Connection, round_id: str) -> Response[Round]:
    found = await service.visible_round(db, round_id)
    return _etagged(found, found.version)


@patch("/v1/procurement/rounds/{round_id:str}", tags=TAG, summary="Change a round's title, window or rules",
       guards=[ORGANISERS])
async def update_round(request: Request, db: asyncpg.Connection, round_id: str, data: RoundUpdate,
                       if_match: IfMatch = None) -> Response[Round]:
    expected = etags.required_version(if_match)
    current = await service.organised_round(db, request.user, round_id)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    for name in ("opens_at", "closes_at", "withdrawal_deadline"):
        if name in changes and changes[name].tzinfo is None:
            raise invalid_field(name, "needs a time zone, e.g. 2026-03-31T17:00:00+09:00")
    wanted = msgspec.structs.replace(current, **changes)
    _check_deadlines(wanted.opens_at, wanted.closes_at, wanted.withdrawal_deadline)
    saved = await queries.update_round(db, wanted, expected)
    if saved is None:
        raise etags.stale(current.version)
    return _etagged(saved, saved.version)


# ---------------------------------------------------------------- needs

@post("/v1/procurement/rounds/{round_id:str}/needs", tags=TAG, summary="Submit a need to a round",
      description="Municipality keys; send an Idempotency-Key so that a retry cannot submit it twice.",
      guards=[requires("municipality", "admin")])
async def create_need(request: Request, db: asyncpg.Connection, round_id: str, data: NeedCreate,
                      idempotency_key: IdempotencyKey = None) -> Response[Need]:
    r = await service.visible_round(db, round_id)
    municipality = service.need_municipality(request.user, data.municipality_code, r)
    service.require_open(r, "submitted")
    category = await queries.get_category(db, data.category_code)
    problems = service.check_need(data, category, data.category_code, r)
    if problems:
        raise Unprocessable("; ".join(problems), errors=[FieldError(*p.split(": ", 1)) for p in problems])

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
      guards=[requires("municipality", "admin")])
async def upload_needs(request: Request, db: asyncpg.Connection, round_id: str,
                       idempotency_key: IdempotencyKey = None) -> Response[BulkResult]:
    r = await service.visible_round(db, round_id)
    service.require_open(r, "submitted")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_field("body", "the CSV must be UTF-8 (save as 'CSV UTF-8' in Excel)") from exc
    try:
        rows = csvio.parse_needs(text)
    except csvio.CsvRejected as rejected:
        raise _csv_problem(rejected.rows) from None
    categories = await queries.get_categories(db, {need.category_code for _, need in rows})
    lines = []
    rejected: list[tuple[int, str]] = []
    for number, need in rows:
        try:
            municipality = service.need_municipality(request.user, need.municipality_code, r)
        except Problem as exc:
            rejected.append((number, exc.detail))
            continue
        problems = service.check_need(need, categories.get(need.category_code), need.category_code, r)
        if problems:
            rejected.append((number, "; ".join(problems)))
        else:
            lines.append((municipality, need.category_code, need))
    if rejected:
        raise _csv_problem(rejected)

    async def produce() -> BulkResult:
        created = await queries.insert_needs(db, r.organiser_code, r.round_id, lines)
        return BulkResult(len(created), [n.need_id for n in created])

    return await respond_once(db, request, idempotency_key, {"csv": text}, produce)


def _csv_problem(rows: list[tuple[int, str]]) -> Unprocessable:
    shown = ", ".join(f"row {n}" for n, _ in rows[:20]) + (" ..." if len(rows) > 20 else "")
    return Unprocessable(f"{len(rows)} row(s) rejected ({shown}); nothing was stored. Row 1 is the header.",
                         errors=[FieldError(f"row {n}", reason) for n, reason in rows])


@get("/v1/procurement/rounds/{round_id:str}/needs", tags=TAG, summary="Needs of a round your key may see",
     guards=[ANY_TENANT])
async def list_needs(request: Request, db: asyncpg.Connection, round_id: str, after: str | None = None,
                     limit: Annotated[int, Parameter(description="page size, 1-1000")] = 200) -> NeedPage:
    r = await service.visible_round(db, round_id)
    check_limit(limit, 1000)
    cursor = decode_cursor(after, 2)
    rows = await queries.list_needs(db, r.organiser_code, r.round_id, cursor, limit + 1)
    items = rows[:limit]
    more = len(rows) > limit
    return NeedPage(items, next_link(request, encode_cursor([items[-1].municipality_code, items[-1].need_id])
                                     if more else None))


@get("/v1/procurement/needs/{need_id:str}", tags=TAG, summary="One need", guards=[ANY_TENANT])
async def get_need(db: asyncpg.Connection, need_id: str) -> Response[Need]:
    found = await queries.get_need(db, service.parse_id(need_id, "need"))
    if found is None:
        raise NotFound(f"No need {need_id} among those your key may see.")
    return _etagged(found, found.version)


@put("/v1/procurement/needs/{need_id:str}", tags=TAG, summary="Change a need while the window is open",
     guards=[requires("municipality", "admin")])
async def update_need(request: Request, db: asyncpg.Connection, need_id: str, data: NeedUpdate,
                      if_match: IfMatch = None) -> Response[Need]:
    expected = etags.required_version(if_match)
    need, r = await service.own_need(db, request.user, need_id)
    service.require_open(r, "edited")
    if need.status != "active":
        raise Conflict("This need was withdrawn; submit a new one instead.")
    problems = service.check_need(data, await queries.get_category(db, need.category_code), need.category_code, r)
    if problems:
        raise Unprocessable("; ".join(problems), errors=[FieldError(*p.split(": ", 1)) for p in problems])
    saved = await queries.update_need(db, need.municipality_code, need.need_id, expected, data)
    if saved is None:
        raise etags.stale(need.version)
    return _etagged(saved, saved.version)


@post("/v1/procurement/needs/{need_id:str}/withdraw", tags=TAG, summary="Withdraw a need before the deadline",
      description="Send If-Match with the need's ETag. Withdrawing re-prices the rest of the pool.",
      guards=[requires("municipality", "admin")], status_code=200)
async def withdraw_need(request: Request, db: asyncpg.Connection, need_id: str,
                        if_match: IfMatch = None) -> Response[Need]:
    expected = etags.required_version(if_match)
    need, r = await service.own_need(db, request.user, need_id)
    if r.phase == "firm":
        raise Conflict(f"The withdrawal deadline of round {r.round_id} was {service.when(r.withdrawal_deadline)}; "
                       "pledges are firm now. Ask the organiser to cancel your participation instead.")
    if need.status == "withdrawn":
        return _etagged(need, need.version)
    saved = await queries.withdraw_need(db, need.municipality_code, need.need_id, expected)
    if saved is None:
        raise etags.stale(need.version)
    return _etagged(saved, saved.version)


@get("/v1/procurement/needs/{need_id:str}/versions", tags=TAG, summary="Every version of a need",
     guards=[ANY_TENANT])
async def need_versions(db: asyncpg.Connection, need_id: str) -> NeedVersionPage:
    found = await queries.get_need(db, service.parse_id(need_id, "need"))
    if found is None:
        raise NotFound(f"No need {need_id} among those your key may see.")
    return NeedVersionPage(await queries.need_versions(db, found.municipality_code, found.need_id))


# ---------------------------------------------------------------- aggregation

@get("/v1/procurement/rounds/{round_id:str}/aggregate", tags=TAG, guards=[ANY_TENANT],
     summary="Pooled demand per category and compatible specification")
async def aggregate(request: Request, db: asyncpg.Connection, round_id: str) -> Aggregate:
    principal: Principal = request.user
    r = await service.visible_round(db, round_id)
    rp = await service.RoundPools.load(db, r)
    organiser = service.is_organiser(principal, r.organiser_code)
    categories = []
    for code in r.category_codes:
        category = rp.categories[code]
        summaries = []
        for g in rp.groups.get(code, []):
            pricing = rp.pricing(g)
            nxt = next_breakpoint(pricing.tiers, g.quantity)
            by_municipality = {m: q for m, q in g.by_municipality().items()
                               if organiser or principal.can_see_municipality(m)}
            summaries.append(PoolSummary(
                g.key, g.requirements, g.quantity, g.quantity_max, len(g.participants), g.by_prefecture(),
                price_at(pricing.tiers, g.quantity), g.tender_id, nxt.min_quantity if nxt else None,
                nxt.unit_price_yen if nxt else None, g.separated_because,
                g.by_municipality().get(principal.tenant_code) if principal.role == "municipality" else None,
                None if principal.role == "municipality" else by_municipality))
        participants = {line.municipality_code for line in rp.lines if line.category_code == code}
        categories.append(CategoryAggregate(code, category.unit_code, category.unit_name,
                                            sum(s.quantity for s in summaries), len(participants), summaries))
    scope = ("all participants" if organiser else
             "pooled totals of all participants; per-municipality detail only for municipalities your key may see")
    return Aggregate(r.round_id, scope, categories)


# ---------------------------------------------------------------- savings

_FORMULAS = {"price_savings": PRICE_METHOD, "pooling_uplift": UPLIFT_METHOD, "realised_savings": REALISED_METHOD,
             "process_savings": PROCESS_METHOD}
_SAVINGS_COLUMNS = ("level", "key", "category_code", "pool", "tender_id", "municipality_code", "prefecture",
                    "participants", "participants_included", "quantity", "pooled_quantity", "pooled_unit_price_yen",
                    "alone_unit_price_yen", "awarded_unit_price_yen", "price_savings_yen", "price_savings_method",
                    "pooling_uplift_yen", "pooling_uplift_method", "realised_savings_yen", "realised_savings_method",
                    "process_savings_yen", "process_savings_method", "method_version", "baseline_source",
                    "price_basis")


def _flatten(row: Any) -> dict[str, Any]:
    out = msgspec.structs.asdict(row)
    for name in ("price_savings", "pooling_uplift", "realised_savings", "process_savings"):
        figure = out.pop(name)
        if figure is not None:
            out[f"{name}_yen"] = figure.amount_yen
            out[f"{name}_method"] = figure.method
            out["method_version"] = figure.method_version
            if name == "price_savings":
                out["baseline_source"] = figure.baseline_source
                out["price_basis"] = figure.price_basis
    return out


def _csv_response(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str], name: str) -> Response:
    return Response(csvio.render(rows, columns), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@get("/v1/procurement/rounds/{round_id:str}/savings", tags=TAG, guards=[ANY_TENANT],
     summary="Savings per municipality, tender, category, prefecture and in total (JSON or CSV)",
     description="Send `Accept: text/csv` (or `?format=csv`) for CSV. Each figure carries its method, method "
                 "version and baseline source.")
async def savings(request: Request, db: asyncpg.Connection, round_id: str,
                  format: Annotated[str | None, Parameter(description="csv or json")] = None
                  ) -> Response[SavingsReport]:
    r = await service.visible_round(db, round_id)
    rp = await service.RoundPools.load(db, r)
    baselines = await queries.visible_baselines(db, r.organiser_code, r.round_id)
    rows = report(rp.inputs(), baselines)
    if _wants_csv(request, format):
        return _csv_response([_flatten(x) for x in rows], _SAVINGS_COLUMNS, f"savings-{r.round_id}")
    scope = ("every participant" if service.is_organiser(request.user, r.organiser_code) else
             "municipalities whose baselines your key may see; pooled quantities count every participant")
    return Response(SavingsReport(r.round_id, METHOD_VERSION, _FORMULAS, scope, rows))


@get("/v1/procurement/rounds/{round_id:str}/what-if", tags=TAG, guards=[ANY_TENANT],
     summary="If k more municipalities join with quantity q each, what does each participant save")
async def savings_what_if(
    request: Request, db: asyncpg.Connection, round_id: str,
    pool: Annotated[str, Parameter(description="pool key from the aggregate (e.g. pc/1) or a tender id")],
    k: Annotated[int, Parameter(ge=0, le=2000, description="municipalities joining")],
    q: Annotated[int, Parameter(ge=1, le=100_000_000, description="quantity each joiner brings")],
    format: Annotated[str | None, Parameter(description="csv or json")] = None,
) -> Response[WhatIf]:
    r = await service.visible_round(db, round_id)
    rp = await service.RoundPools.load(db, r)
    group = rp.group(pool)
    if group is None:
        raise NotFound(f"No pool {pool!r} in round {r.round_id}; see its aggregate for the pool keys.")
    baselines = await queries.visible_baselines(db, r.organiser_code, r.round_id)
    result = what_if(group, rp.pricing(group), baselines, k, q, rp.categories[group.category_code].list_price_yen)
    if _wants_csv(request, format):
        rows = [{**msgspec.structs.asdict(x), "pool": result.pool, "method": result.method,
                 "method_version": result.method_version, "price_basis": result.price_basis} for x in result.rows]
        return _csv_response(rows, ["pool", *msgspec.structs.asdict(result.rows[0]).keys(), "method",
                                    "method_version", "price_basis"] if result.rows else ["pool"],
                             f"what-if-{r.round_id}")
    return Response(result)


# ---------------------------------------------------------------- tenders

@post("/v1/procurement/rounds/{round_id:str}/tenders", tags=TAG, guards=[ORGANISERS],
      summary="Form shared tenders from a category's pooled demand",
      description="One tender per compatible pool that meets the rules (minimum participants and quantity); "
                  "pools that do not are listed with the reason. Only after the submission window closed.")
async def form_tenders(request: Request, db: asyncpg.Connection, round_id: str, data: TenderForm,
                       idempotency_key: IdempotencyKey = None) -> Response[FormResult]:
    r = await service.organised_round(db, request.user, round_id)
    if data.category_code not in r.category_codes:
        raise invalid_field("category_code", f"not one of this round's categories {r.category_codes}")
    if r.phase in ("upcoming", "open"):
        raise Conflict(f"Tenders are formed once the submission window closes ({service.when(r.closes_at)}).")

    async def produce() -> FormResult:
        return await service.form_tenders(db, r, data)

    return await respond_once(db, request, idempotency_key, data, produce)


@get("/v1/procurement/rounds/{round_id:str}/tenders", tags=TAG, guards=[ANY_TENANT],
     summary="Shared tenders of a round")
async def list_tenders(db: asyncpg.Connection, round_id: str) -> TenderPage:
    r = await service.visible_round(db, round_id)
    rp = await service.RoundPools.load(db, r)
    return TenderPage([service.tender_view(rp, t, await queries.lots_of(db, r.organiser_code, t["tender_id"]))
                       for t in rp.tenders.values()])


async def _tender(db: asyncpg.Connection, tender_id: str) -> tuple[dict, service.RoundPools]:
    found = await queries.get_tender(db, service.parse_id(tender_id, "tender"))
    if found is None:
        raise NotFound(f"No tender {tender_id} among those your key may see.")
    r = await queries.get_round(db, found["round_id"])
    if r is None:
        raise NotFound(f"No tender {tender_id} among those your key may see.")
    return found, await service.RoundPools.load(db, r)


@get("/v1/procurement/tenders/{tender_id:str}", tags=TAG, guards=[ANY_TENANT], summary="One shared tender")
async def get_tender(db: asyncpg.Connection, tender_id: str) -> Response[Tender]:
    found, rp = await _tender(db, tender_id)
    view = service.tender_view(rp, found, await queries.lots_of(db, found["organiser_code"], found["tender_id"]))
    return _etagged(view, view.version)


@post("/v1/procurement/tenders/{tender_id:str}/status", tags=TAG, guards=[ORGANISERS], status_code=200,
      summary="Move a tender through its lifecycle (publish, contract, cancel, unsuccessful)")
async def change_tender_status(request: Request, db: asyncpg.Connection, tender_id: str, data: StatusChange,
                               if_match: IfMatch = None) -> Response[Tender]:
    expected = etags.required_version(if_match)
    found, rp = await _tender(db, tender_id)
    if not service.is_organiser(request.user, found["organiser_code"]):
        raise NotFound(f"No tender {tender_id} among those your key may change.")
    why = transition_error(found["status"], data.status)
    if why:
        raise Conflict(why[0].upper() + why[1:] + ".")
    view = service.tender_view(rp, found, await queries.lots_of(db, found["organiser_code"], found["tender_id"]))
    if data.status == "active":
        broken = service.rules_problem(view.participants, view.pooled_quantity, view.min_participants,
                                       view.min_quantity)
        if broken:
            raise Conflict(f"The tender no longer meets its rules after withdrawals: {broken}. Cancel it instead.")
    saved = await queries.set_tender_status(db, found["organiser_code"], found["tender_id"], expected, data.status)
    if saved is None:
        raise etags.stale(found["version"])
    if data.status == "contracted":
        await queries.sign_contracts(db, found["organiser_code"], found["tender_id"])
    view = service.tender_view(rp, saved, await queries.lots_of(db, found["organiser_code"], found["tender_id"]))
    return _etagged(view, view.version)


@post("/v1/procurement/tenders/{tender_id:str}/award", tags=TAG, guards=[ORGANISERS], status_code=200,
      summary="Award a tender: supplier and unit price (or bid curve); one contract per municipality",
      description="Only an active tender, and only after the round's withdrawal deadline, so that the pooled "
                  "quantity the contracts are priced at is firm.")
async def award_tender(request: Request, db: asyncpg.Connection, tender_id: str, data: AwardCreate,
                       if_match: IfMatch = None) -> Response[Tender]:
    expected = etags.required_version(if_match)
    found, rp = await _tender(db, tender_id)
    if not service.is_organiser(request.user, found["organiser_code"]):
        raise NotFound(f"No tender {tender_id} among those your key may change.")
    if (data.unit_price_yen is None) == (data.bid_curve is None):
        raise invalid_field("unit_price_yen", "give either unit_price_yen or bid_curve, not both and not neither")
    why = transition_error(found["status"], "awarded")
    if why:
        raise Conflict(why[0].upper() + why[1:] + ".")
    r = rp.round
    if r.phase != "firm":
        raise Conflict(f"Award after the withdrawal deadline ({service.when(r.withdrawal_deadline)}): until then "
                       "municipalities may still withdraw and the pooled quantity may change.")
    group = rp.tender_group(found["tender_id"])
    if group is None or not group.lines:
        raise Conflict("Every need of this tender was withdrawn; mark it unsuccessful or cancel it.")
    broken = service.rules_problem(len(group.participants), group.quantity, found["min_participants"],
                                   found["min_quantity"])
    if broken:
        raise Conflict(f"The tender no longer meets its rules: {broken}. Mark it unsuccessful or cancel it.")
    curve = None
    if data.bid_curve is not None:
        checked = service.checked_curve(data.bid_curve, "bid_curve")
        curve = _as_models(checked)
        unit_price = price_at(checked, group.quantity)
    else:
        unit_price = data.unit_price_yen or 0
    saved = await queries.award_tender(db, found["organiser_code"], found["tender_id"], expected,
                                       data.supplier_name, data.supplier_id, unit_price, curve)
    if saved is None:
        raise etags.stale(found["version"])
    await service.write_contracts(db, saved, group, unit_price)
    rp = await service.RoundPools.load(db, r)
    view = service.tender_view(rp, saved, await queries.lots_of(db, found["organiser_code"], found["tender_id"]))
    return _etagged(view, view.version)


@get("/v1/procurement/tenders/{tender_id:str}/contracts", tags=TAG, guards=[ANY_TENANT],
     summary="Contracts of an awarded tender your key may see (one per municipality)")
async def tender_contracts(db: asyncpg.Connection, tender_id: str) -> ContractPage:
    found, _ = await _tender(db, tender_id)
    return ContractPage(await queries.list_contracts(db, [found["tender_id"]]))


# ---------------------------------------------------------------- OCDS

async def _org(db: asyncpg.Connection, code: str) -> ocds.Org:
    if code == "admin":
        return ocds.Org("kyodo-registry", "Kyodo Registry")
    return ocds.Org(code, await queries.prefecture_name(db, code) or code)


@get("/v1/ocds/rounds/{round_id:str}", tags=TAG, guards=[ANY_TENANT],
     summary="OCDS 1.1 release package of a round: plans and shared tenders",
     description="One planning release per municipality's needs you may see, one contracting release per "
                 "shared tender (lots, contract-buyer and techniques extensions).")
async def ocds_round(request: Request, db: asyncpg.Connection, round_id: str) -> Response[dict[str, Any]]:
    r = await service.visible_round(db, round_id)
    rp = await service.RoundPools.load(db, r)
    organiser = await _org(db, r.organiser_code)
    needs = [n for n in await queries.list_needs(db, r.organiser_code, r.round_id, None, 1_000_000)
             if n.status == "active"]
    codes = sorted({n.municipality_code for n in needs} | {line.municipality_code for line in rp.lines})
    names = await queries.municipality_names(db, codes)
    now = datetime.now(UTC)
    releases = []
    for code in sorted({n.municipality_code for n in needs}):
        own = [n for n in needs if n.municipality_code == code]
        lines = [ocds.PlanLine(n.need_id, n.category_code, rp.categories[n.category_code].name_en,
                               ocds.Unit(rp.categories[n.category_code].unit_code,
                                         rp.categories[n.category_code].unit_name),
                               n.quantity, n.baseline_unit_price_yen, n.budget_status, n.version) for n in own]
        releases.append(ocds.planning_release(r.round_id, r.title, organiser, ocds.Org(code, names.get(code, code)),
                                              lines, max(n.updated_at for n in own)))
    contracts = await queries.list_contracts(db, list(rp.tenders))
    for tender in rp.tenders.values():
        group = rp.tender_group(tender["tender_id"])
        category = rp.categories[tender["category_code"]]
        lots = await queries.lots_of(db, r.organiser_code, tender["tender_id"])
        members = [ocds.TenderMember(ocds.Org(line.municipality_code, names.get(line.municipality_code, "")),
                                     line.lot_id or "LOT-1", line.quantity) for line in (group.lines if group else [])]
        facts = ocds.TenderFacts(
            tender["tender_id"], tender["title"], tender["status"], tender["version"], category.name_en,
            ocds.Unit(category.unit_code, category.unit_name), [(lot_id, title) for lot_id, title, _ in lots],
            members, tender["supplier_name"], tender["supplier_id"], tender["awarded_unit_price_yen"],
            tender["awarded_at"],
            [ocds.ContractLine(c.municipality_code, c.lot_id, c.quantity, c.unit_price_yen, c.amount_yen, c.status)
             for c in contracts if c.tender_id == tender["tender_id"]])
        releases.append(ocds.contracting_release(r.round_id, organiser, facts, tender["awarded_at"] or now))
    package = ocds.package(releases, str(request.url), now, "Kyodo Registry")
    return Response(package, media_type="application/json")


route_handlers: list = [
    list_categories, get_category, create_category, update_category,
    create_round, list_rounds, get_round, update_round,
    create_need, upload_needs, list_needs, get_need, update_need, withdraw_need, need_versions,
    aggregate, savings, savings_what_if,
    form_tenders, list_tenders, get_tender, change_tender_status, award_tender, tender_contracts,
    ocds_round,
]
