"""OCDS 1.1 releases for joint procurement. Pure: plain values in, JSON-ready dicts out.

Each municipality's demand in a round is a planning process with its own ocid; each shared tender
is a contracting process with the organiser as procuring entity, every participating municipality
as a buyer, lots (lots extension), an award per lot naming its buyers and one contract per buyer
(contract-buyer extension), and `relatedProcesses` pointing back at the plans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from registry.procurement.models import Contract

# An ocid prefix is issued by the OCDS helpdesk; this one is a placeholder until Kyodo registers.
OCID_PREFIX = "ocds-kyodo0"
EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_techniques_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_contract_buyer_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
]
# Local government codes have no org-id.guide scheme yet; the code is the identifier every ministry uses.
ORG_SCHEME = "JP-LGCODE"
# org-id.guide's scheme for the 法人番号 (Japan Corporate Number) of registered suppliers.
SUPPLIER_SCHEME = "JP-JCN"

_TENDER_STATUS = {"planned": "planned", "active": "active", "awarded": "complete", "contracted": "complete",
                  "cancelled": "cancelled", "unsuccessful": "unsuccessful"}


@dataclass(frozen=True)
class Org:
    code: str
    name: str

    @property
    def party_id(self) -> str:
        return f"{ORG_SCHEME}-{self.code}"

    def ref(self) -> dict[str, str]:
        return {"id": self.party_id, "name": self.name}

    def party(self, roles: Sequence[str]) -> dict[str, Any]:
        return {"id": self.party_id, "name": self.name, "roles": list(roles),
                "identifier": {"scheme": ORG_SCHEME, "id": self.code, "legalName": self.name}}


@dataclass(frozen=True)
class Unit:
    code: str
    name: str


@dataclass(frozen=True)
class PlanLine:
    need_id: str
    category_code: str
    category_name: str
    unit: Unit
    quantity: int
    baseline_unit_price_yen: int
    budget_status: str
    version: int


@dataclass(frozen=True)
class TenderMember:
    municipality: Org
    lot_id: str
    quantity: int


@dataclass(frozen=True)
class BidFact:
    """An opened bid: who, for which lot, and its total at the lot's pooled quantity."""

    bid_id: str
    lot_id: str
    supplier_code: str
    supplier_name: str
    status: str
    amount_yen: int
    date: datetime


@dataclass(frozen=True)
class LotWinner:
    supplier_code: str
    supplier_name: str
    bid_id: str


def jcn_ref(code: str, name: str) -> dict[str, str]:
    return {"id": f"{SUPPLIER_SCHEME}-{code}", "name": name}


@dataclass(frozen=True)
class TenderFacts:
    tender_id: str
    title: str
    status: str
    version: int
    category_name: str
    unit: Unit
    lots: Sequence[tuple[str, str]]
    members: Sequence[TenderMember]
    supplier_name: str | None = None
    supplier_id: str | None = None
    awarded_unit_price_yen: int | None = None
    awarded_at: datetime | None = None
    contracts: Sequence[Contract] = field(default_factory=list)
    bids: Sequence[BidFact] = field(default_factory=list)
    winners: Mapping[str, LotWinner] = field(default_factory=dict)


def _yen(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "JPY"}


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def plan_ocid(round_id: str, municipality_code: str) -> str:
    return f"{OCID_PREFIX}-plan-{round_id}-{municipality_code}"


def tender_ocid(tender_id: str) -> str:
    return f"{OCID_PREFIX}-tender-{tender_id}"


def planning_release(round_id: str, round_title: str, organiser: Org, municipality: Org,
                     lines: Sequence[PlanLine], when: datetime) -> dict[str, Any]:
    ocid = plan_ocid(round_id, municipality.code)
    budget = sum(line.baseline_unit_price_yen * line.quantity for line in lines)
    statuses = sorted({line.budget_status for line in lines})
    parties = [municipality.party(["buyer"]), organiser.party(["procuringEntity"])]
    if organiser.code == municipality.code:
        parties = [municipality.party(["buyer", "procuringEntity"])]
    return {
        "ocid": ocid,
        "id": f"{ocid}-planning-{sum(line.version for line in lines)}",
        "date": _iso(when),
        "tag": ["planning"],
        "initiationType": "tender",
        "language": "ja",
        "parties": parties,
        "buyer": municipality.ref(),
        "planning": {
            "rationale": f"Demand submitted to the joint procurement round {round_title!r} (意向調査).",
            "budget": {"description": f"Budget status: {', '.join(statuses)}; amount at the municipality's "
                                      "own baseline unit prices.",
                       "amount": _yen(budget)},
        },
        "tender": {
            "id": f"{ocid}-tender",
            "status": "planned",
            "procuringEntity": organiser.ref(),
            "items": [{"id": line.need_id, "description": line.category_name,
                       "classification": {"scheme": "x_kyodo_category", "id": line.category_code,
                                          "description": line.category_name},
                       "quantity": line.quantity,
                       "unit": {"scheme": "UNCEFACT", "id": line.unit.code, "name": line.unit.name,
                                "value": _yen(line.baseline_unit_price_yen)}}
                      for line in lines],
        },
    }


def contracting_release(round_id: str, organiser: Org, facts: TenderFacts, when: datetime) -> dict[str, Any]:
    ocid = tender_ocid(facts.tender_id)
    buyers = {m.municipality.code: m.municipality for m in facts.members}
    supplier = Org(facts.supplier_id or facts.supplier_name or "", facts.supplier_name or "") \
        if facts.supplier_name else None
    supplier_ref = ({"id": f"JP-SUPPLIER-{supplier.code}", "name": supplier.name} if supplier and not facts.winners
                    else None)
    parties = [organiser.party(["procuringEntity"])] + [buyers[c].party(["buyer"]) for c in sorted(buyers)]
    bidders = {b.supplier_code: b.supplier_name for b in facts.bids}
    winning = {w.supplier_code for w in facts.winners.values()}
    for code in sorted(bidders.keys() | {w.supplier_code for w in facts.winners.values()}):
        name = bidders.get(code) or next(w.supplier_name for w in facts.winners.values() if w.supplier_code == code)
        roles = ["tenderer", "supplier"] if code in winning else ["tenderer"]
        parties.append({**jcn_ref(code, name), "roles": roles,
                        "identifier": {"scheme": SUPPLIER_SCHEME, "id": code, "legalName": name}})
    if supplier_ref and not facts.winners:
        parties.append({**supplier_ref, "roles": ["supplier"]})
    items = []
    quantities: dict[tuple[str, str], int] = {}
    for m in facts.members:
        quantities[(m.lot_id, m.municipality.code)] = quantities.get((m.lot_id, m.municipality.code), 0) + m.quantity
    for (lot_id, code), quantity in sorted(quantities.items()):
        items.append({"id": f"{lot_id}-{code}", "description": f"{facts.category_name} for {buyers[code].name}",
                      "quantity": quantity, "unit": {"scheme": "UNCEFACT", "id": facts.unit.code,
                                                     "name": facts.unit.name},
                      "relatedLot": lot_id})
    tag = ["tender"]
    release: dict[str, Any] = {
        "ocid": ocid,
        "date": _iso(when),
        "initiationType": "tender",
        "language": "ja",
        "parties": parties,
        "tender": {
            "id": facts.tender_id,
            "title": facts.title,
            "status": _TENDER_STATUS[facts.status],
            "procuringEntity": organiser.ref(),
            "procurementMethod": "open",
            "items": items,
            "lots": [{"id": lot_id, "title": title} for lot_id, title in facts.lots],
        },
        "relatedProcesses": [
            {"id": str(i), "relationship": ["planning"], "title": f"Demand of {buyers[code].name}",
             "scheme": "ocid", "identifier": plan_ocid(round_id, code)}
            for i, code in enumerate(sorted(buyers), start=1)],
    }
    if facts.bids:
        release["bids"] = _bids(facts)
    if facts.status in ("awarded", "contracted") and (supplier_ref or facts.winners) and facts.awarded_unit_price_yen:
        tag.append("award")
        awards = []
        award_of_lot: dict[str, str] = {}
        # The contracts of each lot in one pass (a filter per lot was 47 lots x ~900 contracts a national tender).
        by_lot: dict[str | None, list[Contract]] = {}
        for c in facts.contracts:
            by_lot.setdefault(c.lot_id, []).append(c)
        for lot_id, _title in facts.lots:
            in_lot = by_lot.get(lot_id, [])
            if not in_lot:
                continue
            award_id = f"{facts.tender_id}-award-{lot_id}"
            award_of_lot[lot_id] = award_id
            winner = facts.winners.get(lot_id)
            award: dict[str, Any] = {
                "id": award_id, "status": "active", "relatedLots": [lot_id],
                "value": _yen(sum(c.amount_yen for c in in_lot)),
                "suppliers": [jcn_ref(winner.supplier_code, winner.supplier_name) if winner else supplier_ref],
                "buyers": [buyers[code].ref() for code in sorted({c.municipality_code for c in in_lot})],
            }
            if winner:
                award["relatedBid"] = winner.bid_id
            if facts.awarded_at:
                award["date"] = _iso(facts.awarded_at)
            awards.append(award)
        release["awards"] = awards
        if facts.contracts:
            tag.append("contract")
            release["contracts"] = [
                {"id": f"{facts.tender_id}-contract-{c.municipality_code}", "awardID": award_of_lot[c.lot_id],
                 "buyer": buyers[c.municipality_code].ref(),
                 "status": "active" if c.status == "signed" else "pending",
                 "value": _yen(c.amount_yen),
                 "items": [{"id": f"{c.lot_id}-{c.municipality_code}", "quantity": c.quantity,
                            "relatedLot": c.lot_id,
                            "unit": {"scheme": "UNCEFACT", "id": facts.unit.code, "name": facts.unit.name,
                                     "value": _yen(c.unit_price_yen)}}]}
                for c in sorted(facts.contracts, key=lambda c: c.municipality_code)]
    release["tag"] = tag
    release["id"] = f"{ocid}-{facts.status}-{facts.version}"
    return release


def _bids(facts: TenderFacts) -> dict[str, Any]:
    """The bids extension: every opened bid with its total at the lot's pooled quantity, and counts per lot."""
    lots = sorted({b.lot_id for b in facts.bids})
    statistics = []
    for lot_id in lots:
        in_lot = [b for b in facts.bids if b.lot_id == lot_id]
        statistics.append({"id": f"{lot_id}-bids", "measure": "bids", "value": len(in_lot), "relatedLot": lot_id})
        statistics.append({"id": f"{lot_id}-validBids", "measure": "validBids",
                           "value": sum(b.status == "submitted" for b in in_lot), "relatedLot": lot_id})
    return {
        "statistics": statistics,
        "details": [{"id": b.bid_id, "date": _iso(b.date),
                     "status": "valid" if b.status == "submitted" else "withdrawn",
                     "tenderers": [jcn_ref(b.supplier_code, b.supplier_name)],
                     "value": _yen(b.amount_yen), "relatedLots": [b.lot_id]}
                    for b in facts.bids],
    }


def package(releases: Sequence[Mapping[str, Any]], uri: str, published: datetime, publisher: str
            ) -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "extensions": list(EXTENSIONS),
        "publishedDate": _iso(published),
        "publisher": {"name": publisher},
        "releases": list(releases),
    }
