"""What an asset upload answers: the counts and every rejected row or warning with its reason."""

from __future__ import annotations

from typing import Literal

import msgspec


class UploadIssue(msgspec.Struct):
    row: int
    """1-based data row or feature number (a CSV's header is not counted)."""
    source_id: str | None
    severity: Literal["rejected", "warning"]
    reason: str


class UploadReport(msgspec.Struct):
    file: str
    municipality_code: str
    dry_run: bool
    committed: bool
    """True when the rows were stored; a dry run, or any rejected row, stores nothing."""
    rows: int
    accepted: int
    rejected: int
    warnings: int
    inserted: int
    updated: int
    unchanged: int
    notes: list[str]
    issues: list[UploadIssue]
