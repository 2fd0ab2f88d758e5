"""loaders.source_ids: repeated source ids across a file's slices, by hash first and exactly when hashes meet.

Oracle: the plain loop over a dict of every id to its first row, which the loader ran for every slice before,
over slices with no repeat, repeats within one slice and across slices, and empty ids; and the same slices
with a hash so weak (the id's length) that ids meet by hash without being equal."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from loaders import source_ids as module
from loaders.columns import RowIssues
from loaders.source_ids import SeenIds, source_ids


def oracle(slices: list[list[str]]) -> list[dict[int, list[str]]]:
    first: dict[str, int] = {}
    out, start = [], 0
    for ids in slices:
        rejected: dict[int, list[str]] = {}
        for i, v in enumerate(ids):
            if not v:
                rejected.setdefault(i, []).append("no id (source_id) in this row; a re-load could not find it again")
            elif (row := first.setdefault(v, start + i)) != start + i:
                rejected.setdefault(i, []).append(f"source_id {v!r} repeats row {row + 1}")
        out.append(rejected)
        start += len(ids)
    return out


def checked(slices: list[list[str]]) -> list[dict[int, list[str]]]:
    seen, out, start = SeenIds(), [], 0
    for ids in slices:
        issues = RowIssues(len(ids))
        assert source_ids(pd.Series(ids, dtype="string"), issues, start, seen) == ids
        out.append(issues.rejected)
        start += len(ids)
    return out


def files() -> list[list[list[str]]]:
    rng = random.Random(13)
    unique = [[f"B{i:07d}" for i in range(s * 500, (s + 1) * 500)] for s in range(6)]
    within = [list(ids) for ids in unique]
    within[2][17] = within[2][3]
    across = [list(ids) for ids in unique]
    across[4][250] = across[1][0]
    across[5][0] = across[4][250]
    empty = [list(ids) for ids in unique]
    empty[0][9] = ""
    empty[3][1] = ""
    shuffled = [[f"街路灯-{rng.randrange(2000)}" for _ in range(400)] for _ in range(5)]  # many repeats
    return [unique, within, across, empty, shuffled]


@pytest.mark.parametrize("slices", files(), ids=["unique", "within", "across", "empty", "random"])
def test_repeats_are_the_plain_loops(slices: list[list[str]]) -> None:
    assert checked(slices) == oracle(slices)


@pytest.mark.parametrize("slices", files(), ids=["unique", "within", "across", "empty", "random"])
def test_ids_of_one_hash_are_told_apart(slices: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "_hash", len)  # every id of the same length meets every other by hash
    assert checked(slices) == oracle(slices)


def test_no_repeat_no_dict() -> None:
    seen = SeenIds()
    for s in range(3):
        assert seen.first_rows([f"A{s}-{i}" for i in range(1000)], s * 1000) is None
    assert seen.first_rows(["A1-5"], 3000) == {f"A{s}-{i}": s * 1000 + i for s in range(3) for i in range(1000)}
