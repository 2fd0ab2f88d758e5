"""The committed OpenAPI document is the app's, and it lists every route."""

import json

from registry.app import route_handlers
from registry.cli import OPENAPI_PATH, openapi_document, render_openapi


def test_committed_document_matches_the_app() -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render_openapi(), (
        "openapi/openapi.json is out of date: run `.venv/bin/registry openapi` and commit it")


def test_every_route_is_documented() -> None:
    paths = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))["paths"]
    document = openapi_document()["paths"]
    assert paths.keys() == document.keys()
    for handler in route_handlers():
        for path in handler.paths:
            documented = path.replace(":str", "").replace(":int", "").replace(":uuid", "")
            for method in handler.http_methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                assert method.lower() in paths[documented], f"{method} {documented} missing"
