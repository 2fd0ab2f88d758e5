"""loaders.columns.nfkc: Unicode NFKC in Arrow's kernel (utf8proc), in place of Python's unicodedata per cell.

Oracle: `unicodedata.normalize("NFKC", ...)`, for every code point one by one and for strings that compose
across characters (half-width katakana and their sound marks, combining accents, Hangul jamo), in both kinds of
text column the loader holds (Arrow-backed and Python objects). utf8proc knows a newer Unicode than Python 3.11
(14.0): the two may differ only on characters Python's Unicode does not assign."""

from __future__ import annotations

import random
import sys
import unicodedata

import pandas as pd
import pytest

from loaders.columns import nfkc

KINDS = [object, "string"]


def test_every_code_point_as_python_has_it() -> None:
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    ours = nfkc(pd.Series(chars, dtype="string")).tolist()
    differ = [c for c, n in zip(chars, ours, strict=True) if n != unicodedata.normalize("NFKC", c)]
    assert {unicodedata.category(c) for c in differ} <= {"Cn"}, [hex(ord(c)) for c in differ[:10]]
    assert len(differ) < 1000  # a few hundred assigned after Unicode 14.0 (167 with pyarrow 26)


@pytest.mark.parametrize("kind", KINDS)
def test_strings_compose_as_python_composes(kind: object) -> None:
    rng = random.Random(7)
    pool = list("ｶｷｸﾊﾋﾌﾍﾎｳﾞﾟ゙゚ー－１２ＡＢａ㈱㍻①ｱｲ e\u0301\u0308\u1100\u1161\u11a8가Å℃ﾝ東京都千代田区")
    cells = ["", "ｺｽﾞﾐｯｸ", "１番２号", "㈱ｶﾌﾞｼｷ", "plain ascii"] + [
        "".join(rng.choice(pool) for _ in range(rng.randrange(1, 12))) for _ in range(3000)]
    text = pd.Series(cells, dtype=kind)  # type: ignore[call-overload]
    normal = nfkc(text)
    assert normal.tolist() == [unicodedata.normalize("NFKC", c) for c in cells]
    assert normal.dtype == text.dtype and normal.index.equals(text.index)
