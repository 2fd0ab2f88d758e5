"""Request and response bodies of joint procurement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal, NamedTuple

import msgspec

from registry.procurement.pricing import PositiveYen, PriceTier, Quantity, Yen
from registry.procurement.savings import Headline, SavingsRow
from registry.procurement.states import RoundPhase
from registry.types import Email

CategoryCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,31}$")]
AttributeName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{1,40}$")]
AttributeValue = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Requirements = Annotated[dict[AttributeName, Annotated[list[AttributeValue], msgspec.Meta(min_length=1,
                                                                                              max_length=50)]],
                         msgspec.Meta(description="attribute -> acceptable values; omitted attributes accept any")]
BaselineSource = Literal["current_contract", "standalone_quote", "list_price"]
BudgetStatus = Literal["planned", "requested", "approved"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


PriceCurve = Annotated[list[PriceTier], msgspec.Meta(min_length=1, max_length=50)]


class Category(msgspec.Struct):
    category_code: str
    name: str
    name_en: str
    unit_code: str
    unit_name: str
    list_price_yen: int
    spec_attributes: dict[str, list[str]]
    price_tiers: list[PriceTier]
    process_cost_yen: int
    version: int


class CategoryPage(msgspec.Struct):
    items: list[Category]


class CategoryCreate(msgspec.Struct, forbid_unknown_fields=True):
    category_code: CategoryCode
    name: Name
    name_en: Name
    unit_code: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,3}$",
                                           description="UN/CEFACT Recommendation 20 code, e.g. C62, H87, ZP")]
    unit_name: Name
    list_price_yen: PositiveYen
    price_tiers: PriceCurve
    spec_attributes: dict[AttributeName, Annotated[list[AttributeValue], msgspec.Meta(min_length=1)]] = {}
    process_cost_yen: Yen = 0


class CategoryUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    name_en: Name
    unit_name: Name
    list_price_yen: PositiveYen
    price_tiers: PriceCurve
    spec_attributes: dict[AttributeName, Annotated[list[AttributeValue], msgspec.Meta(min_length=1)]] = {}
    process_cost_yen: Yen = 0


class RoundCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: Name
    category_codes: Annotated[list[CategoryCode], msgspec.Meta(min_length=1, max_length=50)]
    closes_at: datetime
    withdrawal_deadline: datetime
    opens_at: datetime | None = None
    prefectures: Annotated[list[str], msgspec.Meta(min_length=1, max_length=47,
                                                   description="prefecture numbers or codes; yours by default")
                           ] | None = None
    min_participants: Annotated[int, msgspec.Meta(ge=1, le=2000)] = 2
    min_quantity: Quantity = 1


class RoundUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Name | msgspec.UnsetType = msgspec.UNSET
    opens_at: datetime | msgspec.UnsetType = msgspec.UNSET
    closes_at: datetime | msgspec.UnsetType = msgspec.UNSET
    withdrawal_deadline: datetime | msgspec.UnsetType = msgspec.UNSET
    min_participants: Annotated[int, msgspec.Meta(ge=1, le=2000)] | msgspec.UnsetType = msgspec.UNSET
    min_quantity: Quantity | msgspec.UnsetType = msgspec.UNSET


class Round(msgspec.Struct):
    round_id: str
    organiser_code: str
    title: str
    prefectures: list[str]
    category_codes: list[str]
    opens_at: datetime
    closes_at: datetime
    withdrawal_deadline: datetime
    min_participants: int
    min_quantity: int
    version: int
    created_at: datetime
    updated_at: datetime
    phase: RoundPhase = "open"  # set from the dates by queries._round (states.round_phase)


class RoundPage(msgspec.Struct):
    items: list[Round]
    next: str | None


class NeedFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    quantity: Quantity
    baseline_unit_price_yen: Yen
    baseline_source: BaselineSource
    budget_status: BudgetStatus
    quantity_max: Quantity | None = None
    requirements: Requirements = {}
    max_unit_price_yen: PositiveYen | None = None
    delivery_date: date | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None


class NeedCreate(NeedFields, forbid_unknown_fields=True, kw_only=True):
    category_code: CategoryCode
    municipality_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5,6}$",
                                                   description="admins only: whose need this is")] | None = None


class NeedUpdate(NeedFields, forbid_unknown_fields=True, kw_only=True):
    pass


class PlanNeed(NamedTuple):
    """What a planning release shows of a need (the OCDS package reads 34,820 of them at national scale: a
    full `Need`, its requirements decoded, cost 0.45 s of the package's 0.6 s of CPU)."""

    need_id: str
    municipality_code: str
    category_code: str
    quantity: int
    baseline_unit_price_yen: int
    budget_status: str
    version: int
    updated_at: datetime


class Need(msgspec.Struct):
    need_id: str
    municipality_code: str
    organiser_code: str
    round_id: str
    category_code: str
    quantity: int
    quantity_max: int | None
    requirements: dict[str, list[str]]
    baseline_unit_price_yen: int
    baseline_source: str
    max_unit_price_yen: int | None
    budget_status: str
    delivery_date: date | None
    contact_name: str | None
    contact_email: str | None
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None


class NeedPage(msgspec.Struct):
    items: list[Need]
    next: str | None


class NeedVersion(msgspec.Struct):
    version: int
    change: str
    recorded_at: datetime
    snapshot: dict[str, Any]


class NeedVersionPage(msgspec.Struct):
    items: list[NeedVersion]


class BulkResult(msgspec.Struct):
    created: int
    need_ids: list[str]


class PoolSummary(msgspec.Struct, omit_defaults=True):
    pool: str
    requirements: dict[str, list[str]]
    quantity: int
    quantity_max: int
    participants: int
    by_prefecture: dict[str, int]
    pooled_unit_price_yen: int
    tender_id: str | None = None
    next_tier_quantity: int | None = None
    next_tier_unit_price_yen: int | None = None
    separated_because: list[str] = []
    own_quantity: int | None = None
    by_municipality: dict[str, int] | None = None


class CategoryAggregate(msgspec.Struct):
    category_code: str
    unit_code: str
    unit_name: str
    quantity: int
    participants: int
    pools: list[PoolSummary]


class Aggregate(msgspec.Struct):
    round_id: str
    scope: str
    categories: list[CategoryAggregate]


class TenderForm(msgspec.Struct, forbid_unknown_fields=True):
    category_code: CategoryCode
    lot_scheme: Literal["single", "prefecture"] = "single"
    min_participants: Annotated[int, msgspec.Meta(ge=1, le=2000)] | None = None
    min_quantity: Quantity | None = None
    process_cost_yen: Yen | None = None
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)] | None = None


class Lot(msgspec.Struct):
    lot_id: str
    title: str
    prefecture: str | None
    quantity: int
    participants: int


class LotRecord(msgspec.Struct, frozen=True):
    """A lot as stored; `Lot` adds the demand it holds now."""

    lot_id: str
    title: str
    prefecture: str | None


class TenderRecord(msgspec.Struct, frozen=True):
    """A shared tender as stored; `Tender` is what the API shows, with its pooled demand priced."""

    tender_id: str
    organiser_code: str
    round_id: str
    category_code: str
    title: str
    requirements: dict[str, list[str]]
    status: str
    min_participants: int
    min_quantity: int
    process_cost_yen: int
    lot_scheme: str
    supplier_name: str | None
    supplier_id: str | None
    awarded_unit_price_yen: int | None
    bid_curve: list[PriceTier] | None
    awarded_at: datetime | None
    version: int
    created_at: datetime


class Tender(msgspec.Struct):
    tender_id: str
    organiser_code: str
    round_id: str
    category_code: str
    title: str
    requirements: dict[str, list[str]]
    status: str
    min_participants: int
    min_quantity: int
    process_cost_yen: int
    lot_scheme: str
    lots: list[Lot]
    participants: int
    pooled_quantity: int
    unit_price_yen: int | None
    price_basis: str
    supplier_name: str | None
    supplier_id: str | None
    awarded_unit_price_yen: int | None
    bid_curve: list[PriceTier] | None
    awarded_at: datetime | None
    version: int


class NotFormed(msgspec.Struct):
    pool: str
    quantity: int
    participants: int
    reason: str


class FormResult(msgspec.Struct):
    tenders: list[Tender]
    not_formed: list[NotFormed]


class TenderPage(msgspec.Struct):
    items: list[Tender]


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["active", "contracted", "cancelled", "unsuccessful"]


class AwardCreate(msgspec.Struct, forbid_unknown_fields=True):
    supplier_name: Name
    supplier_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100,
                                             description="e.g. the 13-digit corporate number")] | None = None
    unit_price_yen: PositiveYen | None = None
    bid_curve: PriceCurve | None = None


class Contract(msgspec.Struct, frozen=True):
    """One municipality's contract for one lot of an awarded tender (also what OCDS publishes)."""

    tender_id: str
    municipality_code: str
    lot_id: str
    quantity: int
    unit_price_yen: int
    amount_yen: int
    status: str


class ContractPage(msgspec.Struct):
    items: list[Contract]


class SavingsReport(msgspec.Struct):
    """`headline` adds the tendered section's realised and process savings; `rows` are that section;
    `untendered` is its own section, of pools that never went to tender, which no roll-up or headline counts."""

    round_id: str
    method_version: str
    formulas: dict[str, str]
    scope: str
    headline: Headline
    rows: list[SavingsRow]
    untendered: list[SavingsRow]
