"""Messages in English and Japanese (issue 14): gettext catalogues managed with Babel.

A raise site says what is wrong where it is known, in English, with named placeholders:

    raise NotFound(tr("No asset {asset_id} among those your key may see.", asset_id=asset_id))

`tr` returns a `Message`: a `str` whose value is the English sentence (so logs, `str(exc)` and code
that reads it as text see English), which also keeps its msgid and values so that the edge
(registry/problems.py) can say it in the language of the request. The catalogue is
registry/locale/ja/LC_MESSAGES/messages.po, kept in step with the code by `pybabel extract`
(babel.cfg, README "Language of messages"); tests/test_i18n_catalogue.py fails when a message in
the code is not in it or has no Japanese.

The language is chosen per request: `Accept-Language` (q-values honoured), else the `lang` of the API
key that made the request (sql/120), else English.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from babel.core import negotiate_locale
from babel.messages.pofile import read_po

DEFAULT: Final = "en"
LOCALES: Final = ("en", "ja")
LOCALE_DIR: Final = Path(__file__).parent / "locale"
# Where the request's language travels from the authentication middleware to the problem answer.
SCOPE_KEY: Final = "kyodo.lang"


class Message(str):
    """An English sentence that can also be said in another language (its msgid and named values)."""

    msgid: str
    params: Mapping[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Message:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def render(self, lang: str) -> str:
        if lang == DEFAULT:
            return str.__str__(self)
        text = catalogue(lang).get(self.msgid) or self.msgid
        return text.format(**{k: render(v, lang) for k, v in self.params.items()}) if self.params else text


def tr(msgid: str, /, **params: Any) -> Message:
    """Mark a message for translation (the keyword `pybabel extract` looks for, babel.cfg)."""
    return Message(msgid, **params)


def message_of(exc: BaseException) -> str:
    """The message an exception was raised with, still a Message when it was one (`str(exc)` is plain text)."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Message) else str(exc)


def render(value: Any, lang: str) -> str:
    """`value` in `lang`: a Message translated, lists of them joined, anything else as text."""
    if isinstance(value, Message):
        return value.render(lang)
    return str(value)


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid -> translation for `lang`, read once from the .po (no compiled .mo to fall out of step)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        cat = read_po(f, locale=lang)
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def _ranked(header: str) -> list[str]:
    """Accept-Language's tags, best first (RFC 9110 12.5.4): q=0 means not acceptable; ties keep order."""
    found: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _sep, rest = part.strip().partition(";")
        tag = tag.strip()
        q = 1.0
        for param in rest.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and tag != "*" and q > 0:
            found.append((-q, i, tag))
    return [tag for _q, _i, tag in sorted(found)]


def negotiate(accept_language: str | None) -> str | None:
    """The best of LOCALES for an Accept-Language header; None when it names none of them."""
    if not accept_language:
        return None
    for tag in _ranked(accept_language[:500]):
        # negotiate_locale matches 'ja-JP' to 'ja' and ignores case; one tag at a time keeps the q order.
        best = negotiate_locale([tag], LOCALES, sep="-") or negotiate_locale([tag.split("-")[0]], LOCALES, sep="-")
        if best:
            return best.split("-")[0].lower()
    return None


def request_language(headers: Mapping[str, str], scope: Mapping[str, Any]) -> str:
    """Accept-Language, else the key's `lang`, else English."""
    return negotiate(headers.get("accept-language")) or scope.get(SCOPE_KEY) or DEFAULT
