"""The landing page, conformance and collection documents of /ogc, pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry.assets.rules import JAPAN
from registry.ogc.cql2 import queryables_schema
from registry.ogc.crs import CRS84, OFFERED_URIS
from registry.ogc.models import Collection, Conformance, Extent, LandingPage, OgcLink
from registry.ogc.queryables import QUERYABLES

JSON, GEOJSON, SCHEMA = "application/json", "application/geo+json", "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
Linker = Callable[[str], str]
"""A path on this server → its link (registry.pagination.link_to)."""
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"

CONFORMANCE = Conformance(conformsTo=[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3 and CQL2: QGIS and GDAL send a layer's filter to the server only when these are declared.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
])


@dataclass(frozen=True)
class About:
    title: str
    description: str
    timed: bool


COLLECTIONS = {
    "assets": About("Shared assets", "Public assets municipalities open to carriers for 5G base stations; "
                    "restricted assets show only the centre of their ~1 km mesh to those outside the owner's "
                    "prefecture. datetime filters on updated_at.", True),
    "priority-areas": About("5G priority areas", "Areas prefectures mark for 5G coverage.", True),
    "municipalities": About("Municipalities", "Town halls of the municipalities, with their local government "
                            "codes and names in Japanese and kana.", False),
    "coverage-gaps": About("Coverage gaps", "Priority areas with no offered or partly available asset inside "
                           "them, among the assets your key may see.", True),
}


def landing(link: Linker) -> LandingPage:
    return LandingPage(
        title="Kyodo Registry", description="Shared public assets for 5G siting (OGC API - Features)",
        links=[OgcLink(link("/ogc"), "self", JSON, "This document"),
               OgcLink(link("/ogc/api"), "service-desc", JSON, "The definition of /ogc (OpenAPI 3.1)"),
               OgcLink(link("/schema/openapi.json"), "service-desc", OPENAPI, "The whole API (OpenAPI 3.1)"),
               OgcLink(link("/schema/docs"), "service-doc", "text/html", "The API documentation"),
               OgcLink(link("/ogc/conformance"), "conformance", JSON, "Conformance classes"),
               OgcLink(link("/ogc/collections"), "data", JSON, "Collections")])


def collection(name: str, link: Linker) -> Collection:
    about = COLLECTIONS[name]
    base = f"/ogc/collections/{name}"
    return Collection(
        id=name, title=about.title, description=about.description,
        links=[OgcLink(link(base), "self", JSON, about.title),
               OgcLink(link(base + "/items"), "items", GEOJSON, about.title),
               OgcLink(link(base + "/queryables"), QUERYABLES_REL, SCHEMA, "What a filter may name"),
               # The draft's relation, which GDAL 3.6 looks for before it sends a filter to the server.
               OgcLink(link(base + "/queryables"), "queryables", SCHEMA, "What a filter may name")],
        extent=Extent(spatial={"bbox": [[JAPAN.west, JAPAN.south, JAPAN.east, JAPAN.north]], "crs": CRS84},
                      temporal={"interval": [[None, None]]}),
        itemType="feature", crs=list(OFFERED_URIS), storageCrs=CRS84)


def queryables(name: str, link: Linker) -> dict[str, Any]:
    schema = queryables_schema(COLLECTIONS[name].title, QUERYABLES[name], link(f"/ogc/collections/{name}/queryables"))
    # The draft's list, which GDAL 3.6 reads to learn which properties it may send in a filter; a keyword
    # JSON Schema ignores.
    return schema | {"queryables": [{"id": n} for n in QUERYABLES[name] if n != "geometry"]}


def ogc_openapi(whole: dict[str, Any], base: str) -> dict[str, Any]:
    """The /ogc part of the API's OpenAPI document with its paths relative to `base` (the /ogc URL), the way
    OGC API clients read it: GDAL 3.6 looks up /collections/{collectionId}/items to learn that `filter-lang`
    takes CQL text, and sends a layer's filter to the server only then."""
    paths = {path.removeprefix("/ogc") or "/": item for path, item in whole.get("paths", {}).items()
             if path == "/ogc" or path.startswith("/ogc/")}
    return whole | {"paths": paths, "servers": [{"url": base}]}
