"""A checked batch shared out between a parallel load's writers (Prepared.pieces): the same rows, in order, each
once, in pieces that differ by at most one row; the batch's issues stay with it. Pure: no database."""

from __future__ import annotations

import pytest

from loaders.validate import Issue, Prepared


def batch(n: int) -> Prepared:
    columns = {"row_no": list(range(1, n + 1)), "source_id": [f"S{i}" for i in range(n)],
               "municipality_code": ["131016"] * n, "wkb": [bytes([i % 256]) * 21 for i in range(n)]}
    return Prepared(n + 1, ["source_id"], columns, [Issue(n + 1, "S?", "rejected", "no name")], ["a note"],
                    tenant="131016", publish=True)


@pytest.mark.parametrize(("n", "count"), [(10, 2), (11, 2), (7, 3), (100_000, 2), (1, 2), (3, 4)])
def test_pieces_hold_the_rows_once_in_order(n: int, count: int) -> None:
    whole = batch(n)
    pieces = whole.pieces(count)
    assert [r for p in pieces for r in p.records()] == list(whole.records())
    sizes = [p.accepted for p in pieces]
    assert sum(sizes) == n and len(pieces) == min(n, count) and max(sizes) - min(sizes) <= 1
    assert [p.rows for p in pieces] == sizes  # the batch's own rejected row is not merged, so not counted twice
    assert all(p.issues == [] and p.notes == [] for p in pieces)
    assert all((p.tenant, p.publish, p.attributes, p.copied) == ("131016", True, ["source_id"], whole.copied)
               for p in pieces)
