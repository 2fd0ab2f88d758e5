"""loaders.columns.lookup: `Series.map(table)` as a list, in Arrow's kernels for Arrow-backed text.

Oracle: pandas' own `Series.map` on the same cells, for text as the loader holds it (Arrow-backed, and Python
objects), with keys missing, empty and null cells, Japanese words, and keys that differ only in case or width."""

from __future__ import annotations

import pandas as pd
import pytest

from loaders.columns import as_text, lookup, nullable
from loaders.words import WORDS

CELLS = ["yes", "YES", "", "あり", "なし ", "no", None, "unknown", "Ｙｅｓ", "maybe", "Yes", "不明", " no"] * 7


@pytest.mark.parametrize("dtype", [object, "string"])
def test_lookup_is_series_map(dtype: object) -> None:
    table = {**{v: v for v in ("yes", "no", "unknown")}, **WORDS["power"]}
    text = as_text(pd.Series(CELLS, dtype=object).astype(dtype)).str.lower()
    assert lookup(text, table) == nullable(text.map(table))
    assert {"yes", "no", "unknown", None} >= set(lookup(text, table)) and None in lookup(text, table)

