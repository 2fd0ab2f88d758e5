"""Source columns as text and numbers, and the per-row issues found in them. Pure: no database."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


class RowIssues:
    """Reasons to reject or warn, by 0-based row index of the slice being checked."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rejected: dict[int, list[str]] = {}
        self.warned: dict[int, list[str]] = {}

    def reject(self, mask: np.ndarray | pd.Series, reason: str | Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.rejected.setdefault(int(i), []).append(reason(int(i)) if callable(reason) else reason)

    def warn(self, mask: np.ndarray | pd.Series, reason: str | Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            self.warned.setdefault(int(i), []).append(reason(int(i)) if callable(reason) else reason)

    def reject_at(self, i: int, reason: str) -> None:
        self.rejected.setdefault(int(i), []).append(reason)

    def warn_at(self, i: int, reason: str) -> None:
        self.warned.setdefault(int(i), []).append(reason)

    def ok(self) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        if self.rejected:
            mask[list(self.rejected)] = False
        return mask


def as_text(series: pd.Series) -> pd.Series:
    """Any column as text, '' for missing; integral floats lose their '.0' (ids, codes). CSV cells were
    stripped when read; GDAL strips the padding of shapefile fields."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        return series.fillna("") if series.hasnans else series
    if pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        if len(finite) and bool((finite == np.floor(finite)).all()) and bool((finite.abs() < 2**53).all()):
            series = series.astype("Int64")
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d").fillna("")
    # Kept in Arrow: the checks after this (lower, len, normalize, map) then run in Arrow's compute kernels
    # instead of a Python call per cell; turning a million Arrow strings into Python objects here and
    # running those checks on them cost 2.6 s of a million-point load's 5.2 s of checks (cProfile).
    return series.astype("string").fillna("").str.strip()


def text_or_none(text: pd.Series) -> list:
    """A text column as a list for the staging table, None for ''."""
    return [v or None for v in text.tolist()]


def as_number(text: pd.Series | None, raw: pd.Series | None) -> pd.Series:
    """Numbers from a numeric column as they are, from text without thousands separators and units."""
    if raw is not None and pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    assert text is not None, "a column that is not numeric is read from its text"
    cleaned = text.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    cleaned = cleaned.str.replace(r"\s*(m|ｍ|メートル|kg|㎡|m2)$", "", regex=True)
    return pd.to_numeric(cleaned.where(cleaned != "", None), errors="coerce").astype(float)


def nullable(values: pd.Series) -> list:
    return values.astype(object).where(values.notna(), None).tolist()


def _arrow(text: pd.Series) -> pa.Array | pa.ChunkedArray:
    if isinstance(text.array, pd.arrays.ArrowStringArray):
        return pa.array(text.array)
    return pa.array(text.to_numpy(dtype=object), pa.large_string(), from_pandas=True)


def nfkc(text: pd.Series) -> pd.Series:
    """The text in Unicode NFKC, by Arrow's kernel (utf8proc), in the series' own kind of storage. pandas'
    `str.normalize` calls Python's unicodedata once per cell: 337 ms against 43 ms for 100,000 Japanese names, 35
    against 5 ms for ASCII ones. The same text for every character Python's Unicode (14.0) assigns; utf8proc also
    knows the characters assigned since (tests/test_load_text.py)."""
    normal = pc.utf8_normalize(_arrow(text), "NFKC")
    if isinstance(text.array, pd.arrays.ArrowStringArray):
        return pd.Series(pd.arrays.ArrowStringArray(normal), index=text.index, name=text.name)
    return pd.Series(normal.to_numpy(zero_copy_only=False), index=text.index, name=text.name, dtype=object)


def lookup_first(pairs: Sequence[tuple[pd.Series, Mapping[str, str]]]) -> list[str | None]:
    """Each cell's value in the first table that has the cell of its own column as a key, None where none has:
    `a.map(t).fillna(b.map(u))`, as a list. Looked up in Arrow's kernels, and the values taken from their table
    as the same Python objects (`Series.map` took 14 % of the loader's CPU over a million-point load, and Arrow's
    list of new strings 0.21 s of its 3.5 s of checks; bench/README.md)."""
    values: list[str | None] = []
    found: np.ndarray | None = None
    for text, table in pairs:
        at = pc.index_in(_arrow(text), value_set=pa.array(list(table), pa.large_string()))
        index = np.asarray(pc.fill_null(at, -1), dtype=np.int64)
        index = np.where(index >= 0, index + len(values), -1)
        found = index if found is None else np.where(found >= 0, found, index)
        values.extend(table.values())
    assert found is not None, "at least one column and table"
    return np.array([*values, None], dtype=object)[found].tolist()  # -1, found in no table: the None at the end


def lookup(text: pd.Series, table: Mapping[str, str]) -> list[str | None]:
    """Each cell's value in `table`, None where it is no key: `text.map(table)` as a list."""
    return lookup_first([(text, table)])
