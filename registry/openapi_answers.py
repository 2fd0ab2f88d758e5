"""Every answer an operation can give, written into the OpenAPI document in one place.

Litestar documents a handler's success and a generic 400. The errors come from shared layers, so
they are derived here from the operation's shape rather than repeated on 60 handlers: a key on every
/v1 route (401, 403, 429, 503), path ids (404, 422), a body (413, 415, 422), If-Match (412, 428), a
write (409). Each is an RFC 9457 problem. Page limits get their bounds from the server's settings.
"""

from __future__ import annotations

import re
from typing import get_args

import msgspec
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from loaders.formats import FORMATS as UPLOAD_FORMATS
from registry.areas.models import AreaKind
from registry.assets import rules
from registry.codes import with_check_digit
from registry.db.replicas import WAL_HEADER, is_read_route
from registry.problems import _STATUS_TITLES, PROBLEM_JSON
from registry.settings import Settings
from registry.tenants.models import CARRIER_CODE_PATTERN

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details",
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER, minimum=400, maximum=599),
        "detail": Schema(type=OpenAPIType.STRING, description="what happened and what to do about it"),
        "instance": Schema(type=OpenAPIType.STRING),
        "request_id": Schema(type=OpenAPIType.STRING),
        "errors": Schema(type=OpenAPIType.ARRAY, items=Schema(
            type=OpenAPIType.OBJECT, required=["field", "message"],
            properties={"field": Schema(type=OpenAPIType.STRING), "message": Schema(type=OpenAPIType.STRING)})),
    },
)
_KEYED_PREFIXES = ("/v1/", "/ogc")


def _list_of(words: tuple[str, ...]) -> dict[str, str]:
    one = "|".join(words)
    return {"pattern": f"^({one})(,({one}))*$"}


# What a string parameter holds, by its name: each name means one thing across the API (every `*_id`
# is a UUID, `municipality` a six-digit code with its check digit). The formats `jisx0402`,
# `prefecture`, `bbox`, `lonlat` and `crs` are ours; tests/schemathesis_hooks.py says how to make them.
# Formats only, no pattern: schemathesis draws boundary values from a pattern ("000000", which fails
# its check digit) before it asks the format's strategy.
_LGCODE = {"format": "jisx0402"}
PARAMETER_SCHEMAS: dict[str, dict[str, object]] = {
    **{name: {"format": "uuid"} for name in ("asset_id", "application_id", "round_id", "need_id", "tender_id",
                                              "key_id", "area_id", "subscription_id", "contact_id",
                                              "question_id")},
    "corporate_number": {"format": "corporate-number"},
    "lot_id": {"pattern": "^[A-Za-z0-9-]{1,40}$"},
    "municipality": _LGCODE,
    "prefecture": {"enum": [f"{n:02d}" for n in range(1, 48)]
                   + [with_check_digit(f"{n:02d}000") for n in range(1, 48)]},
    "after": {"format": "keyset-cursor"},
    "Idempotency-Key": {"minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "carrier_code": {"pattern": CARRIER_CODE_PATTERN},
    "bbox": {"format": "bbox"},
    "near": {"format": "lonlat"},
    "within": {"format": "geojson-polygon"},
    "kind": {"enum": list(get_args(AreaKind))},
    "source_crs": {"format": "crs"},
    "category": _list_of(rules.CATEGORIES),
    "availability": _list_of(rules.AVAILABILITIES),
    "status": _list_of(rules.ENUMS["status"]),
    "power": {"enum": list(rules.POWER)},
    "encoding": {"enum": ["utf-8", "cp932"]},
}
_PATH_SCHEMAS = {
    ("/v1/municipalities/", "code"): _LGCODE,
    ("/v1/procurement/", "f"): {"enum": ["json", "csv"]},
    ("/v1/procurement/", "format"): {"enum": ["json", "csv"]},
    ("/v1/assets/uploads", "format"): {"enum": list(UPLOAD_FORMATS)},
    ("/v1/assets/uploads", "tenant"): _LGCODE,
}
_WRITES = {"post", "put", "patch", "delete"}


# Reads that refuse with 409 when their subject can no longer change (a what-if on a settled tender, issue 16).
_CONFLICTING_READS = frozenset({"/v1/procurement/rounds/{round_id}/what-if"})


def statuses_for(path: str, method: str, operation: Operation) -> set[int]:
    """The error statuses an operation can answer, from its shape."""
    params = operation.parameters or []
    names = {(getattr(p, "param_in", None), getattr(p, "name", None)) for p in params}
    found: set[int] = set()
    if path.startswith(_KEYED_PREFIXES):
        found |= {400, 401, 403, 429, 503}
    if path == "/readyz":
        found.add(503)
    if any(where == "path" for where, _ in names):
        found |= {404, 422}
    if any(where == "query" for where, _ in names):
        found.add(422)
    if operation.request_body is not None:
        found |= {400, 413, 415, 422}
    if method in _WRITES and path.startswith(_KEYED_PREFIXES):
        found |= {404, 409, 422}
    if any(name == "If-Match" for _, name in names):
        found |= {412, 428}
    if path in _CONFLICTING_READS:
        found.add(409)
    return found


def _problem_response(status: int) -> OpenAPIResponse:
    title = _STATUS_TITLES.get(status, ("Error", ""))[0]
    return OpenAPIResponse(description=title,
                           content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference("#/components/schemas/Problem"))})


_FILE = Schema(type=OpenAPIType.STRING, format="binary",
               description="GeoJSON, GeoPackage, zipped Shapefile or CSV (docs/loaders.md)")
UPLOAD_BODY = RequestBody(required=True, description="The file, in a multipart `file` field or as the body", content={
    "multipart/form-data": OpenAPIMediaType(schema=Schema(
        type=OpenAPIType.OBJECT, required=["file"],
        properties={"file": _FILE, "mapping": Schema(type=OpenAPIType.STRING, description="attr=column pairs")})),
    "application/octet-stream": OpenAPIMediaType(schema=_FILE),
})


# What each `f` (or `format`) option answers besides the handler's own media type.
_FORMAT_MEDIA = {"csv": ("text/csv", Schema(type=OpenAPIType.STRING)),
                 "gpkg": ("application/geopackage+sqlite3", Schema(type=OpenAPIType.STRING, format="binary")),
                 "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          Schema(type=OpenAPIType.STRING, format="binary"))}


def _document_csv(operation: Operation) -> None:
    """An operation whose `f` (or `format`) offers csv answers text/csv as well; gpkg, a GeoPackage."""
    offered: set[str] = set()
    for param in operation.parameters or []:
        if getattr(param, "name", None) in ("f", "format") and isinstance(param.schema, Schema):
            options = [param.schema, *(param.schema.one_of or [])]
            offered |= {e for o in options for e in (getattr(o, "enum", None) or []) if e in _FORMAT_MEDIA}
    if not offered:
        return
    for status, answer in (operation.responses or {}).items():
        if status.startswith("2") and isinstance(answer, OpenAPIResponse):
            answer.content = {**(answer.content or {}), **{
                _FORMAT_MEDIA[f][0]: OpenAPIMediaType(schema=_FORMAT_MEDIA[f][1]) for f in sorted(offered)}}


def _describe(path: str, param: object) -> None:
    if getattr(param, "name", None) == "If-Match":  # 428 without it (registry/etags.py)
        param.required = True  # type: ignore[attr-defined]
        param.schema = Schema(type=OpenAPIType.STRING, pattern='^(W/)?"[0-9]+"$',  # type: ignore[attr-defined]
                              description='the ETag you last read, e.g. "3"')
        return
    schema = getattr(param, "schema", None)
    if getattr(param, "param_in", None) == "query":
        # registry/bodies.py: an empty value counts as not sent, so it is allowed where the parameter may
        # be left out, and a required one needs at least a character.
        required = getattr(param, "required", False)
        param.allow_empty_value = not required  # type: ignore[attr-defined]
        if required and isinstance(schema, Schema) and schema.type == OpenAPIType.STRING:
            schema.min_length = schema.min_length or 1
    if not isinstance(schema, Schema):
        return
    extra = PARAMETER_SCHEMAS.get(getattr(param, "name", ""))
    for (prefix, name), by_path in _PATH_SCHEMAS.items():
        if path.startswith(prefix) and getattr(param, "name", None) == name:
            extra = by_path
    if not extra:
        return
    target = schema
    for option in schema.one_of or []:  # `str | None` is documented as oneOf string, null
        if isinstance(option, Schema) and option.type == OpenAPIType.STRING:
            target = option
    for key, value in extra.items():
        if key == "enum" and getattr(target, "enum", None):
            continue  # a parameter typed with its own choices (a Literal: the exports' f) documents them itself
        setattr(target, key, value)


def _registry_structs() -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    stack = list(msgspec.Struct.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("registry.") and not getattr(cls, "__parameters__", ()):
            found.setdefault(cls.__name__, cls)
    return found


def _exact_components(named: dict[str, object]) -> dict[str, object]:
    """msgspec's own schema for each of our Structs that Litestar documented.

    Litestar drops constraints below the first level (a polygon ring's 4 positions, the 2-3 numbers
    of a position) and never says that a Struct refuses unknown fields; msgspec, which decodes the
    bodies, describes exactly what it accepts.
    """
    structs = _registry_structs()
    wanted = [structs[name] for name in named if name in structs]
    if not wanted:
        return {}
    _, components = msgspec.json.schema_components(wanted, ref_template="#/components/schemas/{name}")
    for name, schema in components.items():
        if name in structs:
            _date_formats(structs[name], schema)
    return components


_TIME_FORMATS = {msgspec.inspect.DateTimeType: "date-time", msgspec.inspect.DateType: "date"}


def _date_formats(struct: type[msgspec.Struct], schema: dict) -> None:
    """msgspec documents a datetime as a bare string; say which strings (RFC 3339) it decodes."""
    info = msgspec.inspect.type_info(struct)
    for field in getattr(info, "fields", ()):
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
        fmt = next((_TIME_FORMATS[type(k)] for k in kinds if type(k) in _TIME_FORMATS), None)
        prop = schema.get("properties", {}).get(field.encode_name)
        if fmt is None or prop is None:
            continue
        for option in [prop, *prop.get("anyOf", [])]:
            if option.get("type") == "string":
                option["format"] = fmt


_WAL_ANSWER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$"),
    description="With read replicas configured (DATABASE_REPLICA_URLS): the primary's WAL position after this "
                "write committed. Send it back on a later read to be served only by a replica that has it "
                "(docs/scaling.md); the key's own reads see its writes without it.")
_WAL_ASK = Parameter(
    name=WAL_HEADER, param_in="header", required=False,
    schema=Schema(type=OpenAPIType.STRING, pattern=r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$"),
    description="A write's Kyodo-WAL-Position: this read is served only by a server that has replayed it.")


def _document_wal_position(path: str, method: str, operation: Operation) -> None:
    """Writes answer Kyodo-WAL-Position; reads a replica may serve take it back (registry/db/replicas.py)."""
    if not path.startswith(_KEYED_PREFIXES):
        return
    if is_read_route(method.upper(), re.sub(r"\{[^}]*\}", "1", path)):
        operation.parameters = [*(operation.parameters or []), _WAL_ASK]
    elif method in _WRITES:
        for status, answer in (operation.responses or {}).items():
            if status.startswith("2") and isinstance(answer, OpenAPIResponse):
                answer.headers = {**(answer.headers or {}), WAL_HEADER: _WAL_ANSWER}


def complete(openapi: OpenAPI, settings: Settings) -> OpenAPI:
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    schemas = dict(components.schemas or {})
    schemas.update(_exact_components(schemas))  # type: ignore[arg-type]
    components.schemas = {**schemas, "Problem": PROBLEM_SCHEMA}
    openapi.components = components
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch", "head"):
            operation: Operation | None = getattr(item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            responses.pop("400", None)  # Litestar's own 400 body is not what this API sends
            for status in sorted(statuses_for(path, method, operation)):
                responses.setdefault(str(status), _problem_response(status))
            operation.responses = responses
            if not path.startswith(_KEYED_PREFIXES):
                operation.security = []  # health probes and the API description need no key
            _document_csv(operation)
            _document_wal_position(path, method, operation)
            if (path, method) == ("/v1/assets/uploads", "post"):
                operation.request_body = UPLOAD_BODY
            for param in operation.parameters or []:
                _describe(path, param)
                if getattr(param, "name", None) == "limit" and isinstance(param.schema, Schema):
                    ceiling = settings.reference_limit_max if path == "/v1/municipalities" else settings.page_limit_max
                    param.schema.minimum, param.schema.maximum = 1, ceiling
    return openapi


_litestar_build = OpenAPIPlugin._build_openapi


def _build_and_complete(plugin: OpenAPIPlugin) -> OpenAPI:
    settings = plugin.app.state.get("settings")
    document = _litestar_build(plugin)
    return complete(document, settings) if isinstance(settings, Settings) else document


def install() -> None:
    """Complete every document Litestar's OpenAPI plugin builds (once per app, lazily: 170 ms).

    Litestar looks its OpenAPI plugin up by exact type, so a subclass cannot stand in for it, and the
    plugin has __slots__; its one build step is wrapped instead, in this process only, idempotently.
    """
    OpenAPIPlugin._build_openapi = _build_and_complete  # type: ignore[method-assign]
