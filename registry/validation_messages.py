r"""msgspec's and Litestar's validation messages as plain sentences that name the field and say what to enter.

msgspec says `Expected \`int\` >= 1` or `Object missing required field \`name\``; a clerk needs "Enter a
whole number of at least 1 for limit" / "limit（件数）には 1 以上の整数を入力してください". Each message form
msgspec (0.18-0.19) and Litestar (2.x) produce is one row of `_FORMS`: a pattern and the sentence. A form
not in the table keeps msgspec's text after the field's name (English in every language; a test probes
the forms the API answers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from registry.i18n import Message, tr

# Field names as sent (machine clients match on them) with, for the common ones, what a person calls them.
FIELD_LABELS: dict[str, str] = {
    "limit": tr("number of items per page"),
    "after": tr("position to continue after"),
    "before": tr("position to continue before"),
    "name": tr("name"),
    "category": tr("category"),
    "geometry": tr("geometry"),
    "source_id": tr("source id"),
    "bbox": tr("bounding box"),
    "municipality": tr("municipality code"),
    "prefecture": tr("prefecture"),
    "tenant": tr("tenant"),
    "role": tr("role"),
    "status": tr("status"),
    "availability": tr("availability"),
    "height_m": tr("height (m)"),
    "mountable_height_m": tr("mountable height (m)"),
    "max_tenants": tr("maximum number of tenants"),
    "max_load_kg": tr("maximum load (kg)"),
    "address": tr("address"),
    "lang": tr("language"),
    "reason": tr("reason"),
    "quantity": tr("quantity"),
    "starts_on": tr("start date"),
    "ends_on": tr("end date"),
    "updated_since": tr("updated since"),
    "radius_m": tr("radius (m)"),
    "lat": tr("latitude"),
    "lon": tr("longitude"),
}

_TYPE_WORDS: dict[str, Callable[[Any], Message]] = {
    "int": lambda f: tr("Enter a whole number for {field}.", field=f),
    "float": lambda f: tr("Enter a number for {field}.", field=f),
    "str": lambda f: tr("Enter text for {field}.", field=f),
    "bool": lambda f: tr("Enter true or false for {field}.", field=f),
    "object": lambda f: tr("Send a JSON object for {field}.", field=f),
    "array": lambda f: tr("Send a JSON array (a list in square brackets) for {field}.", field=f),
    "datetime": lambda f: tr("Enter {field} as a date and time with a zone, e.g. 2026-04-01T09:00:00+09:00.",
                             field=f),
    "date": lambda f: tr("Enter {field} as a date, e.g. 2026-04-01.", field=f),
    "uuid": lambda f: tr("Enter {field} as a UUID, e.g. 3f2b8c1e-0a4d-4e5f-9b6a-1c2d3e4f5a6b.", field=f),
    "null": lambda f: tr("Leave {field} empty (null) or leave it out.", field=f),
}

_NUM = r"(?P<n>-?[0-9.e+]+)"
_FORMS: list[tuple[re.Pattern[str], Callable[..., Message]]] = [
    (re.compile(rf"^Expected `int` >= {_NUM}$"),
     lambda f, n: tr("Enter a whole number of at least {n} for {field}.", field=f, n=n)),
    (re.compile(rf"^Expected `int` > {_NUM}$"),
     lambda f, n: tr("Enter a whole number greater than {n} for {field}.", field=f, n=n)),
    (re.compile(rf"^Expected `int` <= {_NUM}$"),
     lambda f, n: tr("Enter a whole number of at most {n} for {field}.", field=f, n=n)),
    (re.compile(rf"^Expected `int` < {_NUM}$"),
     lambda f, n: tr("Enter a whole number less than {n} for {field}.", field=f, n=n)),
    (re.compile(rf"^Expected `(?:float|number)` >= {_NUM}$"),
     lambda f, n: tr("Enter a number of at least {n} for {field}.", field=f, n=n)),
    (re.compile(rf"^Expected `(?:float|number)` > {_NUM}$"),
     lambda f, n: tr("Enter a number greater than {n} for {field}.", field=f, n=n)),
    (re.compile(rf"^Expected `(?:float|number)` <= {_NUM}$"),
     lambda f, n: tr("Enter a number of at most {n} for {field}.", field=f, n=n)),
    (re.compile(rf"^Expected `(?:float|number)` < {_NUM}$"),
     lambda f, n: tr("Enter a number less than {n} for {field}.", field=f, n=n)),
    (re.compile(r"^Expected `str` of length >= (?P<n>\d+)$"),
     lambda f, n: tr("Enter at least {n} characters for {field}.", field=f, n=n)),
    (re.compile(r"^Expected `str` of length <= (?P<n>\d+)$"),
     lambda f, n: tr("Enter at most {n} characters for {field}.", field=f, n=n)),
    (re.compile(r"^Expected `(?:array|object)` of length >= (?P<n>\d+)$"),
     lambda f, n: tr("Give at least {n} items for {field}.", field=f, n=n)),
    (re.compile(r"^Expected `(?:array|object)` of length <= (?P<n>\d+)$"),
     lambda f, n: tr("Give at most {n} items for {field}.", field=f, n=n)),
    (re.compile(r"^Expected `str` matching regex (?P<regex>.+)$"),
     lambda f, regex: tr("{field} is not in the expected form; enter it as the API description shows "
                         "(pattern {regex}).", field=f, regex=regex)),
    (re.compile(r"^Object missing required field `(?P<name>[^`]+)`$"),
     lambda f, name: tr("Enter {field}: it is required.", field=_child(f, name))),
    (re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$"),
     lambda f, name: tr("{field} is not a field of this request; remove it or check its spelling.",
                        field=_child(f, name))),
    (re.compile(r"^Invalid enum value (?P<value>.+)$"),
     lambda f, value: tr("{value} is not one of the values {field} accepts; choose one the API description "
                         "lists.", field=f, value=value)),
    (re.compile(r"^Invalid RFC3339 encoded datetime$"), lambda f: _TYPE_WORDS["datetime"](f)),
    (re.compile(r"^Expected `datetime` with a timezone component$"), lambda f: _TYPE_WORDS["datetime"](f)),
    (re.compile(r"^Invalid RFC3339 encoded date$"), lambda f: _TYPE_WORDS["date"](f)),
    (re.compile(r"^Invalid UUID$"), lambda f: _TYPE_WORDS["uuid"](f)),
    (re.compile(r"^Expected `(?P<want>\w+)`(?: \| `\w+`)*, got `\w+`$"),
     lambda f, want: _TYPE_WORDS[want](f) if want in _TYPE_WORDS else
     tr("Enter a value of type {want} for {field}.", field=f, want=want)),
    (re.compile(r"^Missing required (?:query |path |header |cookie )?parameter '?(?P<name>[^' ]+)'?.*$"),
     lambda f, name: tr("Enter {field}: it is required.", field=_label(name))),
]


def _label(name: str) -> Message:
    """`name` as sent, followed by what a person calls it when it is a common field: `limit (件数)`."""
    last = name.rsplit(".", 1)[-1]
    label = FIELD_LABELS.get(last)
    return tr("{name} ({label})", name=name, label=label) if label else tr("{name}", name=name)


def _path(field: str, name: str) -> str:
    return name if field in ("", "body", "request") else f"{field}.{name}"


def _child(field: str, name: str) -> Message:
    return _label(_path(field, name))


def field_sentence(field: str, message: str, source: str | None) -> tuple[str, Message]:
    """msgspec's or Litestar's `message` about `field` as (the field's path as sent, a sentence saying
    what to enter); for a missing or unknown member of an object the path is that member's."""
    text = message.strip()
    for pattern, sentence in _FORMS:
        m = pattern.match(text)
        if m:
            if pattern.pattern.startswith("^Object"):
                return _path(field, m.group("name")), sentence(field, **m.groupdict())
            if pattern.pattern.startswith("^Missing"):
                return m.group("name"), sentence(field, **m.groupdict())
            return field, sentence(_label(field), **m.groupdict())
    if source:
        return field, tr("{field} ({source} parameter): {problem}", field=_label(field), source=source,
                         problem=text or tr("invalid value"))
    return field, tr("{field}: {problem}", field=_label(field), problem=text or tr("invalid value"))
