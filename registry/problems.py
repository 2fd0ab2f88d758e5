"""RFC 9457 problem+json for every error.

Domain code raises `Problem` (or a subclass); framework and database errors are translated here,
so a client never sees a stack trace and never a 500 for its own mistake.
"""

from __future__ import annotations

import logging
import re

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from registry.i18n import Message, render, request_language, tr
from registry.request_id import request_id_of
from registry.validation_messages import field_sentence

log = logging.getLogger("registry")

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://kyodo-registry.jp/problems/"
# msgspec names a bad dict key as " - at `key` in `$.offer`": the field is then the dict (offer).
_MSGSPEC_PATH = re.compile(r"^(?P<msg>.*?)(?: - at (?:`key` in )?`\$(?P<path>[^`]*)`)?$", re.S)


class FieldError(msgspec.Struct):
    field: str
    message: str


class ProblemDocument(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem: `type`, `title`, `status`, `detail`; `errors` for field-level causes."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """An error with an HTTP status and a message a person can act on."""

    status = 400
    title: str = tr("Bad request")
    slug = "bad-request"

    def __init__(self, detail: str, *, status: int | None = None, title: str | None = None,
                 slug: str | None = None, errors: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if slug is not None:
            self.slug = slug
        self.errors = errors
        self.headers = headers or {}


class NotFound(Problem):
    status, title, slug = 404, tr("Not found"), "not-found"


class Forbidden(Problem):
    status, title, slug = 403, tr("Forbidden"), "forbidden"


class Conflict(Problem):
    status, title, slug = 409, tr("Conflict"), "conflict"


class Unprocessable(Problem):
    status, title, slug = 422, tr("Unprocessable content"), "invalid"


class PreconditionRequired(Problem):
    status, title, slug = 428, tr("Precondition required"), "precondition-required"


class PreconditionFailed(Problem):
    status, title, slug = 412, tr("Precondition failed"), "precondition-failed"


def invalid_field(field: str, message: str) -> Unprocessable:
    """A 422 naming the field; `message` is a `tr(...)` Message so the answer can be said in Japanese."""
    return Unprocessable(tr("{field}: {message}", field=field, message=message),
                         errors=[FieldError(field, message)])


_STATUS_TITLES = {
    400: (tr("Bad request"), "bad-request"),
    401: (tr("Unauthorized"), "unauthorized"),
    403: (tr("Forbidden"), "forbidden"),
    404: (tr("Not found"), "not-found"),
    405: (tr("Method not allowed"), "method-not-allowed"),
    406: (tr("Not acceptable"), "not-acceptable"),
    409: (tr("Conflict"), "conflict"),
    413: (tr("Content too large"), "too-large"),
    415: (tr("Unsupported media type"), "unsupported-media-type"),
    422: (tr("Unprocessable content"), "invalid"),
    429: (tr("Too many requests"), "too-many-requests"),
    503: (tr("Service unavailable"), "unavailable"),
}

# The database's last line of defence, translated into what a person should do. The code checks
# these first with friendlier context; these messages cover a race or a path that missed a check.
CONSTRAINT_MESSAGES: dict[str, str] = {
    "lgcode_check_digit": tr("A local government code fails its check digit; see the code's last digit."),
    "assets_municipality_code_source_id_key": tr("Another asset of this municipality already has this source_id; "
                                                 "update that asset instead."),
    "asset_tenants_within_capacity": tr("current_tenants cannot exceed max_tenants."),
    "asset_mountable_below_height": tr("mountable_height_m cannot exceed height_m."),
    "asset_geometry_valid": tr("The geometry is not valid (for example a polygon crossing itself)."),
    "asset_geometry_kind": tr("Only rooftop, land and park assets may be polygons; others are points."),
    "asset_geometry_in_japan": tr("The geometry lies outside Japan."),
    "priority_areas_prefecture_code_source_id_key": tr("Another priority area of this prefecture has this "
                                                       "source_id."),
    "application_period": tr("ends_on is before starts_on."),
}

# What Litestar says on its own (its status phrase) for a route or method that does not exist.
_FRAMEWORK_DETAILS: dict[int, str] = {
    400: tr("The request could not be read; check its parameters and body against the API description."),
    401: tr("Send your API key as `Authorization: Bearer <key>`."),
    403: tr("Your key may not do this."),
    404: tr("There is nothing at this address; the API's routes are listed at /schema/docs."),
    405: tr("This method is not allowed here; the Allow header lists the methods this address accepts."),
    406: tr("None of the media types in Accept can be produced here; the API description lists them."),
    413: tr("The request body is too large for this route."),
    415: tr("The request body's Content-Type is not accepted here; send application/json."),
    429: tr("Too many requests; wait for the number of seconds in Retry-After and try again."),
    503: tr("The service is not available right now; try again shortly."),
}


def _problem(request: Request, status: int, detail: str, *, title: str | None = None, slug: str | None = None,
             errors: list[FieldError] | None = None, headers: dict[str, str] | None = None) -> Response:
    """The problem document in the request's language (Accept-Language, else the key's `lang`, else English)."""
    lang = request_language(request.headers, request.scope)
    default_title, default_slug = _STATUS_TITLES.get(status, (tr("Error"), "error"))
    doc = ProblemDocument(
        type=_TYPE_BASE + (slug or default_slug),
        title=render(title or default_title, lang),
        status=status,
        detail=render(detail, lang),
        instance=request.url.path,
        request_id=request_id_of(request.scope),
        errors=[FieldError(e.field, render(e.message, lang)) for e in errors] if errors else None,
    )
    return Response(content=msgspec.json.encode(doc), status_code=status, media_type=PROBLEM_JSON,
                    # The words depend on Accept-Language: a cache keeps one answer per language (RFC 9110 12.5.5).
                    headers={**(headers or {}), "Content-Language": lang, "Vary": "Accept-Language"})


def _joined(errors: list[FieldError]) -> str:
    detail: str = errors[0].message
    for e in errors[1:]:
        detail = tr("{first}; {rest}", first=detail, rest=e.message)
    return detail


def _validation_errors(exc: ValidationException) -> tuple[int, str, list[FieldError]]:
    """Litestar's parameter and body checks: 400 for a header the client sent wrong, 422 for the rest."""
    errors: list[FieldError] = []
    status = 422
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            where = item.get("source")
            key = str(item.get("key") or "request").removeprefix("data.")
            source = where if where in ("query", "path", "header", "cookie") else None
            status = 400 if source == "header" else status
            errors.append(FieldError(*field_sentence(key, str(item.get("message", "")), source)))
    if not errors and isinstance(exc.detail, str) and exc.detail.startswith("Missing required"):
        # "Missing required query parameter 'pool' for path ..." comes without `extra`.
        errors.append(FieldError(*field_sentence("request", exc.detail, None)))
    return status, (_joined(errors) if errors else str(exc.detail)), errors


def shape_problem(exc: msgspec.ValidationError) -> Unprocessable:
    """A body that decoded but has the wrong shape, as a 422 sentence naming the field."""
    _status, detail, errors = _decode_error(exc)
    return Unprocessable(detail, errors=errors)


def _decode_error(cause: BaseException) -> tuple[int, str, list[FieldError]]:
    """msgspec's decode errors: malformed JSON is 400, a well-formed body of the wrong shape 422."""
    text = str(cause)
    m = _MSGSPEC_PATH.match(text)
    msg, path = (m.group("msg"), m.group("path")) if m else (text, None)
    if isinstance(cause, msgspec.ValidationError):
        field = (path or "").lstrip(".").removeprefix("data.").removeprefix("data") or "body"
        named, sentence = field_sentence(field, msg, None)
        return 422, sentence, [FieldError(named, sentence)]
    return 400, tr("The request body is not valid JSON: {error}", error=msg), []


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while seen.__cause__ is not None:
        seen = seen.__cause__
    return seen


def _postgres_problem(request: Request, exc: asyncpg.PostgresError) -> Response:
    constraint = getattr(exc, "constraint_name", None) or ""
    hint = CONSTRAINT_MESSAGES.get(constraint)
    if isinstance(exc, asyncpg.UniqueViolationError):
        return _problem(request, 409, hint or tr("This would duplicate an existing record ({constraint}).",
                                                     constraint=constraint))
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return _problem(request, 422, hint or tr("A referenced record does not exist ({what}).",
                                                     what=exc.detail or constraint))
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.NotNullViolationError):
        return _problem(request, 422, hint or tr("A value is not allowed: {error} ({constraint}).",
                                                     error=exc.message, constraint=constraint))
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return _problem(request, 403, tr("You may not write records that belong to another tenant."))
    if isinstance(exc, asyncpg.SerializationError | asyncpg.DeadlockDetectedError):
        return _problem(request, 409, tr("A concurrent change conflicted with this request; retry it."),
                        headers={"Retry-After": "1"})
    if isinstance(exc, asyncpg.QueryCanceledError):
        return _problem(request, 503, tr("The query took too long and was cancelled; narrow the request "
                                               "(smaller area, more filters, lower limit) and try again."),
                        headers={"Retry-After": "1"})
    if isinstance(exc, asyncpg.DataError):
        return _problem(request, 422, tr("A value is not valid: {error}.", error=exc.message or str(exc)))
    log.exception("database error", exc_info=exc)
    return _problem(request, 500, tr("The server could not complete the request. It has been logged."))


# The database's own transitions, not the client's mistake: a server starting up or shutting down
# (57P01-57P03 and the 08 connection class), a connection that died under a request, a pool that
# could not hand out a connection in time. Each is a 503 with Retry-After, decided here and only here.
# asyncpg's InternalClientError ("cannot switch to state 12; another operation is in progress") is a
# connection whose protocol state a dying server left behind: seen 1-3 times per restart in
# tests/test_hardening.py, never otherwise.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions._base.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)
UNAVAILABLE_DETAIL = tr("The database is not reachable right now (it may be restarting); try again shortly.")


def _unavailable(request: Request) -> Response:
    return _problem(request, 503, UNAVAILABLE_DETAIL, headers={"Retry-After": "5"})


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or every exception in a group) says the database is away, not that a request is wrong."""
    if isinstance(exc, BaseExceptionGroup):
        return all(is_unavailable(e) for e in exc.exceptions)
    if isinstance(exc, asyncpg.QueryCanceledError):  # our own statement timeout: the request was too big
        return False
    return isinstance(exc, _UNAVAILABLE) or (exc.__cause__ is not None and is_unavailable(exc.__cause__))


def _first_meaningful(group: BaseExceptionGroup) -> BaseException:
    """A group (a cleanup that failed while an error was already on its way): the error that explains it."""
    leaves: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for inner in e.exceptions:
                walk(inner)
        else:
            leaves.append(e)

    walk(group)
    for leaf in leaves:
        if not is_unavailable(leaf):
            return leaf
    return leaves[0]


def exception_to_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, BaseExceptionGroup):
        if is_unavailable(exc):
            return _unavailable(request)
        inner = _first_meaningful(exc)
        return exception_to_problem(request, inner if isinstance(inner, Exception) else exc)
    if isinstance(exc, Problem):
        return _problem(request, exc.status, exc.detail, title=exc.title, slug=exc.slug, errors=exc.errors,
                        headers=exc.headers)
    if isinstance(exc, RecursionError) or isinstance(_root_cause(exc), RecursionError):
        return _problem(request, 400, tr("The request body is nested too deeply to read; send plain JSON "
                                                  "objects and arrays a few levels deep."))
    if isinstance(exc, ValidationException):
        cause = _root_cause(exc)
        if isinstance(cause, msgspec.DecodeError):
            status, detail, errors = _decode_error(cause)
            return _problem(request, status, detail, errors=errors)
        status, detail, errors = _validation_errors(exc)
        return _problem(request, status, detail, errors=errors)
    if isinstance(exc, HTTPException):
        cause = _root_cause(exc)
        if exc.status_code == 400 and isinstance(cause, msgspec.DecodeError):
            status, detail, errors = _decode_error(cause)
            return _problem(request, status, detail, errors=errors)
        if exc.status_code >= 500 and is_unavailable(cause):
            return _unavailable(request)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if not isinstance(detail, Message) and exc.status_code in _FRAMEWORK_DETAILS:
            # Litestar's own answers (its status phrase, or a sentence of its own): ours, in the request's language.
            detail = _FRAMEWORK_DETAILS[exc.status_code]
        if exc.status_code == 413:
            limit = request.route_handler.resolve_request_max_body_size()
            detail = tr("The request body is larger than this route accepts ({limit} bytes).", limit=f"{limit:,}")
        return _problem(request, exc.status_code, detail, headers=exc.headers)
    if is_unavailable(exc):
        log.warning("database unavailable: %s: %s", exc.__class__.__name__, exc)
        return _unavailable(request)
    if isinstance(exc, asyncpg.PostgresError):
        return _postgres_problem(request, exc)
    log.exception("unhandled error", exc_info=exc)
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR,
                    tr("The server could not complete the request. It has been logged with the request id."))
