"""Source rows → asset rows ready for the staging table, or a reason per rejected row. Pure: no database.

The rules are registry.assets.rules, the same the API applies, so that a bad row is named here with a
reason a person can act on instead of failing the whole load inside PostgreSQL, and so that every
loaded asset can later be changed through the API. Everything is vectorised (pandas, shapely 2)
because a million rows must pass in seconds; only rows with an issue are visited one by one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise, repeat
from typing import Any, Literal

import numpy as np
import pandas as pd

from loaders.chunks import slices
from loaders.columns import RowIssues, as_number, as_text, lookup, lookup_first, nfkc, nullable, text_or_none
from loaders.formats import LoadError, Source
from loaders.geometries import WGS84, Shapes, geometries, undeclared_crs
from loaders.mapping import Mapping
from loaders.municipal_codes import code_outcome
from loaders.source_ids import SeenIds, source_ids
from loaders.words import CATEGORY_WORDS, WORDS, category_from_name
from registry.assets import rules
from registry.i18n import tr

__all__ = ["BATCH_ROWS", "STAGING_COLUMNS", "WGS84", "Issue", "Prepared", "prepare", "prepare_in_batches"]

_ENUM_ATTRIBUTES = ("power", "availability", "visibility", "permit_type", "status")
_FREE_TEXT = ("address", "fee_rule", "contact", "source")
_POLYGON_WORDS = ", ".join(rules.POLYGON_CATEGORIES[:-1]) + " or " + rules.POLYGON_CATEGORIES[-1]
_CONSTRAINT_SPLIT = re.compile(r"\s*[;,、|]\s*")

# Rows checked, copied and merged at a time: a loader writes one batch while the next is checked.
BATCH_ROWS = 100_000


def batch_sizes(rows: int) -> Iterator[int]:
    """A quarter of `rows`, a quarter again, a half, then `rows` at a time: the writers of a load wait for the first
    batches to be read, checked and copied. With 100,000 rows from the first, a million-point load's two writers began
    to merge 0.8 and 1.45 s after its first statement; with these, 0.4 and 0.6 s (bench/README.md)."""
    yield from (max(1, rows // 4), max(1, rows // 4), max(1, rows // 2))
    yield from repeat(rows)

# Staging table columns, in COPY order; see loaders.assets.
STAGING_COLUMNS = ("row_no", "municipality_code", "source_id", "category", "name", "address", "position_accuracy_m",
                   "height_m", "mountable_height_m", "spare_load_kg", "power", "fibre_distance_m", "area_m2",
                   "availability", "current_tenants", "max_tenants", "constraints", "fee_rule", "permit_type",
                   "contact", "source", "last_verified", "visibility", "status", "wkb")


@dataclass
class Issue:
    row: int
    """1-based number of the data row or feature (the CSV header is not counted)."""
    source_id: str | None
    severity: Literal["rejected", "warning"]
    reason: str


@dataclass
class Prepared:
    rows: int
    attributes: list[str]
    """Attributes this load sets (the mapping's); a re-load leaves the others as they are."""
    columns: dict[str, list[Any]]
    """Staging columns for the accepted rows, each a list; only those the load sets (the rest stay NULL)."""
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tenant: str | None = None
    """The one municipality every row belongs to, when the load is for one."""
    publish: bool = False
    """Whether rows without a status of their own are published (else new ones are drafts)."""

    @property
    def accepted(self) -> int:
        return len(self.columns["row_no"])

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")

    @property
    def copied(self) -> list[str]:
        """The staging columns COPY fills: 7 attributes leave 15 of 25 NULL, whose Nones were most of COPY's 2.6 s."""
        return [c for c in STAGING_COLUMNS if c in self.columns]

    def pieces(self, count: int) -> list[Prepared]:
        """The accepted rows as `count` batches to merge apart; the issues and notes stay with this one."""
        cuts = [self.accepted * i // count for i in range(count + 1)]
        return [Prepared(stop - start, self.attributes, {c: v[start:stop] for c, v in self.columns.items()},
                         tenant=self.tenant, publish=self.publish)
                for start, stop in pairwise(cuts) if stop > start]

    def records(self) -> Iterator[tuple]:
        """The copied columns' rows, made as COPY reads them (a list of a million tuples cost 0.9 s to build)."""
        return zip(*(self.columns[c] for c in self.copied), strict=True)


class _Rows:
    """One slice of a file: its mapped columns (raw and as text), the issues found and the values kept."""

    def __init__(self, source: Source, mapping: Mapping) -> None:
        self.table, self.mapping, self.n = source.table, mapping, len(source.table)
        self.issues = RowIssues(self.n)
        self.out: dict[str, list[Any]] = {}
        self._texts: dict[str, pd.Series | None] = {}
        self._normalised: set[str] = set()

    def raw(self, attr: str) -> pd.Series | None:
        names = self.mapping.columns.get(attr)
        if names:
            if len(names) == 1 and attr not in self.mapping.fallbacks:
                return self.table[names[0]]
            parts = [as_text(self.table[c]) for c in names]
            if attr in self.mapping.fallbacks:
                stand_in = pd.Series([""] * self.n, dtype=object)
                for c in self.mapping.fallbacks[attr]:
                    stand_in = stand_in.str.cat(as_text(self.table[c]))
                parts[0] = parts[0].where(parts[0] != "", stand_in)
            seps = self.mapping.joiners.get(attr, [" "] * (len(parts) - 1))
            joined = parts[0]
            for sep, p in zip(seps, parts[1:], strict=True):
                joined = joined.str.cat(p, sep=sep)
            return joined.str.strip()
        if attr in self.mapping.defaults:
            return pd.Series([self.mapping.defaults[attr]] * self.n, dtype=object)
        return None

    def text(self, attr: str) -> pd.Series | None:
        if attr not in self._texts:
            r = self.raw(attr)
            self._texts[attr] = None if r is None else as_text(r)
        return self._texts[attr]

    def normalised(self, attr: str) -> pd.Series | None:
        """The text in Unicode NFKC: half-width katakana (ｺｽﾞﾐｯｸ) full width, full-width digits and letters
        (１番２号) ASCII, ㈱ (株). Each row whose text changed is warned of with its original."""
        t = self.text(attr)
        if t is None or attr in self._normalised:
            return t
        n = nfkc(t)
        changed = (n != t).to_numpy()
        if changed.any():
            originals = t.tolist()
            self.issues.warn(changed, lambda i: f"{attr} normalised to NFKC (full-width katakana, ASCII digits "
                                                f"and letters); the file had {originals[i]!r}")
        self._texts[attr] = n
        self._normalised.add(attr)
        return n


def prepare_in_batches(source: Source, mapping: Mapping, *, tenant: str | None, known: dict[str, str | None],
                       source_crs: int | None = None, batch_rows: int | None = None) -> Iterator[Prepared]:
    """`prepare` over consecutive slices of the file, so a loader can write one slice while the next is
    checked. Row numbers, repeated ids and the coordinate system are judged for the whole file."""
    if source.rows == 0:
        raise LoadError(tr("{file} contains no rows", file=source.name))
    notes = list(source.notes)
    if source.geometry is not None and source_crs is None and source.geometry.crs is None:
        notes.append(undeclared_crs(np.asarray(source.geometry.values, dtype=object), source.name))
        source_crs = 4326
    seen = SeenIds()
    batch_rows = batch_rows or BATCH_ROWS
    for start, part in slices(source, batch_sizes(batch_rows)):  # a chunked file is read here, a chunk ahead
        part.notes = notes if start == 0 else []
        yield prepare(part, mapping, tenant=tenant, known=known, source_crs=source_crs, first_row=start,
                      seen=seen)


def prepare(source: Source, mapping: Mapping, *, tenant: str | None, known: dict[str, str | None],
            source_crs: int | None = None, first_row: int = 0, seen: SeenIds | None = None) -> Prepared:
    """Validate and normalise every row. `known` maps every municipality and ward code to its parent city
    (None for a municipality); `tenant` is the municipality a load is for (None: codes from the file).
    For a slice of a file, `first_row` is the index of its first row in the file and `seen` holds the source ids
    of the slices before (this slice's are added)."""
    if len(source.table) == 0:
        raise LoadError(tr("{file} contains no rows", file=source.name))
    rows = _Rows(source, mapping)
    notes = list(source.notes)
    ids = rows.text("source_id")
    assert ids is not None  # build_mapping insists on it
    sid = source_ids(ids, rows.issues, first_row, SeenIds() if seen is None else seen)
    _municipality_codes(rows, tenant, known)
    category = _categories(rows)
    _free_text(rows)
    _numbers(rows)
    _enums(rows)
    _constraints(rows)
    _last_verified(rows)
    shapes = geometries(source, mapping, rows.raw, rows.issues, notes, source_crs, sid.__getitem__)
    _geometry_fits_category(rows, shapes, category)
    keep = rows.issues.ok()
    return Prepared(rows.n, mapping.attributes, _staging(rows, sid, shapes, keep, first_row),
                    _found(rows.issues, sid, first_row), notes, tenant, mapping.publish)


def _municipality_codes(rows: _Rows, tenant: str | None, known: dict[str, str | None]) -> None:
    """Padded, with a check digit, a real municipality, and the one this load is for."""
    codes = rows.text("municipality_code")
    if codes is None:
        if tenant is None:
            raise LoadError(tr("no municipality code column and no --tenant: name one or the other"))
        rows.out["municipality_code"] = [tenant] * rows.n
        return
    outcomes = {v: code_outcome(v, tenant, known) for v in codes.unique()}
    code_list = codes.tolist()
    rows.out["municipality_code"] = [outcomes[v][0] for v in code_list]
    for i, v in enumerate(code_list):
        _, warning, rejection = outcomes[v]
        if warning:
            rows.issues.warn_at(i, warning)
        if rejection:
            rows.issues.reject_at(i, rejection)


def _categories(rows: _Rows) -> pd.Series:
    if rows.mapping.infers_category:
        return _categories_from_names(rows)
    cat_text = rows.text("category")
    assert cat_text is not None
    lowered = cat_text.str.lower().str.replace(" ", "_", regex=False)
    # A category's own name in any case, else the file's word for it (ポール), else that word in lower case.
    found = lookup_first([(lowered, {c: c for c in rules.CATEGORIES}), (cat_text, CATEGORY_WORDS),
                          (lowered, CATEGORY_WORDS)])
    category = pd.Series(found, index=cat_text.index, dtype=object)
    rows.issues.reject(cat_text == "", "no category")
    rows.issues.reject(category.isna() & (cat_text != ""),
                       lambda i: f"category {cat_text.iat[i]!r} is not one of {', '.join(rules.CATEGORIES)}")
    rows.out["category"] = found
    return category


def _categories_from_names(rows: _Rows) -> pd.Series:
    """Without a category column, each row's from its name, said per row. A row whose name says nothing is
    held: a new asset is stored as a draft of category `other` (loaders.merge), never published by surprise."""
    names = rows.normalised("name")
    assert names is not None
    found = [category_from_name(n) for n in names.tolist()]
    for i, hit in enumerate(found):
        if hit is not None:
            rows.issues.warn_at(i, f"category {hit[0]} inferred from {hit[1]!r} in the name (the file has no "
                                   "category column)")
        elif names.iat[i]:
            rows.issues.warn_at(i, f"category cannot be inferred from the name {names.iat[i]!r} and the file has no "
                                   "category column: a new asset is held as a draft of category other until its "
                                   "category is set (add a category column, or --default category=...); an "
                                   "existing one keeps its category and status")
    category = pd.Series([None if hit is None else hit[0] for hit in found], dtype=object)
    rows.out["category"] = category.tolist()
    return category


def _free_text(rows: _Rows) -> None:
    names = rows.normalised("name")
    assert names is not None
    rows.issues.reject(names == "", "no name")
    rows.issues.reject(names.str.len() > rules.TEXTS["name"][1],
                       f"name is longer than {rules.TEXTS['name'][1]} characters")
    rows.out["name"] = names.tolist()
    for attr in _FREE_TEXT:
        t = rows.normalised(attr)
        if t is None:
            rows.out[attr] = [None] * rows.n
            continue
        limit = rules.TEXTS[attr][1]
        rows.issues.reject(t.str.len() > limit, f"{attr} is longer than {limit} characters")
        rows.out[attr] = text_or_none(t)


def _numbers(rows: _Rows) -> None:
    """Numbers within the ranges of registry.assets.rules, then the checks between two of them."""
    numbers: dict[str, pd.Series] = {}
    for attr, rule in rules.NUMBERS.items():
        r = rows.raw(attr)
        if r is None:
            rows.out[attr] = [None] * rows.n
            continue
        # A numeric column has no text that fails to parse (a missing value is ''), and writing its floats
        # as text cost 0.05 s of CPU per column and batch of 100,000: only a text column is read as text.
        t = None if _numeric(r) else as_text(r)
        values = as_number(t, r)
        # The cells of a rejected row are read one by one (.iat) for its message: listing a million
        # cells up front for messages only rejected rows need cost as much as the checks.
        if t is not None:
            rows.issues.reject(values.isna() & (t != ""),
                               lambda i, a=attr, tl=t: f"{a} {tl.iat[i]!r} is not a number")
        ok = values.notna()
        rows.issues.reject(ok & ((values < rule.low) | (values > rule.high)),
                           lambda i, a=attr, r=rule, vl=values: f"{a} {vl.iat[i]:,} is outside {r.low:,} to {r.high:,}")
        if rule.integer:
            rows.issues.reject(ok & (values != np.floor(values)),
                               lambda i, a=attr, vl=values: f"{a} {vl.iat[i]:g} is not a whole number")
            rows.out[attr] = [None if v != v else int(v) for v in values.tolist()]
        else:
            rows.out[attr] = nullable(values)
        numbers[attr] = values
    if "mountable_height_m" in numbers and "height_m" in numbers:
        rows.issues.reject(numbers["mountable_height_m"] > numbers["height_m"], "mountable_height_m is above height_m")
    if "current_tenants" in numbers:
        ceiling = numbers.get("max_tenants", pd.Series([1.0] * rows.n)).fillna(1.0)
        rows.issues.reject(numbers["current_tenants"].fillna(0) > ceiling,
                           "current_tenants exceeds max_tenants (1 unless the file gives max_tenants)")


def _numeric(raw: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)


def _enums(rows: _Rows) -> None:
    """Enumerations, with the Japanese words found in municipal spreadsheets."""
    for attr in _ENUM_ATTRIBUTES:
        t = rows.text(attr)
        if t is None:
            rows.out[attr] = [None] * rows.n
            continue
        allowed = rules.ENUMS[attr]
        mapped = lookup(t.str.lower(), {**{v: v for v in allowed}, **WORDS[attr]})
        rows.issues.reject(np.equal(np.asarray(mapped, dtype=object), None) & (t != "").to_numpy(bool),
                           lambda i, a=attr, al=allowed, tl=t: f"{a} {tl.iat[i]!r} is not one of {', '.join(al)}")
        rows.out[attr] = mapped


def _constraints(rows: _Rows) -> None:
    constraints = rows.text("constraints")
    if constraints is None:
        rows.out["constraints"] = [None] * rows.n
        return
    lists = [[p for p in _CONSTRAINT_SPLIT.split(v) if p] if v else [] for v in constraints.tolist()]
    for i, items in enumerate(lists):
        if len(items) > rules.MAX_CONSTRAINTS:
            rows.issues.reject_at(i, f"{len(items)} constraints; an asset has at most {rules.MAX_CONSTRAINTS}")
        if any(len(p) > rules.MAX_CONSTRAINT_LENGTH for p in items):
            rows.issues.reject_at(i, f"a constraint is longer than {rules.MAX_CONSTRAINT_LENGTH} characters")
    rows.out["constraints"] = lists


def _last_verified(rows: _Rows) -> None:
    verified = rows.raw("last_verified")
    if verified is None:
        rows.out["last_verified"] = [None] * rows.n
        return
    t = as_text(verified)
    parsed = pd.to_datetime(t.str.replace("/", "-", regex=False).str.slice(0, 10), format="%Y-%m-%d",
                            errors="coerce")
    t_list = t.tolist()
    rows.issues.reject(parsed.isna() & (t != ""), lambda i: f"last_verified {t_list[i]!r} is not a date (YYYY-MM-DD)")
    rows.out["last_verified"] = [None if pd.isna(d) else d.date() for d in parsed]


def _geometry_fits_category(rows: _Rows, shapes: Shapes, category: pd.Series) -> None:
    types = shapes.type_ids()
    cat_values = rows.out["category"]
    polygon = (types == 3) | (types == 6)
    if not polygon.any():  # points only: nothing to check (category.isin was 0.14 s over a million points)
        return
    not_for_polygon = polygon & ~category.isin(rules.POLYGON_CATEGORIES).to_numpy()
    rows.issues.reject(not_for_polygon & category.notna().to_numpy(),
                       lambda i: f"a polygon is only for {_POLYGON_WORDS}; a {cat_values[i]} is a point")
    rows.issues.reject(polygon & category.isna().to_numpy() & rows.mapping.infers_category,
                       f"an outline needs a category ({_POLYGON_WORDS}) and none could be inferred from the name: "
                       "add a category column")


def _staging(rows: _Rows, sid: list[str], shapes: Shapes, keep: np.ndarray, first_row: int) -> dict[str, list]:
    """The accepted rows' staging columns, without the attributes the load does not set."""
    index = np.flatnonzero(keep)
    every = len(index) == rows.n  # no row rejected (the usual case): the lists as they are, not copied
    columns: dict[str, list[Any]] = {"row_no": (index + first_row + 1).tolist(),
                                     "source_id": sid if every else [sid[i] for i in index]}
    for attr in STAGING_COLUMNS:
        if attr in ("row_no", "source_id", "wkb"):
            continue
        values = rows.out[attr]
        attr_set = attr in rows.mapping.columns or attr in rows.mapping.defaults or attr in (
            "municipality_code", "category", "name")
        if attr_set:
            columns[attr] = values if every else [values[i] for i in index]
    columns["wkb"] = shapes.wkb(keep)
    return columns


def _found(issues: RowIssues, sid: list[str], first_row: int) -> list[Issue]:
    found: list[Issue] = []
    for i in sorted(set(issues.rejected) | set(issues.warned)):
        for reason in issues.rejected.get(i, []):
            found.append(Issue(first_row + i + 1, sid[i] or None, "rejected", reason))
        for reason in issues.warned.get(i, []):
            found.append(Issue(first_row + i + 1, sid[i] or None, "warning", reason))
    return found
