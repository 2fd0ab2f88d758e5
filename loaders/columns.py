"""Source columns as text and numbers, and the per-row issues found in them. Pure: no database."""

from __future__ import annotations

from collections.abc import Callable

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


def lookup(text: pd.Series, table: dict[str, str]) -> list[str | None]:
    """Each cell's value in `table`, None where it is no key: `text.map(table)` as a list. Arrow-backed text is looked
    up in Arrow's kernels, 3-4 times faster (30-47 ms against 11-14 ms for 100,000 cells; py-spy gave `Series.map`
    14 % of the loader's CPU over a million-point load, bench/README.md)."""
    if not isinstance(text.array, pd.arrays.ArrowStringArray):
        return nullable(text.map(table))
    found = pa.array(list(table.values()), pa.string()).take(
        pc.index_in(pa.array(text.array), value_set=pa.array(list(table), pa.string())))
    return found.to_pylist()
