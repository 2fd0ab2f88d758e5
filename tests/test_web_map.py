"""The web map in a real browser (issue 12), against a served registry with seeded assets.

Oracles are independent of the page: what /v1/assets and /v1/applications answer to a bearer key, read
with httpx, not through the page. Every test also checks that the page requested nothing from another
origin (LGWAN reaches no CDN) and that the browser console showed no error.
"""

from __future__ import annotations

import json

import httpx
import pyogrio
from litestar.testing import AsyncTestClient

from tests.assets_fixture import CHIYODA, SHINJUKU, publish
from tests.served import served
from tests.test_boundary_tiles import CHIYODA_SHAPE, SHINJUKU_SHAPE
from tests.web_browser import browser_page, distinct_colours, rendered_ids, sign_in, wait_idle, wait_until

# Twelve assets on a 4 x 3 grid 0.0015° apart (about 135 m, 35 px at zoom 15) around Chiyoda's town hall:
# at zoom 15 on a 1,026 x 720 px map the view spans about ±0.022° by ±0.012°, so every asset is inside it
# with at least 0.019° (400 px) to spare and none is cut by an edge.
CENTRE = (139.7536, 35.6939)
ZOOM = 15
POWER = ["yes", "no", "unknown"]
AVAILABILITY = ["offered", "on_request", "partly_available", "occupied"]


def _grid() -> list[dict]:
    assets = []
    for i in range(12):
        lon = CENTRE[0] + (i % 4 - 1.5) * 0.0015
        lat = CENTRE[1] + (i // 4 - 1) * 0.0015
        assets.append({"source_id": f"web-{i:02d}", "category": "streetlight" if i % 2 else "rooftop",
                       "name": f"千代田 試験資産 {i}", "address": f"千代田区 1-{i}",
                       "geometry": {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]},
                       "height_m": 5.0 * (i + 1), "power": POWER[i % 3], "fibre_distance_m": 50.0 * i,
                       "availability": AVAILABILITY[i % 4], "max_tenants": i % 3 + 1, "fee_rule": "年額 12,000円",
                       "mountable_height_m": None if i % 4 == 0 else 2.0 * i,
                       "spare_load_kg": None if i % 5 == 0 else 20.0 * i,
                       "contact": "chiyoda-5g@example.lg.jp"})
    return assets


def _bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def _seed(client: AsyncTestClient, make_key) -> tuple[dict[str, str], list[dict]]:
    owner = await make_key("municipality", CHIYODA)
    return owner, [await publish(client, owner, a) for a in _grid()]


async def _with_cookie(base: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, cookies={"kyodo_session": token}) as c:
        return await c.get("/v1/session")


async def _centre_map(w) -> None:
    await w.page.evaluate("([c, z]) => window.kyodoMap.jumpTo({center: c, zoom: z})", [list(CENTRE), ZOOM])
    await wait_idle(w)


async def test_carrier_filters_opens_applies_and_signs_out(client: AsyncTestClient, make_key, settings) -> None:
    _, published = await _seed(client, make_key)
    carrier = await make_key("carrier", "docomo")
    with served(settings) as base:
        async with httpx.AsyncClient(base_url=base, headers=carrier, timeout=30) as api, browser_page(base) as w:
            await sign_in(w, _bearer(carrier))
            cookies = {c["name"]: c for c in await w.page.context.cookies()}
            session = cookies["kyodo_session"]
            assert session["httpOnly"] and session["sameSite"] == "Strict" and not session["secure"]
            # The key itself is nowhere the page's script could read it.
            assert _bearer(carrier) not in await w.page.evaluate("document.documentElement.outerHTML + "
                                                                 "JSON.stringify(localStorage)")

            await _centre_map(w)
            assert await distinct_colours(w) > 20  # sea, land, outlines, labels and points: not a blank canvas
            bbox = await w.page.evaluate("window.kyodoMap.getBounds().toArray().flat().join(',')")
            answer = await api.get("/v1/assets", params={"bbox": bbox, "limit": 100})
            everything = {f["id"] for f in answer.json()["features"]}
            assert everything == {a["id"] for a in published}
            assert await rendered_ids(w, "asset-points") == everything

            # A filter changes the map and the list to what /v1/assets answers for the same filter.
            await w.page.fill("#f-min-height", "30")
            await w.page.dispatch_event("#f-min-height", "change")
            await w.page.select_option("#f-power", "yes")
            await wait_until(w, "document.querySelectorAll('#asset-list li').length === 2")
            await wait_idle(w)
            answer = await api.get("/v1/assets", params={"bbox": bbox, "min_height": 30, "power": "yes",
                                                         "limit": 100})
            wanted = answer.json()["features"]
            expected = {f["id"] for f in wanted}
            # Heights 5(i + 1) >= 30 for i >= 5, power "yes" for i % 3 == 0: assets 6 and 9. The API is the
            # oracle; the grid's own arithmetic cross-checks it.
            assert expected == {a["id"] for i, a in enumerate(published) if 5 * (i + 1) >= 30 and i % 3 == 0}
            assert await rendered_ids(w, "asset-points") == expected
            listed = await w.page.eval_on_selector_all("#asset-list li", "els => els.map(e => e.dataset.assetId)")
            assert set(listed) == expected and len(listed) == len(expected)

            # Clicking an asset on the map opens its panel.
            target = next(f for f in wanted if f["properties"]["availability"] == "offered") if any(
                f["properties"]["availability"] == "offered" for f in wanted) else wanted[0]
            x, y = await w.page.evaluate("(c) => { const p = window.kyodoMap.project(c); return [p.x, p.y]; }",
                                         target["geometry"]["coordinates"])
            box = await w.page.locator("#map").bounding_box()
            await w.page.mouse.click(box["x"] + x, box["y"] + y)
            await w.page.wait_for_selector(f"#detail[data-asset-id='{target['id']}']:not([hidden])")
            panel = await w.page.inner_text("#detail")
            assert "年額 12,000円" in panel and "chiyoda-5g@example.lg.jp" in panel

            # "Apply" from the panel creates an application the API then lists.
            await w.page.fill("#purpose", "5G スモールセル")
            await w.page.click("#apply-form button[type=submit]")
            created = await w.page.wait_for_selector("#applied")
            application_id = await created.get_attribute("data-application")
            listed_by_api = (await api.get("/v1/applications", params={"limit": 100})).json()["items"]
            mine = [a for a in listed_by_api if a["application_id"] == application_id]
            assert mine and mine[0]["asset_ids"] == [target["id"]] and mine[0]["purpose"] == "5G スモールセル"
            await w.page.click("#tab-applications")
            await w.page.wait_for_selector(f"#application-list [data-application='{application_id}']")

            # Signing out ends the session: the cookie no longer works.
            assert (await _with_cookie(base, session["value"])).status_code == 200
            await w.page.click("#signout")
            await w.page.wait_for_url(base + "/")
            assert (await _with_cookie(base, session["value"])).status_code == 401

            assert w.foreign_requests() == []
            assert w.errors == []
            assert any("/v1/tiles/assets/" in u for u in w.requests)


async def test_municipality_sees_drafts_and_decides_from_the_page(client: AsyncTestClient, make_key,
                                                                   settings) -> None:
    owner, published = await _seed(client, make_key)
    draft = await publish(client, owner, {**_grid()[0], "source_id": "web-draft", "name": "下書きの資産",
                                          "status": "draft"})
    carrier = await make_key("carrier", "docomo")
    filed = await client.post("/v1/applications", headers=carrier, json={
        "asset_ids": [published[0]["id"]], "purpose": "5G", "starts_on": "2030-04-01"})
    assert filed.status_code == 201, filed.text
    application_id = filed.json()["application_id"]
    with served(settings) as base:
        async with browser_page(base) as w:
            await sign_in(w, _bearer(owner))
            drafts = await w.page.eval_on_selector_all("#own-list li[data-status=draft]",
                                                       "els => els.map(e => e.textContent)")
            assert len(drafts) == 1 and "下書きの資産" in drafts[0]
            assert draft["properties"]["status"] == "draft"
            item = f"#pending-list [data-application='{application_id}']"
            await w.page.click(f"{item} button:has-text('承認')")
            await w.page.wait_for_selector(item, state="detached")
            async with httpx.AsyncClient(base_url=base, headers=carrier) as api:
                decided = (await api.get(f"/v1/applications/{application_id}")).json()
            assert decided["status"] == "approved"
            assert w.foreign_requests() == []
            assert w.errors == []


async def test_prefecture_sees_its_municipalities_shaded(client: AsyncTestClient, make_key, settings) -> None:
    await _seed(client, make_key)
    prefecture = await make_key("prefecture", "130001")
    with served(settings) as base:
        async with httpx.AsyncClient(base_url=base, headers=prefecture) as api:
            stats = (await api.get("/v1/stats/assets", params={"group_by": "municipality", "prefecture": "13"})).json()
        async with browser_page(base) as w:
            await sign_in(w, _bearer(prefecture))
            await wait_idle(w)
            shaded = await w.page.evaluate("window.kyodoMap.queryRenderedFeatures({layers: ['municipality-shade']})"
                                           ".map(f => [f.properties.code, f.properties.count])")
            counts = dict(shaded)
            assert len(counts) > 30  # Tokyo's 62 municipalities, most of them in view
            assert counts[CHIYODA] == 12 == next(g["count"] for g in stats["groups"] if g["key"] == CHIYODA)
            assert await w.page.locator("#national-chart").count() == 1
            assert w.foreign_requests() == []
            assert w.errors == []


async def _list_ids(w) -> list[str]:
    return await w.page.eval_on_selector_all("#asset-list li", "els => els.map(e => e.dataset.assetId)")


async def _wait_for_list(w, expected: set[str]) -> None:
    """Until the page's list holds exactly `expected` (it refreshes after each change, asynchronously)."""
    wanted = sorted(expected)
    await wait_until(w, f"JSON.stringify([...document.querySelectorAll('#asset-list li')].map(e => e.dataset.assetId)"
                        f".sort()) === '{json.dumps(wanted, separators=(',', ':'))}'")


async def test_suitability_filters_geopackage_and_address_search(client: AsyncTestClient, make_key, settings,
                                                                 tmp_path) -> None:
    _, published = await _seed(client, make_key)
    carrier = await make_key("carrier", "docomo")
    with served(settings) as base:
        async with httpx.AsyncClient(base_url=base, headers=carrier, timeout=30) as api, browser_page(base) as w:
            await sign_in(w, _bearer(carrier))
            await _centre_map(w)
            bbox = await w.page.evaluate("window.kyodoMap.getBounds().toArray().flat().join(',')")
            for selector, value in (("#f-mountable", "10"), ("#f-load", "100"), ("#f-slots", "2")):
                await w.page.fill(selector, value)
                await w.page.dispatch_event(selector, "change")
            filters = {"min_mountable_height": 10, "min_spare_load": 100, "min_free_slots": 2}
            answer = (await api.get("/v1/assets", params={"bbox": bbox, **filters, "limit": 100})).json()
            expected = {f["id"] for f in answer["features"]}
            # Mountable 2i >= 10 (unknown when i % 4 == 0), load 20i >= 100 (unknown when i % 5 == 0) and
            # i % 3 + 1 >= 2 free slots: assets 7 and 11. The API is the oracle; the arithmetic checks it.
            assert expected == {published[i]["id"] for i in (7, 11)}
            await _wait_for_list(w, expected)
            await wait_idle(w)
            assert await rendered_ids(w, "asset-points") == expected

            # The GeoPackage link exports the same filter: read back, the same assets.
            href = await w.page.get_attribute("#export-gpkg", "href")
            assert href.startswith("/v1/assets/export?") and "f=gpkg" in href and "min_free_slots=2" in href
            download = await w.page.request.get(base + href)  # the page's own session cookie
            assert download.ok
            (tmp_path / "a.gpkg").write_bytes(await download.body())
            assert set(pyogrio.read_dataframe(tmp_path / "a.gpkg")["asset_id"]) == expected

            # The place search box also finds assets by address: "千代田区 1-1" is no place, but three addresses.
            for selector in ("#f-mountable", "#f-load", "#f-slots"):
                await w.page.fill(selector, "")
                await w.page.dispatch_event(selector, "change")
            await w.page.fill("#place", "千代田区 1-1")
            await w.page.press("#place", "Enter")
            found = (await api.get("/v1/assets", params={"address": "千代田区 1-1", "limit": 100})).json()
            by_address = {f["id"] for f in found["features"]}
            assert by_address == {published[i]["id"] for i in (1, 10, 11)}
            await _wait_for_list(w, by_address)
            assert "千代田区 1-1" in await w.page.inner_text("#address-filter")
            await w.page.click("#clear-address")
            await wait_until(w, "document.querySelectorAll('#asset-list li').length === 12")
            assert w.foreign_requests() == []
            assert w.errors == []


async def test_english_keyboard_and_the_masked_note(client: AsyncTestClient, make_key, settings) -> None:
    await _seed(client, make_key)
    shinjuku = await make_key("municipality", "131041")
    hidden = await publish(client, shinjuku, {**_grid()[0], "source_id": "web-restricted", "name": "制限付きの資産",
                                              "visibility": "restricted",
                                              "geometry": {"type": "Point", "coordinates": [139.7036, 35.6939]}})
    carrier = await make_key("carrier", "docomo")
    with served(settings) as base:
        async with httpx.AsyncClient(base_url=base, headers=carrier) as api, browser_page(base) as w:
            seen = (await api.get(f"/v1/assets/{hidden['id']}")).json()
            assert seen["properties"]["coarse_location"] is True and seen["properties"]["address"] is None
            await sign_in(w, _bearer(carrier))

            # English: the switch relabels the page and its controls.
            assert await w.page.inner_text("h1") == "共同レジストリ 資産マップ"
            await w.page.click("#lang")
            await wait_until(w, "document.documentElement.lang === 'en'")
            assert await w.page.inner_text("h1") == "Kyodo Registry asset map"
            assert await w.page.inner_text("#filters legend") == "Filters"
            assert (await w.page.inner_text("label[for=f-slots]")).startswith("Free slots at least")
            assert await w.page.inner_text("#lang") == "日本語"

            # Keyboard: Tab reaches every filter control, each with a visible focus ring.
            await w.page.evaluate("document.activeElement.blur()")
            reached = []
            for _ in range(40):
                await w.page.keyboard.press("Tab")
                focused = await w.page.evaluate("""() => { const e = document.activeElement;
                    const s = getComputedStyle(e); return [e.id, s.outlineStyle, s.outlineWidth]; }""")
                if focused[0].startswith("f-"):
                    assert focused[1] == "solid" and focused[2] == "3px", focused
                    reached.append(focused[0])
                if focused[0] == "f-slots":
                    break
            assert reached == ["f-category", "f-availability", "f-min-height", "f-power", "f-fibre", "f-mountable",
                               "f-load", "f-slots"]

            # The restricted asset, listed at its mesh centre, opens with the masked note; Escape closes it.
            await w.page.evaluate("(c) => window.kyodoMap.jumpTo({center: c, zoom: 14})",
                                  seen["geometry"]["coordinates"])
            item = f"#asset-list li[data-asset-id='{hidden['id']}'] button"
            await w.page.wait_for_selector(item)
            await w.page.focus(item)
            await w.page.keyboard.press("Enter")
            await w.page.wait_for_selector("#masked-note")
            assert "restricted" in await w.page.inner_text("#masked-note")
            await w.page.keyboard.press("Escape")
            await w.page.wait_for_selector("#detail", state="hidden")
            assert w.foreign_requests() == []
            assert w.errors == []


async def test_prefecture_shades_loaded_boundaries(client: AsyncTestClient, make_key, settings, owner) -> None:
    await _seed(client, make_key)
    for code, shape in ((CHIYODA, CHIYODA_SHAPE), (SHINJUKU, SHINJUKU_SHAPE)):
        await owner.execute("insert into municipality_boundaries (code, geom, source) "
                            "values ($1, ST_Multi(ST_GeomFromText($2, 4326)), 'test')", code, shape.wkt)
    prefecture = await make_key("prefecture", "130001")
    with served(settings) as base:
        async with browser_page(base) as w:
            await sign_in(w, _bearer(prefecture))
            await wait_idle(w)
            # Polygons replace the town-hall discs; each is coloured by its count: Chiyoda holds all 12
            # assets (the darkest, #08306b), Shinjuku none (the lightest, #f7fbff).
            assert await w.page.evaluate("!window.kyodoMap.getLayer('municipality-shade')")
            fills = await w.page.evaluate(
                "Object.fromEntries(window.kyodoMap.queryRenderedFeatures({layers: ['municipality-fill']})"
                ".map(f => [f.properties.code, Math.round(f.layer.paint['fill-color'].r * 255)]))")
            assert fills == {CHIYODA: 0x08, SHINJUKU: 0xF7}
            assert any("/v1/tiles/boundaries/" in u for u in w.requests)
            assert w.foreign_requests() == []
            assert w.errors == []
