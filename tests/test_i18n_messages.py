"""Problems in Japanese with `Accept-Language: ja`, in English without it (issue 14).

The routes come from the app (tests/test_route_matrix.py's list), so every error class the matrix
provokes (401, 403, 404, 405, 409, 412, 422, 428) is checked in both languages; the framework's own
answers (400 bad JSON, 413, 415, 429, 404 for an unknown address, 405) and msgspec's validation
messages are sent as tests/test_hardening.py's probe sends them.
"""

from __future__ import annotations

import json
import re

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.settings import Settings
from tests.conftest import KeyFactory, assert_problem
from tests.test_route_matrix import OPEN, ROLES, ROUTES, _concrete

KANA_KANJI = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
JA = {"Accept-Language": "ja"}
CHIYODA = "131016"


def japanese(body: dict) -> None:
    """Title, detail and every field message say something in Japanese."""
    assert KANA_KANJI.search(body["title"]), body
    assert KANA_KANJI.search(body["detail"]), body
    for error in body.get("errors") or []:
        assert KANA_KANJI.search(error["message"]), body


def english(body: dict) -> None:
    """No kana or kanji outside what the client itself sent (the tests send only ASCII)."""
    text = json.dumps(body, ensure_ascii=False)
    assert not KANA_KANJI.search(text), body
    assert re.search(r"[A-Za-z]{3,}", body["detail"]), body


@pytest.mark.parametrize(("method", "path", "roles"), [r for r in ROUTES if r[1] not in OPEN],
                         ids=lambda v: v if isinstance(v, str) else None)
async def test_every_route_answers_its_problems_in_japanese(client: AsyncTestClient, make_key: KeyFactory,
                                                            method: str, path: str, roles) -> None:
    url = _concrete(path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    r = await client.request(method, url, json=body, headers=JA)
    japanese(assert_problem(r, 401))
    assert r.headers["content-language"] == "ja"
    english(assert_problem(await client.request(method, url, json=body), 401))
    for role, tenant in ROLES.items():
        headers = {**(await make_key(role, tenant)), "If-Match": '"1"'}
        r = await client.request(method, url, json=body, headers={**headers, **JA})
        if r.status_code >= 400:
            japanese(assert_problem(r, r.status_code))
            plain = await client.request(method, url, json=body, headers=headers)
            assert plain.status_code == r.status_code
            english(assert_problem(plain, plain.status_code))
            assert plain.headers["content-language"] == "en"


# msgspec's and Litestar's validation forms, each as a request that provokes it: (method, path, body, field).
VALIDATION = [
    ("GET", "/v1/assets?limit=abc", None, "limit"),
    ("PUT", f"/v1/municipalities/{CHIYODA}/settings", {"decision_days": 0}, "decision_days"),
    ("PUT", f"/v1/municipalities/{CHIYODA}/settings", {"decision_days": "soon"}, "decision_days"),
    ("POST", "/v1/keys", {"role": "municipality", "tenant": CHIYODA}, "name"),
    ("POST", "/v1/keys", {"role": "municipality", "tenant": CHIYODA, "name": ""}, "name"),
    ("POST", "/v1/keys", {"role": "mayor", "tenant": CHIYODA, "name": "x"}, "role"),
    ("POST", "/v1/keys", {"role": "municipality", "tenant": CHIYODA, "name": "x", "colour": 1}, "colour"),
    ("POST", "/v1/keys", {"role": "municipality", "tenant": 131016, "name": "x"}, "tenant"),
    ("POST", "/v1/assets", {"source_id": "a", "category": "streetlight", "name": "x", "geometry": "here"},
     "geometry"),
]


@pytest.mark.parametrize(("method", "url", "body", "field"), VALIDATION)
async def test_validation_errors_are_sentences_naming_the_field(client: AsyncTestClient, make_key: KeyFactory,
                                                                method: str, url: str, body, field: str) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    ja = assert_problem(await client.request(method, url, json=body, headers={**chiyoda, **JA}), 422)
    japanese(ja)
    en = assert_problem(await client.request(method, url, json=body, headers=chiyoda), 422)
    english(en)
    for said in (ja, en):
        assert field in said["detail"] and any(field in e["field"] for e in said["errors"]), said
        # msgspec's own wording never reaches the client.
        assert "Expected `" not in said["detail"] and "Object missing" not in said["detail"], said
    assert en["detail"].startswith(("Enter", "Send", "Give", field)) or "accepts" in en["detail"], en


async def test_a_bound_says_what_to_enter(client: AsyncTestClient, make_key: KeyFactory) -> None:
    """msgspec's `Expected `int` >= 1` for the query parameter q (Parameter(ge=1)) as the issue asks."""
    chiyoda = await make_key("municipality", CHIYODA)
    url = "/v1/procurement/rounds/00000000-0000-0000-0000-000000000000/what-if?pool=p&k=0&q=0"
    ja = assert_problem(await client.get(url, headers={**chiyoda, **JA}), 422)
    assert "q には 1 以上の整数を入力してください" in ja["detail"], ja
    en = assert_problem(await client.get(url, headers=chiyoda), 422)
    assert "Enter a whole number of at least 1 for q" in en["detail"], en
    assert [e["field"] for e in en["errors"]] == ["q"]


async def test_framework_answers_in_japanese(client: AsyncTestClient, make_key: KeyFactory) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    as_json = {**chiyoda, "Content-Type": "application/json"}
    probes = [
        (400, "POST", "/v1/assets", {**as_json}, "{not json"),
        (400, "POST", "/v1/assets", {**as_json}, "[" * 2000 + "]" * 2000),
        (415, "POST", "/v1/assets", {**chiyoda, "Content-Type": "text/plain"}, "{}"),
        (413, "POST", "/v1/assets", {**as_json}, json.dumps({"name": "x" * 20_000_000})),
        (404, "GET", "/v1/no-such-thing", chiyoda, None),
        (405, "PUT", "/v1/me", chiyoda, None),
    ]
    for status, method, url, headers, content in probes:
        r = await client.request(method, url, content=content, headers={**headers, **JA})
        assert r.status_code == status or (status == 400 and r.status_code == 422), (url, r.text[:300])
        japanese(assert_problem(r, r.status_code))
        plain = await client.request(method, url, content=content, headers=headers)
        english(assert_problem(plain, plain.status_code))


async def test_rate_limit_in_japanese(settings: Settings, make_key: KeyFactory) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    tight = msgspec.structs.replace(settings, rate_key_requests=2)
    async with AsyncTestClient(app=create_app(tight)) as c:
        statuses = [(await c.get("/v1/me", headers=chiyoda)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        japanese(assert_problem(await c.get("/v1/me", headers={**chiyoda, **JA}), 429))
        english(assert_problem(await c.get("/v1/me", headers=chiyoda), 429))


# Loader checks (loaders/, LoadError) reached through an upload: (files, query, status, English words).
UPLOAD_FAILURES = [
    ({"file": ("header.csv", b"source_id,name\n", "text/csv")}, {}, 400, "has a header but no data rows"),
    ({"file": ("broken.zip", b"PK\x03\x04nonsense", "application/zip")}, {}, 400, "is not a valid zip file"),
    ({"file": ("broken.gpkg", b"SQLite format 3\x00garbage", "application/octet-stream")}, {}, 400,
     "is not a GeoPackage that GDAL can open"),
    ({"file": ("nocoords.csv", b"source_id,name,category\n1,a,streetlight\n", "text/csv")}, {}, 400,
     "no latitude/longitude columns"),
    ({"file": ("lights.csv", b"source_id,name\n1,a\n", "text/csv")}, {"mapping": "height_m=tall"}, 400,
     "the file has no column 'tall'"),
    ({"file": ("lights.csv", b"source_id,name\n1,a\n", "text/csv")}, {"mapping": "justaword"}, 422,
     "write attribute=value"),
    ({"file": ("lights.csv", b"source_id,name\n1,a\n", "text/csv")}, {"format": "dbf"}, 422,
     "unknown format 'dbf'"),
]


@pytest.mark.parametrize(("files", "query", "status", "words"), UPLOAD_FAILURES)
async def test_upload_load_errors_in_japanese(client: AsyncTestClient, make_key: KeyFactory, files: dict,
                                              query: dict, status: int, words: str) -> None:
    """The loader's own sentence is said in the request's language, not English inside a Japanese frame."""
    chiyoda = await make_key("municipality", CHIYODA)
    en = assert_problem(await client.post("/v1/assets/uploads", params=query, files=files, headers=chiyoda), status)
    # `e.g. name=名称` names a Japanese column in both languages.
    english(json.loads(json.dumps(en, ensure_ascii=False).replace("名称", "")))
    assert words in en["detail"], en
    ja = assert_problem(await client.post("/v1/assets/uploads", params=query, files=files,
                                          headers={**chiyoda, **JA}), status)
    japanese(ja)
    assert words not in ja["detail"], ja
    # What is left in Latin letters is what the client sent or named (file, column, format), CLI-style flags
    # and format names: no English sentence of three words or more.
    assert not re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", ja["detail"]), ja
