"""/ogc query parameters → one frozen, validated value. Pure; the SQL is in queries.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry.assets.search import parse_bbox
from registry.i18n import tr
from registry.ogc.cql2 import Lang, Translated, translate
from registry.ogc.crs import CRS84, DEFAULT, Crs, envelope, parse_crs
from registry.ogc.queryables import QUERYABLES
from registry.problems import invalid_field

LANGS: dict[str, Lang] = {"cql2-text": "cql2-text", "cql2-json": "cql2-json",
                          # The draft's name, which GDAL 3.6 (Debian 12, Ubuntu 24.04) still sends.
                          "cql-text": "cql2-text"}


@dataclass(frozen=True)
class Filter:
    """A CQL2 filter already checked against the collection's queryables; `sql` writes it with its
    parameters numbered from `first` (the fixed statement's own parameters come before)."""
    text: str
    lang: Lang
    collection: str

    def sql(self, first: int) -> Translated:
        return translate(self.text, self.lang, QUERYABLES[self.collection], first)


@dataclass(frozen=True)
class ItemsQuery:
    crs: Crs = DEFAULT
    bbox: tuple[float, float, float, float] | None = None
    """(min x east, min y north, max x, max y) in bbox_crs."""
    bbox_crs: Crs = DEFAULT
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    filter: Filter | None = None


def _bbox(text: str, crs: Crs) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) == 6:  # OGC allows a 3D box; heights do not filter anything here
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4:
        raise invalid_field("bbox", tr("needs 4 comma-separated numbers, got {part_count}", part_count=len(parts)))
    try:
        values = tuple(float(p) for p in parts)
    except ValueError as exc:
        raise invalid_field("bbox", tr("{text} has a part that is not a number", text=f"{text!r}")) from exc
    if any(v != v or abs(v) == float("inf") for v in values):
        raise invalid_field("bbox", tr("numbers must be finite"))
    box = envelope(values, crs)  # type: ignore[arg-type]
    if crs.degrees:
        return parse_bbox(",".join(str(v) for v in box))
    if box[0] >= box[2] or box[1] >= box[3]:
        order = "min northing, min easting, max northing, max easting" if crs.north_first else \
            "min easting, min northing, max easting, max northing"
        raise invalid_field("bbox", tr("the order in {uri} is {order}, with min < max", uri=crs.uri, order=order))
    return box


def _instant(text: str, end: bool) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            return start + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else start
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise invalid_field("datetime", tr("{text} is not an RFC 3339 date-time such as "
                                           "2025-04-01T00:00:00Z or a date such as 2025-04-01",
                                           text=f"{text!r}")) from exc
    if value.tzinfo is None:
        raise invalid_field("datetime", tr("{text} needs a time zone, e.g. Z or +09:00", text=f"{text!r}"))
    return value


def parse_datetime(text: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """An instant, or an interval `start/end` with `..` (or nothing) for an open end."""
    if text is None:
        return None, None
    if "/" not in text:
        if text in ("", ".."):
            raise invalid_field("datetime", tr("an instant cannot be open; give a date-time or start/end"))
        return _instant(text, False), _instant(text, True)
    first, _, last = text.partition("/")
    start, end = _instant(first, False), _instant(last, True)
    if start is None and end is None:
        raise invalid_field("datetime", tr("at least one end of the interval must be given, e.g. "
                                           "2025-04-01T00:00:00Z/.."))
    if start is not None and end is not None and start > end:
        raise invalid_field("datetime", tr("the interval's start is after its end"))
    return start, end


def parse_filter(collection: str, text: str | None, lang: str | None, filter_crs: str | None) -> Filter | None:
    if lang is not None and lang not in LANGS:
        raise invalid_field("filter-lang", tr("{lang} is not offered; use cql2-text (the default) or "
                                              "cql2-json",
                                              lang=f"{lang!r}"))
    if filter_crs is not None and parse_crs(filter_crs, "filter-crs").uri != CRS84:
        raise invalid_field("filter-crs", tr("geometries in a filter are longitude, latitude in {crs84}; "
                                             "transform them, or filter with bbox and bbox-crs",
                                             crs84=CRS84))
    if text is None:
        return None  # a filter-lang alone asks for nothing
    found = Filter(text, LANGS[lang or "cql2-text"], collection)
    found.sql(1)  # the 422 for a filter that is not valid, or names what is not queryable, comes now
    return found


def items_query(*, collection: str, crs: str | None, bbox: str | None, bbox_crs: str | None,
                datetime: str | None, filter: str | None = None, filter_lang: str | None = None,
                filter_crs: str | None = None) -> ItemsQuery:
    out = parse_crs(crs, "crs")
    box_crs = parse_crs(bbox_crs, "bbox-crs")
    start, end = parse_datetime(datetime)
    return ItemsQuery(crs=out, bbox=_bbox(bbox, box_crs) if bbox is not None else None, bbox_crs=box_crs,
                      start=start, end=end, filter=parse_filter(collection, filter, filter_lang, filter_crs))
