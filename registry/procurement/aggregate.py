"""Pooling demand: which needs one offer can serve together, and their totals. Pure.

Hard requirements are `{attribute: [acceptable values]}`; an attribute a need does not name accepts
anything. Needs can share one offer when, for every attribute, some value is acceptable to all of
them. Grouping is greedy and deterministic (largest quantity first), so the same demand always
pools the same way; a need that fits no existing group opens a new one, and the reasons are kept.
Needs already pooled into a tender stay with that tender whatever else changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

Requirements = Mapping[str, Sequence[str]]


# gc=False on the structs a round's cached pools and savings hold by the tens of thousands (summary.py: 34,820
# lines, as many baselines, ~35,000 savings rows with five figures each): none can be part of a reference
# cycle (scalars, strings, a dict of lists), and every full collection walked them all, about 40 % of the OCDS
# package's CPU (0.58 -> 0.34 s at national scale, issue 13).
class PoolLine(msgspec.Struct, frozen=True, gc=False):
    """An active need as pooling sees it: quantities and requirements, never a price."""

    need_id: str
    municipality_code: str
    category_code: str
    quantity: int
    quantity_max: int | None
    requirements: dict[str, list[str]]
    tender_id: str | None = None
    lot_id: str | None = None


@dataclass
class Group:
    key: str
    category_code: str
    requirements: dict[str, list[str]]
    lines: list[PoolLine] = field(default_factory=list)
    tender_id: str | None = None
    separated_because: list[str] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def quantity_max(self) -> int:
        return sum(line.quantity_max or line.quantity for line in self.lines)

    @property
    def participants(self) -> list[str]:
        return sorted({line.municipality_code for line in self.lines})

    def by_municipality(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.municipality_code] = out.get(line.municipality_code, 0) + line.quantity
        return dict(sorted(out.items()))

    def by_prefecture(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            number = line.municipality_code[:2]
            out[number] = out.get(number, 0) + line.quantity
        return dict(sorted(out.items()))


def merge(a: Requirements, b: Requirements) -> tuple[dict[str, list[str]] | None, str | None]:
    """The requirements both allow, or None and the first attribute on which they cannot agree."""
    merged: dict[str, list[str]] = {}
    for name in sorted(set(a) | set(b)):
        if name in a and name in b:
            common = sorted(set(a[name]) & set(b[name]))
            if not common:
                return None, (f"{name} must be one of {sorted(set(b[name]))} but the group allows only "
                              f"{sorted(set(a[name]))}")
            merged[name] = common
        else:
            merged[name] = sorted(set(a[name] if name in a else b[name]))
    return merged, None


def check_requirements(requirements: Requirements, attributes: Mapping[str, Sequence[str]]) -> list[str]:
    """Problems with a need's requirements against its category's attributes (empty when fine)."""
    problems = []
    for name, values in requirements.items():
        if name not in attributes:
            problems.append(f"{name!r} is not an attribute of this category (known: {sorted(attributes)})")
            continue
        if not values:
            problems.append(f"{name!r} lists no acceptable value")
        unknown = sorted(set(values) - set(attributes[name]))
        if unknown:
            problems.append(f"{name!r} values {unknown} are not among {sorted(attributes[name])}")
    return problems


def _order(line: PoolLine) -> tuple:
    return (-line.quantity, line.municipality_code, line.need_id)


def group_compatible(lines: Iterable[PoolLine], category_code: str, start: int = 1) -> list[Group]:
    groups: list[Group] = []
    for line in sorted(lines, key=_order):
        reasons = []
        for group in groups:
            merged, why = merge(group.requirements, line.requirements)
            if merged is not None:
                group.requirements = merged
                group.lines.append(line)
                break
            reasons.append(f"need {line.need_id} of {line.municipality_code} not pooled with group {group.key}: {why}")
        else:
            new = Group(f"{category_code}/{start + len(groups)}", category_code,
                        {k: sorted(set(v)) for k, v in line.requirements.items()}, [line])
            new.separated_because = reasons
            groups.append(new)
    return groups


def pools(lines: Iterable[PoolLine]) -> dict[str, list[Group]]:
    """Per category: one group per tender for needs a tender holds, compatible groups for the rest."""
    by_category: dict[str, list[PoolLine]] = {}
    for line in lines:
        by_category.setdefault(line.category_code, []).append(line)
    out: dict[str, list[Group]] = {}
    for category, members in sorted(by_category.items()):
        tendered: dict[str, list[PoolLine]] = {}
        free: list[PoolLine] = []
        for line in members:
            if line.tender_id:
                tendered.setdefault(line.tender_id, []).append(line)
            else:
                free.append(line)
        groups: list[Group] = []
        for tender_id, held in sorted(tendered.items()):
            requirements: dict[str, list[str]] = {}
            for line in held:
                requirements = merge(requirements, line.requirements)[0] or requirements
            groups.append(Group(f"tender:{tender_id}", category, requirements, sorted(held, key=_order),
                                tender_id=tender_id))
        groups.extend(group_compatible(free, category, start=1))
        out[category] = groups
    return out
