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


def test_every_numeric_parameter_has_bounds_and_every_error_is_a_problem() -> None:
    document = openapi_document()
    unbounded, undocumented = [], []
    for path, item in document["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                schema = p.get("schema", {})
                kinds: set[str] = set()
                for part in (schema, *schema.get("oneOf", [])):
                    kind = part.get("type")
                    kinds |= set(kind) if isinstance(kind, list) else {kind}
                if kinds & {"integer", "number"} and ("minimum" not in schema or "maximum" not in schema):
                    unbounded.append(f"{method} {path} {p['name']}")
            for status, answer in op["responses"].items():
                if int(status) >= 400 and "application/problem+json" not in answer.get("content", {}):
                    undocumented.append(f"{method} {path} {status}")
            if path.startswith("/v1/"):
                # Every keyed route can refuse a key, rate-limit it, or find the database away.
                missing = {"401", "403", "429", "503"} - set(op["responses"])
                assert not missing, (method, path, missing)
            if any(p["name"] == "If-Match" for p in op.get("parameters", [])):
                assert {"412", "428"} <= set(op["responses"]), (method, path)
    assert not unbounded, unbounded
    assert not undocumented, undocumented
