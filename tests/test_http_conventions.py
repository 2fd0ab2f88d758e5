"""Web-friendly HTTP on every route: CORS for configured origins, compression, HEAD, ETag and 304."""

import gzip

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.headers import matches
from registry.settings import Settings
from tests.assets_fixture import CHIYODA

ALLOWED = "https://map.example.lg.jp"


def test_settings_read_cors_origins() -> None:
    env = {"DATABASE_URL": "postgresql:///x", "KYODO_CORS_ORIGINS": f"{ALLOWED}, https://b.example.jp"}
    assert Settings.from_env(env).cors_origins == (ALLOWED, "https://b.example.jp")
    assert Settings.from_env({"DATABASE_URL": "postgresql:///x"}).cors_origins == ()


@pytest.mark.parametrize(("header", "tag", "expected"), [
    ('"a"', '"a"', True), ('W/"a"', '"a"', True), ('"b", W/"a"', '"a"', True), ("*", '"a"', True),
    ('"b"', '"a"', False), ('"a2"', '"a"', False), ('"b", "c"', 'W/"a"', False)])
def test_if_none_match_weak_comparison(header: str, tag: str, expected: bool) -> None:
    assert matches(header, tag) is expected


async def test_cors_preflight_only_for_configured_origins(settings: Settings) -> None:
    configured = msgspec.structs.replace(settings, cors_origins=(ALLOWED,))
    async with AsyncTestClient(app=create_app(configured)) as client:
        for path, method in [("/v1/assets", "POST"), ("/v1/assets", "GET"),
                             ("/v1/assets/00000000-0000-0000-0000-000000000000", "PATCH"),
                             ("/v1/assets/00000000-0000-0000-0000-000000000000", "DELETE")]:
            asked = {"Access-Control-Request-Method": method,
                     "Access-Control-Request-Headers": "authorization, content-type, if-match"}
            ok = await client.options(path, headers={"Origin": ALLOWED, **asked})
            assert ok.status_code in (200, 204), ok.text
            assert ok.headers["access-control-allow-origin"] == ALLOWED
            assert method in ok.headers["access-control-allow-methods"] or \
                ok.headers["access-control-allow-methods"] == "*"
            refused = await client.options(path, headers={"Origin": "https://evil.example.com", **asked})
            assert "access-control-allow-origin" not in refused.headers
            assert refused.status_code >= 400
    async with AsyncTestClient(app=create_app(settings)) as client:
        r = await client.options("/v1/assets", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in r.headers


async def _thousand_assets(owner: asyncpg.Connection) -> None:
    await owner.executemany(
        "insert into assets (municipality_code, source_id, category, name, address, geom) "
        "values ($1, $2, 'streetlight', $3, $4, ST_SetSRID(ST_MakePoint($5, 35.69), 4326))",
        [(CHIYODA, f"c-{i}", f"street light {i}", f"千代田区 1-{i}", 139.70 + i / 10_000) for i in range(1000)])


async def test_gzip_shrinks_a_thousand_feature_page(client: AsyncTestClient, make_key, owner) -> None:
    await _thousand_assets(owner)
    carrier = await make_key("carrier", "docomo")
    plain = await client.get("/v1/assets?limit=1000", headers={**carrier, "Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert len(plain.json()["features"]) == 1000
    packed = await client.get("/v1/assets?limit=1000", headers={**carrier, "Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    sent = int(packed.headers["content-length"])
    # httpx has already decoded the body; the oracle is gzip itself, undoing a fresh compression.
    assert packed.content == plain.content
    assert sent < len(plain.content) / 4, (sent, len(plain.content))
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content
    brotli = await client.get("/v1/assets?limit=1000", headers={**carrier, "Accept-Encoding": "br"})
    assert brotli.headers["content-encoding"] == "br" and brotli.content == plain.content
    small = await client.get("/v1/prefectures?limit=1", headers={**carrier, "Accept-Encoding": "gzip"})
    if len(small.content) < 1024:
        assert "content-encoding" not in small.headers


@pytest.mark.parametrize("path", ["/v1/assets", "/v1/prefectures", "/ogc/tileMatrixSets/WebMercatorQuad"])
async def test_head_answers_like_get_without_a_body(client: AsyncTestClient, make_key, path: str) -> None:
    carrier = await make_key("carrier", "docomo")
    got = await client.get(path, headers={**carrier, "Accept-Encoding": "identity"})
    head = await client.head(path, headers={**carrier, "Accept-Encoding": "identity"})
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert int(head.headers["content-length"]) == len(got.content)


async def test_if_none_match_answers_304(client: AsyncTestClient, make_key, owner) -> None:
    await _thousand_assets(owner)
    carrier = await make_key("carrier", "docomo")
    one = (await client.get("/v1/assets?limit=1", headers=carrier)).json()["features"][0]["id"]
    for path in ["/v1/assets?limit=10", f"/v1/assets/{one}", "/v1/prefectures"]:
        first = await client.get(path, headers=carrier)
        tag = first.headers["etag"]
        assert first.status_code == 200 and tag.strip('W/"')
        for sent in (tag, "W/" + tag.removeprefix("W/"), f'"nope", {tag}'):
            again = await client.get(path, headers={**carrier, "If-None-Match": sent})
            assert again.status_code == 304, (path, sent)
            assert again.content == b"" and again.headers["etag"] == tag
        other = await client.get(path, headers={**carrier, "If-None-Match": '"nope"'})
        assert other.status_code == 200 and other.content == first.content
    changed = await client.get("/v1/assets?limit=11", headers={**carrier, "If-None-Match": tag})
    assert changed.status_code == 200


async def test_keyed_answers_are_private(client: AsyncTestClient, make_key) -> None:
    carrier = await make_key("carrier", "docomo")
    r = await client.get("/v1/prefectures", headers=carrier)
    assert "private" in r.headers["cache-control"] and "public" not in r.headers["cache-control"]
