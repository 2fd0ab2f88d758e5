"""The message catalogue stays in step with the code (issue 14).

The oracle is Babel's own extractor run over registry/ and loaders/ as `pybabel extract` does (babel.cfg): every
message the code can say must be in registry/locale/ja/LC_MESSAGES/messages.po with a Japanese
translation that keeps its placeholders, the catalogue holds nothing the code no longer says, and no
raise site passes a bare string or f-string where a tr(...) message belongs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from registry.i18n import LOCALE_DIR, Message, render, tr

ROOT = Path(__file__).resolve().parents[1]
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
# The calls whose message argument a client reads (index of that argument).
MESSAGE_ARG = {"Problem": 0, "NotFound": 0, "Forbidden": 0, "Conflict": 0, "Unprocessable": 0,
               "PreconditionRequired": 0, "PreconditionFailed": 0, "invalid_field": 1, "FieldError": 1,
               "TooManyRequests": 0, "UnsupportedMediaType": 0, "UnreadableFile": 0, "CodeError": 0,
               "TransitionError": 0, "CurveError": 0, "TargetRefused": 0, "_bad": 0, "_unauthorised": 0,
               "LoadError": 0}
# loaders/: a LoadError's message reaches the upload route's problem answer (registry/uploads/service.py).
SOURCES = ("registry", "loaders")


def _in_code() -> set[str]:
    return {message for source in SOURCES
            for _file, _line, message, _comments, _context in extract_from_dir(
                str(ROOT / source), method_map=[("**.py", "python")], keywords={"tr": None})}


def _catalogue(lang: str) -> dict[str, str]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def test_every_message_in_the_code_is_in_the_catalogue_and_nothing_else() -> None:
    code, ja = _in_code(), _catalogue("ja")
    assert len(code) >= 300  # 326 when this was written; a broken extractor would find none
    missing = sorted(code - set(ja))
    assert not missing, f"run pybabel extract/update (README 'Language of messages') and translate: {missing}"
    stale = sorted(set(ja) - code)
    assert not stale, f"the code no longer says these; run pybabel update: {stale}"


def test_every_entry_has_japanese_with_the_same_placeholders() -> None:
    for msgid, msgstr in _catalogue("ja").items():
        assert msgstr, f"no Japanese for {msgid!r}"
        assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(PLACEHOLDER.findall(msgid)), msgid
        if re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", msgid)):
            # A sentence (not a bare "{field}: {message}" frame) reads as Japanese.
            assert JAPANESE.search(msgstr), f"{msgid!r} -> {msgstr!r} has no Japanese"


def test_the_committed_template_lists_what_the_code_says() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    assert template == _in_code()


def test_no_raise_site_passes_a_bare_string() -> None:
    """A literal or f-string message would be English in every language: it must be tr("...", name=value)."""
    bare = []
    for path in sorted(p for source in SOURCES for p in (ROOT / source).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in MESSAGE_ARG:
                continue
            index = MESSAGE_ARG[name]
            args = node.args[index:index + 1]
            args += [k.value for k in node.keywords if k.arg in ("detail", "message", "hint", "title")]
            for arg in args:
                if isinstance(arg, ast.JoinedStr) or (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bare, f"wrap these messages in tr(...): {bare}"


def test_every_problem_title_is_a_message() -> None:
    """`status, title, slug = 429, tr("Too many requests"), ...` in each Problem subclass."""
    titles = []
    for path in sorted((ROOT / "registry").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple) \
                    and [getattr(t, "id", None) for t in node.targets[0].elts][:2] == ["status", "title"]:
                titles.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value.elts[1]))  # type: ignore[attr-defined]
    assert len(titles) >= 9
    bare = [where for where, value in titles if not isinstance(value, ast.Call)]
    assert not bare, f"wrap these titles in tr(...): {bare}"


def test_a_message_is_english_text_and_japanese_at_the_edge() -> None:
    inner = tr("No asset {asset_id} among those your key may see.", asset_id="a-1")
    outer = tr("{field}: {message}", field="asset", message=inner)
    assert isinstance(outer, Message) and isinstance(outer, str)
    assert outer == "asset: No asset a-1 among those your key may see."
    japanese = render(outer, "ja")
    assert japanese.startswith("asset: ") and "a-1" in japanese and JAPANESE.search(japanese)
    # A language without a catalogue falls back to English rather than failing.
    assert render(outer, "fr") == str(outer)
