"""Tender notices, suppliers' questions and answers, sealed bids and their evaluation: bodies (issue 16)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from registry.procurement.models import AttributeName, AttributeValue, PriceCurve
from registry.procurement.pricing import PositiveYen, PriceTier

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class NoticeCreate(msgspec.Struct, forbid_unknown_fields=True):
    """`bid_deadline` with a time zone: bids are sealed until then. (A plain `datetime`: an annotated one
    loses its `date-time` format in the OpenAPI document.)"""

    bid_deadline: datetime
    delivery_date: date | None = None
    description: Text | None = None


class NoticeLot(msgspec.Struct, frozen=True):
    lot_id: str
    title: str
    quantity: int
    buyers: int


class Notice(msgspec.Struct, frozen=True):
    """What suppliers bid on: the tender's lots with their pooled quantities at publication."""

    tender_id: str
    organiser_code: str
    title: str
    category_code: str
    unit_code: str
    unit_name: str
    requirements: dict[str, list[str]]
    lots: list[NoticeLot]
    delivery_date: date | None
    description: str | None
    bid_deadline: datetime
    published_at: datetime
    opened_at: datetime | None


class NoticePage(msgspec.Struct):
    items: list[Notice]


class QuestionCreate(msgspec.Struct, forbid_unknown_fields=True):
    question: Text


class AnswerCreate(msgspec.Struct, forbid_unknown_fields=True):
    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=8000)]
    question_as_published: Annotated[Text | None, msgspec.Meta(
        description="the question as every supplier will read it, rid of anything naming the asker; "
                    "by default as asked")] = None


class Question(msgspec.Struct, frozen=True):
    """A question as its asker and the organiser see it."""

    question_id: str
    tender_id: str
    supplier_code: str
    question: str
    asked_at: datetime
    published_question: str | None
    answer: str | None
    answered_at: datetime | None


class QuestionPage(msgspec.Struct):
    items: list[Question]


class PublishedAnswer(msgspec.Struct, frozen=True):
    """An answer as every supplier reads it: no asker."""

    question_id: str
    question: str
    answer: str
    answered_at: datetime


class AnswerPage(msgspec.Struct):
    items: list[PublishedAnswer]


class BidSubmit(msgspec.Struct, forbid_unknown_fields=True):
    offer: Annotated[dict[AttributeName, AttributeValue], msgspec.Meta(
        description="attribute -> the value offered, one for each requirement of the tender")] = {}
    unit_price_yen: PositiveYen | None = None
    price_curve: PriceCurve | None = None


class Bid(msgspec.Struct, frozen=True):
    bid_id: str
    supplier_code: str
    tender_id: str
    lot_id: str
    offer: dict[str, str]
    unit_price_yen: int | None
    price_curve: list[PriceTier] | None
    status: Literal["submitted", "withdrawn"]
    version: int
    submitted_at: datetime
    updated_at: datetime


class BidPage(msgspec.Struct):
    sealed: Annotated[bool, msgspec.Meta(description="true until the deadline passed and the opening was "
                                                     "recorded: only your own bids show")]
    bid_deadline: datetime
    opened_at: datetime | None
    items: list[Bid]


class Opening(msgspec.Struct, frozen=True):
    tender_id: str
    bid_deadline: datetime
    opened_at: datetime
    bids: int
    suppliers: int


class RankedBid(msgspec.Struct, frozen=True):
    rank: int
    bid_id: str
    supplier_code: str
    supplier_name: str
    unit_price_yen: int
    price_basis: str
    compliant: bool
    reasons: list[str]


class LotEvaluation(msgspec.Struct, frozen=True):
    lot_id: str
    pooled_quantity: int
    buyers: int
    winner_bid_id: str | None
    explanation: str
    bids: list[RankedBid]


class Evaluation(msgspec.Struct, frozen=True):
    tender_id: str
    method: str
    lots: list[LotEvaluation]


class LotAward(msgspec.Struct, frozen=True):
    """The winning bid of a lot and the unit price it gives at the lot's pooled quantity."""

    tender_id: str
    lot_id: str
    supplier_code: str
    supplier_name: str
    bid_id: str
    pooled_quantity: int
    unit_price_yen: int
    awarded_at: datetime
