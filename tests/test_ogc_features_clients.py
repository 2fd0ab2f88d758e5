"""Real OGC API - Features clients against a served registry: GDAL's OAPIF driver and owslib."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from litestar.testing import AsyncTestClient

from tests import served as served_module
from tests.assets_fixture import CHIYODA, fixture_assets, publish
from tests.served import free_port, served

# Chiyoda's fixture assets scatter within ±0.02° of its town hall (139.7536, 35.6939); Shinjuku's
# start 0.03° further west, so this box holds Chiyoda's only.
BOX = (139.73, 35.67, 139.78, 35.72)


def _ogrinfo(base: str, key: str, *args: str) -> tuple[list[str], int]:
    """The asset_id of every feature ogrinfo lists (GDAL 3.6 has no -json: its text form is read), and how
    many pages it followed with a cursor (from curl's verbose log)."""
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {key}"}
    command = ["ogrinfo", "-ro", "--config", "CPL_CURL_VERBOSE", "YES", "-oo", "PAGE_SIZE=7", f"OAPIF:{base}/ogc"]
    out = subprocess.run([*command, *args],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ids = re.findall(r"^  asset_id \(String\) = (\S+)$", out.stdout, flags=re.MULTILINE)
    return ids, len(re.findall(r"^> GET /ogc/collections/assets/items\?\S*after=", out.stderr, flags=re.MULTILINE))


def _served_at_public_url(settings, monkeypatch):
    """A served registry whose links are absolute on its own address (KYODO_PUBLIC_URL): GDAL 3.6 appends a
    root-relative link (/ogc/collections/...) to the landing page's URL, giving /ogc/ogc/collections/...."""
    port = free_port()
    monkeypatch.setattr(served_module, "free_port", lambda: port)
    return served(settings, KYODO_PUBLIC_URL=f"http://127.0.0.1:{port}")


def _anonymous_ogrinfo(base: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc"], capture_output=True, text=True,
                          timeout=60, env={k: v for k, v in os.environ.items() if k != "GDAL_HTTP_HEADERS"})


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed")
async def test_gdal_reads_one_municipality_to_the_end(client: AsyncTestClient, make_key, settings, owner,
                                                      monkeypatch) -> None:
    headers = await make_key("municipality", CHIYODA)
    for asset in fixture_assets(25):
        if asset["municipality_code"] == CHIYODA:
            await publish(client, headers, asset)
    expected = await owner.fetchval("select count(*) from assets where status = 'published' "
                                    "and geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)", *BOX)
    ids = {r[0] for r in await owner.fetch("select asset_id::text from assets where status = 'published' "
                                           "and geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)", *BOX)}
    key = headers["Authorization"].removeprefix("Bearer ")
    with _served_at_public_url(settings, monkeypatch) as base:
        # ogrinfo lists every feature, page after page (PAGE_SIZE=7: four pages for 25); -spat sends the bbox.
        listed, followed = _ogrinfo(base, key, "-spat", *(str(v) for v in BOX), "assets")
    assert expected == 25 and followed >= 3
    assert len(listed) == expected
    assert set(listed) == ids


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed")
async def test_gdal_is_refused_without_a_key(settings) -> None:
    with served(settings) as base:
        out = _anonymous_ogrinfo(base)
    assert out.returncode != 0 and "401" in out.stdout + out.stderr


async def test_owslib_lists_collections_and_reads_items(client: AsyncTestClient, make_key, settings) -> None:
    from owslib.ogcapi.features import Features

    headers = await make_key("municipality", CHIYODA)
    published = [await publish(client, headers, a) for a in fixture_assets(5) if a["municipality_code"] == CHIYODA]
    with served(settings) as base:
        api = Features(f"{base}/ogc", headers=headers)
        names = {c["id"] for c in api.collections()["collections"]}
        page = api.collection_items("assets", limit=100, municipality=CHIYODA)
        one = api.collection_item("assets", published[0]["id"])
    assert names == {"assets", "priority-areas", "municipalities", "coverage-gaps"}
    assert {f["id"] for f in page["features"]} == {p["id"] for p in published}
    assert one["geometry"]["coordinates"] == published[0]["geometry"]["coordinates"]
