"""OGC API - Features (Part 1 Core, Part 2 CRS) under /ogc, for QGIS and GDAL; the same keys as /v1."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, get
from litestar.params import Parameter

from registry.i18n import tr
from registry.ogc import documents, queries
from registry.ogc.crs import CRS84, OFFERED_URIS, content_crs, parse_crs
from registry.ogc.documents import GEOJSON, JSON, SCHEMA
from registry.ogc.models import (
    Collection,
    Collections,
    Conformance,
    LandingPage,
    OgcFeature,
    OgcFeatureCollection,
    OgcLink,
)
from registry.ogc.paging import collection_name, feature_id, links_for, wanted_page
from registry.ogc.params import LANGS, items_query
from registry.pagination import link_to
from registry.params import parse_code
from registry.problems import NotFound

TAGS = ["OGC API - Features"]
_CRS = {"enum": list(OFFERED_URIS)}
_LANG = "cql2-text (the default) or cql2-json; cql-text is the draft's name for cql2-text"
FeatureId = Annotated[str, Parameter(description="a UUID; for municipalities the 6-digit code",
                                     schema_extra={"anyOf": [{"format": "uuid"}, {"format": "jisx0402"}]})]
CollectionId = Annotated[str, Parameter(description="a collection of GET /ogc/collections",
                                        schema_extra={"enum": list(documents.COLLECTIONS)})]


def _linker(request: Request) -> documents.Linker:
    return lambda path: link_to(request, path=path)


@get("/ogc", tags=TAGS, summary="OGC API landing page", media_type=JSON)
async def landing(request: Request) -> LandingPage:
    return documents.landing(_linker(request))


@get("/ogc/api", tags=TAGS, summary="The OpenAPI definition of /ogc, its paths relative to /ogc", media_type=JSON)
async def api(request: Request) -> dict[str, Any]:
    return documents.ogc_openapi(request.app.openapi_schema.to_schema(), link_to(request, path="/ogc"))


@get("/ogc/conformance", tags=TAGS, summary="Conformance classes", media_type=JSON)
async def conformance() -> Conformance:
    return documents.CONFORMANCE


@get("/ogc/collections", tags=TAGS, summary="Feature collections", media_type=JSON)
async def collections(request: Request) -> Collections:
    link = _linker(request)
    return Collections(links=[OgcLink(link("/ogc/collections"), "self", JSON)],
                       collections=[documents.collection(name, link) for name in documents.COLLECTIONS])


@get("/ogc/collections/{collectionId:str}", tags=TAGS, summary="One feature collection", media_type=JSON)
async def collection(request: Request, collectionId: CollectionId) -> Collection:
    return documents.collection(collection_name(collectionId), _linker(request))


@get("/ogc/collections/{collectionId:str}/queryables", tags=TAGS, media_type=SCHEMA,
     summary="The properties a filter may name (JSON Schema)")
async def queryables(request: Request, collectionId: CollectionId) -> Response[dict[str, Any]]:
    name = collection_name(collectionId)
    # A JSON Schema is JSON: clients that accept only application/json (GDAL 3.6) get it under that type.
    media_type = request.accept.best_match([SCHEMA, JSON], default=SCHEMA) or SCHEMA
    return Response(documents.queryables(name, _linker(request)), media_type=media_type)


@get("/ogc/collections/{collectionId:str}/items", tags=TAGS, summary="Features of a collection",
     media_type=GEOJSON,
     description="GeoJSON in `crs` (CRS84 unless asked), a page at a time: follow the links with rel next and "
                 "prev. `numberMatched` only with count=true.")
async def items(
    request: Request, db: asyncpg.Connection, collectionId: CollectionId,
    bbox: Annotated[str | None, Parameter(description="minx,miny,maxx,maxy in bbox-crs axis order")] = None,
    bbox_crs: Annotated[str | None, Parameter(query="bbox-crs", description="CRS of bbox (default CRS84)",
                                              schema_extra=_CRS)] = None,
    crs: Annotated[str | None, Parameter(description="CRS of the answer (default CRS84)", schema_extra=_CRS)] = None,
    datetime: Annotated[str | None, Parameter(description="instant or start/end (.. for open) on updated_at",
                                              schema_extra={"format": "ogc-datetime"})] = None,
    municipality: Annotated[str | None, Parameter(description="assets only: 6-digit code")] = None,
    after: Annotated[str | None, Parameter(description="cursor from a next or prev link")] = None,
    limit: Annotated[int, Parameter(description="features per page")] = 100,
    count: Annotated[bool, Parameter(description="include numberMatched")] = False,
    filter: Annotated[str | None, Parameter(description="a CQL2 expression on the collection's queryables, "
                                                        "e.g. category = 'rooftop' AND height_m >= 20",
                                            schema_extra={"format": "cql2"})] = None,
    filter_lang: Annotated[str | None, Parameter(query="filter-lang", description=_LANG,
                                                 schema_extra={"enum": list(LANGS)})] = None,
    filter_crs: Annotated[str | None, Parameter(query="filter-crs", description="only CRS84, the default",
                                                schema_extra={"enum": [CRS84]})] = None,
) -> Response[OgcFeatureCollection]:
    name = collection_name(collectionId)
    q = items_query(collection=name, crs=crs, bbox=bbox, bbox_crs=bbox_crs, datetime=datetime, filter=filter,
                    filter_lang=filter_lang, filter_crs=filter_crs)
    code = parse_code(municipality, "municipality") if municipality is not None else None
    wanted = wanted_page(request, after, limit)
    rows = await queries.page(db, name, q, code, wanted.key, wanted.forward, wanted.fetch)
    shown, links = links_for(request, rows, wanted)
    matched = await queries.count(db, name, q, code) if count else None
    body = OgcFeatureCollection(features=[r.feature for r in shown], links=links, numberReturned=len(shown),
                                numberMatched=matched, timeStamp=dt.datetime.now(dt.UTC))
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": content_crs(q.crs)})


@get("/ogc/collections/{collectionId:str}/items/{featureId:str}", tags=TAGS, summary="One feature",
     media_type=GEOJSON)
async def item(
    request: Request, db: asyncpg.Connection, collectionId: CollectionId, featureId: FeatureId,
    crs: Annotated[str | None, Parameter(description="CRS of the answer (default CRS84)", schema_extra=_CRS)] = None,
) -> Response[OgcFeature]:
    name = collection_name(collectionId)
    out = parse_crs(crs)
    wanted = feature_id(name, featureId)
    found = await queries.one(db, name, wanted, out) if wanted is not None else None
    if found is None:
        raise NotFound(tr("No feature {featureid} in {name} among those your key may see.",
                          featureid=featureId, name=name))
    base = f"/ogc/collections/{name}"
    found.links = [OgcLink(link_to(request, path=f"{base}/items/{featureId}"), "self", GEOJSON),
                   OgcLink(link_to(request, path=base), "collection", JSON)]
    return Response(found, media_type=GEOJSON, headers={"Content-Crs": content_crs(out)})


route_handlers = [landing, api, conformance, collections, collection, queryables, items, item]
