"""Paging /ogc items both ways: the cursor carries its direction and the key of the row to continue from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from litestar import Request

from registry.i18n import tr
from registry.ogc.documents import COLLECTIONS, GEOJSON
from registry.ogc.models import OgcLink
from registry.ogc.queries import Row
from registry.pagination import encode_cursor, link_to, next_link, not_a_cursor, page_request, query_pairs
from registry.params import parse_code, parse_uuid
from registry.problems import NotFound, Problem, invalid_field


def collection_name(value: str) -> str:
    if value not in COLLECTIONS:
        raise NotFound(tr("No collection {value}; the collections are {collections}.",
                          value=f"{value!r}", collections=', '.join(COLLECTIONS)))
    return value


def feature_id(collection: str, value: str) -> str | None:
    """A feature id is a UUID or, for municipalities, a local government code; anything else answers 422
    naming the parameter, as everywhere. A well-formed id of the other kind is no feature here: None."""
    if len(value.strip()) == 6 and value.strip().isdigit():
        code = parse_code(value, "featureId")
        return code if collection == "municipalities" else None
    try:
        found = parse_uuid(value, "featureId")
    except Problem as exc:
        raise invalid_field("featureId", tr("{value} is neither a UUID nor a 6-digit local government code",
                                            value=f"{value!r}")) \
            from exc
    return None if collection == "municipalities" else found


@dataclass(frozen=True)
class Wanted:
    limit: int
    forward: bool
    key: list[str] | None

    @property
    def fetch(self) -> int:
        return self.limit + 1


def wanted_page(request: Request, after: str | None, limit: int) -> Wanted:
    page = page_request(request, after, limit, 3, types=(str, str, str))
    if page.after is None:
        return Wanted(page.limit, True, None)
    direction, a, b = page.after
    if direction not in ("next", "prev"):
        raise not_a_cursor(hint=tr("follow a next or prev link"))
    return Wanted(page.limit, direction == "next", [a, b])


def links_for(request: Request, rows: Sequence[Row], wanted: Wanted) -> tuple[list[Row], list[OgcLink]]:
    """The rows to show (read with `wanted.fetch`, in key order) and the self, next and prev links."""
    more = len(rows) > wanted.limit
    if wanted.forward:
        shown = list(rows[:wanted.limit])
        has_next, has_prev = more, wanted.key is not None
    else:  # read backwards: the extra row is the first one
        shown = list(rows[-wanted.limit:]) if more else list(rows)
        has_next, has_prev = True, more
    links = [OgcLink(link_to(request, query_pairs(request)), "self", GEOJSON)]
    if shown and has_next:
        links.append(OgcLink(next_link(request, encode_cursor(["next", *shown[-1].key])) or "", "next", GEOJSON))
    if shown and has_prev:
        links.append(OgcLink(next_link(request, encode_cursor(["prev", *shown[0].key])) or "", "prev", GEOJSON))
    return shown, links
