"""The owners' ids of a file's rows: present, bounded, and unique within the whole file, slice after slice.

A re-load matches each row to its asset by this id, so a file may not give one id twice. A dict of every id
seen, built and probed one slice at a time, cost 0.9 s of the 3.5 s a million-point load spent checking its rows
(bench/README.md). Ids are told apart by their hashes first, in numpy; only a hash met twice, which a repeated id
(or, once in about 10^7 million-row files, two ids of one hash) gives, makes the ids themselves be compared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loaders.columns import RowIssues
from registry.assets import rules

_hash = hash  # a test puts a weaker hash here, to make ids meet by hash without being equal


class SeenIds:
    """The ids of a file's slices checked so far, each slice's in file order from its first row."""

    def __init__(self) -> None:
        self._hashes = np.empty(0, np.int64)
        """Python's hashes of every id so far, sorted."""
        self._slices: list[tuple[int, list[str]]] = []
        self._first_rows: dict[str, int] | None = None
        """Every id so far and the row it first came in, once two hashes met: kept up to date from then on."""

    def first_rows(self, ids: list[str], first_row: int) -> dict[str, int] | None:
        """None when every id of this slice is new and none is empty (it is recorded); else every earlier id's
        first row (0-based in the file), to which the caller adds this slice's as it names the repeats."""
        if self._first_rows is None:
            hashes = np.sort(np.fromiter(map(_hash, ids), np.int64, len(ids)))
            at = np.searchsorted(self._hashes, hashes)
            inside = at < len(self._hashes)
            if "" not in ids and not (hashes[1:] == hashes[:-1]).any() \
                    and not (self._hashes[at[inside]] == hashes[inside]).any():
                # Two sorted runs: the stable sort (timsort) merges them in one pass.
                self._hashes = np.sort(np.concatenate([self._hashes, hashes]), kind="stable")
                self._slices.append((first_row, ids))
                return None
            self._first_rows = {}
            for start, earlier in self._slices:
                for i, v in enumerate(earlier):
                    self._first_rows.setdefault(v, start + i)
            self._slices.clear()
        return self._first_rows


def source_ids(text: pd.Series, issues: RowIssues, first_row: int, seen: SeenIds) -> list[str]:
    """The slice's ids (`text`, as text), each empty, too long or repeated one rejected in `issues`."""
    low, high = rules.TEXTS["source_id"]
    lengths = text.str.len()
    issues.reject(lengths < low, "no id (source_id) in this row; a re-load could not find it again")
    issues.reject(lengths > high, f"source_id is longer than {high} characters")
    ids = text.tolist()
    first_rows = seen.first_rows(ids, first_row)
    if first_rows is not None:
        for i, v in enumerate(ids):
            if v and (first := first_rows.setdefault(v, first_row + i)) != first_row + i:
                issues.reject_at(i, f"source_id {v!r} repeats row {first + 1}")
    return ids
