"""CSV in (bulk needs) and out (savings, what-if). Pure: text in, plain values out.

Every text cell written out goes through `spreadsheet.neutralise` (a cell starting with = + - @ tab
or CR gets a leading apostrophe, so Excel does not run it as a formula); numbers are written as
numbers, so a negative saving stays -500.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from registry.procurement.models import NeedCreate
from registry.spreadsheet import neutralise

NEED_COLUMNS = ("category_code", "quantity", "quantity_max", "requirements", "baseline_unit_price_yen",
                "baseline_source", "max_unit_price_yen", "budget_status", "delivery_date", "contact_name",
                "contact_email", "municipality_code")
REQUIRED_COLUMNS = ("category_code", "quantity", "baseline_unit_price_yen", "baseline_source", "budget_status")


class CsvRejected(ValueError):
    """The whole file is refused; `rows` lists (row number, reason) with the header as row 1."""

    def __init__(self, rows: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(rows)} rows rejected")
        self.rows = rows


def parse_requirements(text: str) -> dict[str, list[str]]:
    """`os=windows|macos; memory_gb=16` -> {"os": ["windows", "macos"], "memory_gb": ["16"]}."""
    out: dict[str, list[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, values = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"requirements: {part.strip()!r} is not attribute=value|value")
        out[name.strip()] = [v.strip() for v in values.split("|") if v.strip()]
    return out


def parse_needs(text: str, max_rows: int = 10_000) -> list[tuple[int, NeedCreate]]:
    """Every row checked; any bad row rejects the file, listing all of them."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in NEED_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"missing columns {missing}")
        if unknown:
            problems.append(f"unknown columns {unknown} (allowed: {list(NEED_COLUMNS)})")
        raise CsvRejected([(1, "; ".join(problems))])
    parsed: list[tuple[int, NeedCreate]] = []
    rejected: list[tuple[int, str]] = []
    for number, raw in enumerate(reader, start=2):
        if number - 1 > max_rows:
            raise CsvRejected([(number, f"the file has more than {max_rows} rows; split it")])
        if None in raw:
            rejected.append((number, f"more fields than the {len(header)} columns of the header"))
            continue
        values: dict[str, Any] = {k: v.strip() for k, v in raw.items() if v is not None and v.strip() != ""}
        try:
            if "requirements" in values:
                values["requirements"] = parse_requirements(values["requirements"])
            parsed.append((number, msgspec.convert(values, NeedCreate, strict=False)))
        except (ValueError, msgspec.ValidationError) as exc:
            rejected.append((number, str(exc).replace("`$.", "`")))
    if rejected:
        raise CsvRejected(rejected)
    if not parsed:
        raise CsvRejected([(1, "the file has a header but no rows")])
    return parsed


def _cell(value: Any) -> Any:
    return "" if value is None else neutralise(value)


def render(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return out.getvalue()
