"""The coordinate reference systems /ogc offers (OGC API - Features Part 2), pure.

Storage is EPSG:4326 with longitude first; PostGIS transforms on the way out. Axis order follows
each CRS's definition, as Part 2 requires: CRS84 and Web Mercator are (x east, y north), EPSG:4326
and JGD2011 geographic (6668) are (latitude, longitude), and the nineteen JGD2011 plane rectangular
systems (6669-6687) are (X northing, Y easting), so their coordinates are swapped after transforming.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.i18n import tr
from registry.problems import invalid_field

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
STORAGE_SRID = 4326
# JGD2011 / Japan Plane Rectangular CS I..XIX.
PLANE_RECTANGULAR = tuple(range(6669, 6688))


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    north_first: bool
    degrees: bool

    @property
    def digits(self) -> int:
        """Decimals written: 1e-7 degree is about 1 cm; metres to the millimetre."""
        return 7 if self.degrees else 3


def _offered() -> dict[str, Crs]:
    crs = [Crs(CRS84, STORAGE_SRID, north_first=False, degrees=True),
           Crs(EPSG + "4326", 4326, north_first=True, degrees=True),
           Crs(EPSG + "6668", 6668, north_first=True, degrees=True),
           Crs(EPSG + "3857", 3857, north_first=False, degrees=False)]
    crs += [Crs(EPSG + str(srid), srid, north_first=True, degrees=False) for srid in PLANE_RECTANGULAR]
    return {c.uri: c for c in crs}


OFFERED = _offered()
OFFERED_URIS = tuple(OFFERED)
DEFAULT = OFFERED[CRS84]


def parse_crs(value: str | None, field: str = "crs") -> Crs:
    """The CRS named by its URI (also accepted: `EPSG:6677`, the safe CURIE `[EPSG:6677]`)."""
    if value is None:
        return DEFAULT
    text = value.strip().strip("[]")
    if text.upper().startswith("EPSG:"):
        text = EPSG + text[5:]
    elif text.upper() in ("CRS84", "OGC:CRS84"):
        text = CRS84
    found = OFFERED.get(text)
    if found is None:
        raise invalid_field(field, tr("{value} is not offered; use one of {crs84}, {epsg}4326, "
                                      "{epsg}6668, {epsg}3857 or {epsg}6669 to {epsg}6687 (JGD2011 plane "
                                      "rectangular I-XIX)",
                                      value=f"{value!r}", crs84=CRS84, epsg=EPSG))
    return found


def content_crs(crs: Crs) -> str:
    """The Content-Crs header's value."""
    return f"<{crs.uri}>"


def envelope(bbox: tuple[float, float, float, float], crs: Crs) -> tuple[float, float, float, float]:
    """The bbox as (min x east, min y north, max x, max y) in `crs`, whatever the CRS's axis order."""
    a, b, c, d = bbox
    return (b, a, d, c) if crs.north_first else (a, b, c, d)
