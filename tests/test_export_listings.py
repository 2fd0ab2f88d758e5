"""Exports of applications, a round's needs and its savings: every format holds what the list holds, Japanese
labels under Japanese headers, and each tenant's export holds only what that tenant may see."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from registry.applications.labels import STATUS
from registry.applications.models import Application
from registry.procurement.labels import BUDGET, LEVEL
from tests.assets_fixture import CHIYODA, SHINJUKU, publish
from tests.conftest import assert_problem
from tests.export_read import rows, split
from tests.test_procurement_api import CHUO, MINATO, World, submit_fixture, world  # noqa: F401

FORMATS = [{"f": "csv"}, {"f": "csv", "encoding": "cp932"}, {"f": "xlsx"}, {"f": "csv", "header": "ja"}]
POLE = {"category": "utility_pole", "name": "柱", "geometry": {"type": "Point", "coordinates": [139.7536, 35.6938]}}


async def _listed(client: AsyncTestClient, key: dict, path: str) -> list[dict]:
    """Every item of a paged list, following `next` (the export's oracle)."""
    items, url, params = [], path, {"limit": 2}
    while url:
        r = await client.get(url, params=params, headers=key)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        url, params = (r.json()["next"] or "").replace("http://testserver.local", ""), None
    return items


@pytest.fixture
async def applications(client: AsyncTestClient, make_key) -> dict[str, dict]:
    keys = {"chiyoda": await make_key("municipality", CHIYODA), "shinjuku": await make_key("municipality", SHINJUKU),
            "docomo": await make_key("carrier", "docomo"), "kddi": await make_key("carrier", "kddi"),
            "tokyo": await make_key("prefecture", "130001"), "osaka": await make_key("prefecture", "270008")}
    places = {"chiyoda": [139.7536, 35.6938], "shinjuku": [139.7036, 35.6939]}
    pairs = (("docomo", "chiyoda"), ("docomo", "chiyoda"), ("docomo", "shinjuku"), ("kddi", "chiyoda"))
    for n, (who, owner) in enumerate(pairs):
        asset = await publish(client, keys[owner], {**POLE, "source_id": f"P-{n}",
                                                    "geometry": {"type": "Point", "coordinates": places[owner]}})
        r = await client.post("/v1/applications", json={"asset_ids": [asset["id"]], "purpose": "=5G 基地局",
                                                        "starts_on": "2027-04-01"}, headers=keys[who])
        assert r.status_code == 201, r.text
    return keys


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda p: "-".join(p.values()))
async def test_applications_export_is_the_list_each_tenant_sees(client: AsyncTestClient, applications: dict,
                                                                fmt: dict) -> None:
    seen_counts = {}
    for who, key in applications.items():
        listed = await _listed(client, key, "/v1/applications")
        r = await client.get("/v1/applications/export", params=fmt, headers=key)
        assert r.status_code == 200, r.text
        header, data, notes = split(rows(r))
        assert notes == [] and int(r.headers["x-export-rows"]) == len(data) == len(listed)
        assert [row[0] for row in data] == [a["application_id"] for a in listed]
        lang = fmt.get("header", "ja" if fmt["f"] == "xlsx" else "en")
        status = data[0][header.index("状態" if lang == "ja" else "status")] if data else None
        assert data == [] or status == (STATUS["submitted"] if lang == "ja" else "submitted")
        assert all(row[4] == "=5G 基地局" or row[4] == "'=5G 基地局" for row in data)
        seen_counts[who] = {row[1] for row in data}, {row[2] for row in data}, len(data)
    # Tenant isolation: each sees its own and no more (4 applications in all, 3 on Chiyoda's assets).
    assert seen_counts["docomo"][1] == {"docomo"} and seen_counts["docomo"][2] == 3
    assert seen_counts["kddi"][1] == {"kddi"} and seen_counts["kddi"][2] == 1
    assert seen_counts["chiyoda"][0] == {CHIYODA} and seen_counts["chiyoda"][2] == 3
    assert seen_counts["shinjuku"][0] == {SHINJUKU} and seen_counts["shinjuku"][2] == 1
    assert seen_counts["tokyo"][2] == 4 and seen_counts["osaka"][2] == 0
    assert len(Application.__struct_fields__) - 1 == len(header)  # every field but the history


async def test_applications_export_filters_as_the_list(client: AsyncTestClient, applications: dict) -> None:
    r = await client.get("/v1/applications/export", params={"status": "approved"}, headers=applications["tokyo"])
    assert r.status_code == 200 and split(rows(r))[1] == []
    assert_problem(await client.get("/v1/applications/export", params={"encoding": "latin-1"},
                                    headers=applications["tokyo"]), 422)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda p: "-".join(p.values()))
async def test_needs_export_is_the_list_each_tenant_sees(world: World, fmt: dict) -> None:  # noqa: F811
    w = world
    await submit_fixture(w)
    path = f"/v1/procurement/rounds/{w.round_id}/needs"
    for who, expected in (("tokyo", {CHIYODA, CHUO, MINATO}), ("B", {CHUO}), ("A", {CHIYODA})):
        listed = await _listed(w.client, w.keys[who], path)
        r = await w.client.get(path + "/export", params=fmt, headers=w.keys[who])
        assert r.status_code == 200, r.text
        header, data, _ = split(rows(r))
        assert [row[0] for row in data] == [n["need_id"] for n in listed] and int(r.headers["x-export-rows"]) == len(
            listed)
        assert {row[1] for row in data} == expected
        lang = fmt.get("header", "ja" if fmt["f"] == "xlsx" else "en")
        budget = {row[header.index("予算の状況" if lang == "ja" else "budget_status")] for row in data}
        assert budget == ({BUDGET["approved"]} if lang == "ja" else {"approved"})
    for who in ("saitama", "S"):
        assert_problem(await w.get(who, path + "/export"), 404)


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda p: "-".join(p.values()))
async def test_savings_export_equals_the_report(world: World, fmt: dict) -> None:  # noqa: F811
    w = world
    await submit_fixture(w)
    path = f"/v1/procurement/rounds/{w.round_id}/savings"
    for who in ("tokyo", "B"):
        body = (await w.get(who, path + "?detail=municipality")).json()
        # The headline first (no price savings of its own), then the tendered rows, then the untendered section.
        report = [{"level": "headline"}, *body["rows"], *body["untendered"]]
        r = await w.client.get(path + "/export", params={**fmt, "detail": "municipality"}, headers=w.keys[who])
        assert r.status_code == 200, r.text
        header, data, _ = split(rows(r))
        assert len(data) == len(report) == int(r.headers["x-export-rows"])
        lang = fmt.get("header", "ja" if fmt["f"] == "xlsx" else "en")
        levels = [row[0] for row in data]
        assert levels == [LEVEL[x["level"]] if lang == "ja" else x["level"] for x in report]
        amount = header.index("価格削減額(円)" if lang == "ja" else "price_savings_yen")
        for row, x in zip(data, report, strict=True):
            expected = x["price_savings"]["amount_yen"] if x.get("price_savings") else None
            assert (None if row[amount] is None else float(row[amount])) == expected
        if who == "B":  # another municipality's detail stays out of its export, as out of its report
            cells = {str(c) for row in data for c in row if c is not None}
            assert CHUO in cells and CHIYODA not in cells and MINATO not in cells
    for who in ("saitama", "S"):
        assert_problem(await w.get(who, path + "/export"), 404)
