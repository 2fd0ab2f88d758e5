"""Every rule an asset obeys, in one place: the API models, the file loader and the search parser import
these, and tests/test_asset_rules.py compares them with the CHECK constraints and column types of the
`assets` table (sql/010_assets.sql), which stay the last line of defence.

A range's upper bound is what the column can hold where no CHECK says less: `numeric(8, 2)` holds at
most 999,999.99. An asset loaded from a file must be one the API can change afterwards, so the loader
and the API share these bounds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES: tuple[str, ...] = ("rooftop", "land", "structure", "streetlight", "traffic_signal", "utility_pole",
                               "bus_stop", "subway_entrance", "park", "signage", "other")
POLYGON_CATEGORIES: tuple[str, ...] = ("rooftop", "land", "park")
"""The categories that may be outlined by a polygon; every other asset is a point."""

POWER: tuple[str, ...] = ("yes", "no", "unknown")
AVAILABILITIES: tuple[str, ...] = ("offered", "on_request", "partly_available", "occupied", "reserved")
VISIBILITIES: tuple[str, ...] = ("public", "carriers", "restricted")
PERMIT_TYPES: tuple[str, ...] = ("use_permit", "lease", "other")
STATUSES: tuple[str, ...] = ("draft", "published", "withdrawn")
WRITABLE_STATUSES: tuple[str, ...] = ("draft", "published")
"""What a writer may set; `withdrawn` comes only from DELETE (or a file that says so)."""

ENUMS: dict[str, tuple[str, ...]] = {
    "category": CATEGORIES, "power": POWER, "availability": AVAILABILITIES, "visibility": VISIBILITIES,
    "permit_type": PERMIT_TYPES, "status": STATUSES,
}


@dataclass(frozen=True)
class Envelope:
    west: float
    south: float
    east: float
    north: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.west <= lon <= self.east and self.south <= lat <= self.north


# Japan's extent, islands included (Yonaguni 122.9E, Minamitori 153.9E, Okinotori 20.4N, Etorofu 45.5N);
# the asset_geometry_in_japan constraint.
JAPAN = Envelope(122.5, 20.0, 154.5, 46.0)


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    integer: bool = False
    digits: tuple[int, int] | None = None
    """(precision, scale) of the numeric column; None for an integer column."""


NUMBERS: dict[str, Range] = {
    "position_accuracy_m": Range(0, 999_999.99, digits=(8, 2)),
    "height_m": Range(0, 1000, digits=(7, 2)),
    "mountable_height_m": Range(0, 1000, digits=(7, 2)),
    "spare_load_kg": Range(0, 999_999_999.9, digits=(10, 1)),
    "fibre_distance_m": Range(0, 999_999_999.9, digits=(10, 1)),
    "area_m2": Range(0, 9_999_999_999.99, digits=(12, 2)),
    # current_tenants <= max_tenants <= 100, so no stored asset has more than 100 tenants.
    "current_tenants": Range(0, 100, integer=True),
    "max_tenants": Range(0, 100, integer=True),
}

DERIVED: frozenset[str] = frozenset({"current_tenants"})
"""Columns the database computes (sql/056: approved and installed applications); no client writes them."""
WRITABLE_NUMBERS: dict[str, Range] = {k: v for k, v in NUMBERS.items() if k not in DERIVED}

TEXTS: dict[str, tuple[int, int]] = {
    "source_id": (1, 200), "name": (1, 500), "address": (0, 500), "fee_rule": (0, 1000), "contact": (0, 500),
    "source": (0, 500),
}
"""(shortest, longest) in characters."""

MAX_CONSTRAINTS = 20
MAX_CONSTRAINT_LENGTH = 200
MAX_ASSET_VERTICES = 5_000
"""An asset outline, even a detailed rooftop, needs no more; more is an unsimplified survey polygon."""
MAX_WITHIN_VERTICES = 10_000
MAX_RADIUS_M = 50_000
