"""OCDS 1.1 releases validated offline against the shared schemas patched with the four extensions."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from registry.procurement import ocds
from registry.procurement.models import Contract

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ocds"
EXTENSION_FILES = ("extension-lots-v1.1.5.json", "extension-techniques.json", "extension-contract-buyer.json",
                   "extension-bids-v1.1.5.json")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def package_validator() -> Draft4Validator:
    release = json.loads((SCHEMAS / "release-schema-1.1.5.json").read_text(encoding="utf-8"))
    for name in EXTENSION_FILES:
        release = merge_patch(release, json.loads((SCHEMAS / name).read_text(encoding="utf-8")))
    package = json.loads((SCHEMAS / "release-package-schema-1.1.5.json").read_text(encoding="utf-8"))
    # The package refers to the release schema by its id URL; the registry answers it locally.
    registry = Registry().with_resource(release["id"], Resource.from_contents(release, default_specification=DRAFT4))
    Draft4Validator.check_schema(release)
    return Draft4Validator(package, registry=registry, format_checker=FormatChecker())


def errors(package: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in package_validator().iter_errors(package)]


WHEN = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
TOKYO = ocds.Org("130001", "東京都")
CHIYODA = ocds.Org("131016", "千代田区")
CHUO = ocds.Org("131024", "中央区")
UNIT = ocds.Unit("H87", "device")


def sample_package() -> dict[str, Any]:
    plans = [ocds.planning_release("r1", "FY2026 devices", TOKYO, m, [
        ocds.PlanLine(f"need-{m.code}", "pc", "PCs", UNIT, 10, 180_000, "approved", 1)], WHEN)
        for m in (CHIYODA, CHUO)]
    facts = ocds.TenderFacts(
        "t1", "PCs for Tokyo", "contracted", 4, "PCs", UNIT, [("LOT-13", "Tokyo lot")],
        [ocds.TenderMember(CHIYODA, "LOT-13", 10), ocds.TenderMember(CHUO, "LOT-13", 10)],
        "Kanda Devices KK", "1234567890123", 150_000, WHEN,
        [Contract("t1", "131016", "LOT-13", 10, 150_000, 1_500_000, "signed"),
         Contract("t1", "131024", "LOT-13", 10, 150_000, 1_500_000, "signed")])
    tender = ocds.contracting_release("r1", TOKYO, facts, WHEN)
    return ocds.package([*plans, tender], "https://example.jp/v1/ocds/rounds/r1", WHEN, "Kyodo Registry")


def test_built_package_validates_with_zero_errors() -> None:
    package = sample_package()
    assert errors(package) == []
    plan, _, tender = package["releases"]
    assert plan["tag"] == ["planning"] and plan["tender"]["status"] == "planned"
    assert plan["planning"]["budget"]["amount"] == {"amount": 10 * 180_000, "currency": "JPY"}
    assert tender["tender"]["procuringEntity"]["id"] == "JP-LGCODE-130001"
    assert {p["id"] for p in tender["parties"] if "buyer" in p["roles"]} == {"JP-LGCODE-131016", "JP-LGCODE-131024"}
    assert [c["buyer"]["id"] for c in tender["contracts"]] == ["JP-LGCODE-131016", "JP-LGCODE-131024"]
    assert len(tender["awards"][0]["buyers"]) == 2 and tender["awards"][0]["relatedLots"] == ["LOT-13"]
    assert {i["relatedLot"] for i in tender["tender"]["items"]} == {"LOT-13"}
    assert [rp["identifier"] for rp in tender["relatedProcesses"]] == [plan["ocid"], package["releases"][1]["ocid"]]
    assert all(rp["relationship"] == ["planning"] and rp["scheme"] == "ocid" for rp in tender["relatedProcesses"])


def test_a_broken_release_fails_the_same_check() -> None:
    package = sample_package()
    broken = copy.deepcopy(package)
    del broken["releases"][0]["ocid"]
    broken["releases"][2]["tender"]["status"] = "finished"
    broken["releases"][2]["contracts"][0]["buyer"] = "131016"
    broken["releases"][2]["date"] = "yesterday"
    found = errors(broken)
    assert any("'ocid' is a required property" in e for e in found)
    assert any("finished" in e for e in found)
    assert any("contracts/0/buyer" in e for e in found)
    assert errors(package) == []


def test_the_extensions_are_applied_and_declared() -> None:
    # Without the lots extension `tender.lots` would be an unchecked extra; with it a lot's status is a closed list.
    package = sample_package()
    package["releases"][2]["tender"]["lots"] = [{"id": "LOT-13", "status": "sold out"}]
    assert any("tender/lots/0/status" in e for e in errors(package))
    assert len(sample_package()["extensions"]) == len(EXTENSION_FILES) == 4


def bid_package() -> dict[str, Any]:
    """A tender awarded from two opened bids: the winner's curve gave ¥150,000, the other bid ¥160,000."""
    nta, toyota = "7000012050002", "1180301018771"
    facts = ocds.TenderFacts(
        "t2", "PCs for Tokyo", "awarded", 5, "PCs", UNIT, [("LOT-1", "all")],
        [ocds.TenderMember(CHIYODA, "LOT-1", 10), ocds.TenderMember(CHUO, "LOT-1", 10)],
        "国税庁", nta, 150_000, WHEN,
        [Contract("t2", "131016", "LOT-1", 10, 150_000, 1_500_000, "pending"),
         Contract("t2", "131024", "LOT-1", 10, 150_000, 1_500_000, "pending")],
        [ocds.BidFact("b1", "LOT-1", nta, "国税庁", "submitted", 20 * 150_000, WHEN),
         ocds.BidFact("b2", "LOT-1", toyota, "トヨタ自動車", "submitted", 20 * 160_000, WHEN)],
        {"LOT-1": ocds.LotWinner(nta, "国税庁", "b1")})
    return ocds.package([ocds.contracting_release("r1", TOKYO, facts, WHEN)], "https://example.jp/x", WHEN, "K")


def test_bids_extension_validates_and_names_the_winning_bid() -> None:
    package = bid_package()
    assert errors(package) == []
    release = package["releases"][0]
    assert [b["value"]["amount"] for b in release["bids"]["details"]] == [3_000_000, 3_200_000]
    assert release["awards"][0]["relatedBid"] == "b1"
    assert release["awards"][0]["suppliers"] == [{"id": "JP-JCN-7000012050002", "name": "国税庁"}]
    roles = {p["id"]: p["roles"] for p in release["parties"]}
    assert roles["JP-JCN-7000012050002"] == ["tenderer", "supplier"] and roles["JP-JCN-1180301018771"] == ["tenderer"]
    broken = copy.deepcopy(package)
    broken["releases"][0]["bids"]["details"][0]["status"] = "opened"
    assert any("bids/details/0/status" in e for e in errors(broken))
