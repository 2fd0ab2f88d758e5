"""The landing page, conformance and collection documents of /ogc, pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from registry.assets.rules import JAPAN
from registry.ogc.crs import CRS84, OFFERED_URIS
from registry.ogc.models import Collection, Conformance, Extent, LandingPage, OgcLink

JSON, GEOJSON = "application/json", "application/geo+json"
Linker = Callable[[str], str]
"""A path on this server → its link (registry.pagination.link_to)."""
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"

CONFORMANCE = Conformance(conformsTo=[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
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
               OgcLink(link("/schema/openapi.json"), "service-desc", OPENAPI, "The API definition"),
               OgcLink(link("/schema/docs"), "service-doc", "text/html", "The API documentation"),
               OgcLink(link("/ogc/conformance"), "conformance", JSON, "Conformance classes"),
               OgcLink(link("/ogc/collections"), "data", JSON, "Collections")])


def collection(name: str, link: Linker) -> Collection:
    about = COLLECTIONS[name]
    base = f"/ogc/collections/{name}"
    return Collection(
        id=name, title=about.title, description=about.description,
        links=[OgcLink(link(base), "self", JSON, about.title),
               OgcLink(link(base + "/items"), "items", GEOJSON, about.title)],
        extent=Extent(spatial={"bbox": [[JAPAN.west, JAPAN.south, JAPAN.east, JAPAN.north]], "crs": CRS84},
                      temporal={"interval": [[None, None]]}),
        itemType="feature", crs=list(OFFERED_URIS), storageCrs=CRS84)
