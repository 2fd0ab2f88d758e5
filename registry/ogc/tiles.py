"""OGC API - Tiles for the catalogue (`assets`) and the priority areas (`priority-areas`), with TileJSON 3.0.0
for each and a MapLibre style drawing both.

Tiles are Mapbox Vector Tiles encoded by PostGIS; the asset tiles are registry/assets/tile_queries.tile, so a
carrier sees restricted assets at their coarse place exactly as in /v1/tiles. An empty tile is 204; the
ETag and 304 come from registry/headers.EntityTagMiddleware.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

import asyncpg
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from registry.areas.models import AreaKind
from registry.assets import tile_queries as asset_tiles
from registry.assets.rules import AVAILABILITIES, CATEGORIES, JAPAN
from registry.assets.search import build_filter
from registry.assets.tiles import MAX_FEATURES, MAX_ZOOM, MVT, tile_address
from registry.ogc import tile_queries
from registry.pagination import link_to

Collection = Literal["assets", "priority-areas"]
TMS = "WebMercatorQuad"
_TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
_CACHE = {"Cache-Control": "private, max-age=60"}
_INDEX = {"pattern": r"^[0-9]{1,7}(\.(pbf|mvt))?$"}
_LAYER = {"assets": "assets", "priority-areas": "priority_areas"}
_FIELDS = {
    "assets": {"asset_id": "String", "municipality_code": "String", "category": "String", "name": "String",
               "availability": "String", "height_m": "Number", "power": "String", "fibre_distance_m": "Number",
               "current_tenants": "Number", "max_tenants": "Number", "coarse": "Boolean",
               "point_count": "Number (below zoom 12, where assets are gathered into cells)"},
    "priority-areas": {"area_id": "String", "prefecture_code": "String", "kind": "String", "name": "String"},
}
# The web-mercator half-circumference in metres, and the OGC 0.28 mm "standardized rendering pixel".
_HALF = math.pi * 6378137
_PIXEL_M = 0.00028


def tile_matrix_set() -> dict[str, Any]:
    """OGC Two Dimensional Tile Matrix Set 2.0 description of WebMercatorQuad, zoom 0 to MAX_ZOOM."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = 2 * _HALF / 256 / 2**z
        matrices.append({"id": str(z), "scaleDenominator": cell / _PIXEL_M, "cellSize": cell,
                         "cornerOfOrigin": "topLeft", "pointOfOrigin": [-_HALF, _HALF],
                         "tileWidth": 256, "tileHeight": 256, "matrixWidth": 2**z, "matrixHeight": 2**z})
    return {"id": TMS, "title": "Google Maps compatible for the World", "uri": _TMS_URI,
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "orderedAxes": ["X", "Y"],
            "tileMatrices": matrices}


def _tiles_path(collection: str) -> str:
    return f"/ogc/collections/{collection}/tiles/{TMS}"


def tilejson(request: Request, collection: str) -> dict[str, Any]:
    """TileJSON 3.0.0 (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0) for one collection."""
    tiles = link_to(request, path=_tiles_path(collection) + "/{z}/{y}/{x}.pbf")
    return {"tilejson": "3.0.0", "name": collection, "tiles": [tiles], "scheme": "xyz",
            "minzoom": 0, "maxzoom": MAX_ZOOM, "bounds": [JAPAN.west, JAPAN.south, JAPAN.east, JAPAN.north],
            "center": [139.7671, 35.6812, 5],
            "vector_layers": [{"id": _LAYER[collection], "fields": _FIELDS[collection],
                               "minzoom": 0, "maxzoom": MAX_ZOOM}]}


def _palette(values: tuple[str, ...]) -> list[Any]:
    # Evenly spaced hues, one per value, so that a new enum value gets a colour without an edit here.
    pairs: list[Any] = []
    for i, value in enumerate(values):
        pairs += [value, f"hsl({round(360 * i / len(values))}, 70%, 45%)"]
    return pairs


def style(request: Request) -> dict[str, Any]:
    """A MapLibre GL style (v8): priority areas filled by kind under assets coloured by category; an asset
    that cannot be offered now (occupied, reserved) is drawn faint; cells are sized by their count."""
    sources = {name: {"type": "vector", "url": link_to(request, path=_tiles_path(name) + "/tilejson.json")}
               for name in get_args(Collection)}
    available = ["offered", "on_request", "partly_available"]
    assert set(available) <= set(AVAILABILITIES)
    return {
        "version": 8, "name": "Kyodo Registry", "sources": sources,
        "layers": [
            {"id": "priority-areas", "type": "fill", "source": "priority-areas", "source-layer": "priority_areas",
             "paint": {"fill-color": ["match", ["get", "kind"], *_palette(get_args(AreaKind)), "#888"],
                       "fill-opacity": 0.3, "fill-outline-color": "#333"}},
            {"id": "assets", "type": "circle", "source": "assets", "source-layer": "assets",
             "paint": {"circle-color": ["match", ["get", "category"], *_palette(CATEGORIES), "#888"],
                       "circle-radius": ["case", ["has", "point_count"],
                                         ["interpolate", ["linear"], ["get", "point_count"], 1, 3, 1000, 14], 4],
                       "circle-opacity": ["match", ["get", "availability"], available, 0.9, 0.35],
                       "circle-stroke-width": 1, "circle-stroke-color": "#fff"}},
        ],
    }


CollectionId = Annotated[Collection, Parameter(description="`assets` or `priority-areas`")]


@get(f"/ogc/tileMatrixSets/{TMS}", tags=["tiles"], summary="The WebMercatorQuad tile matrix set")
async def web_mercator_quad() -> dict[str, Any]:
    return tile_matrix_set()


@get("/ogc/collections/{collection_id:str}/tiles", tags=["tiles"], summary="The tilesets of a collection")
async def tilesets(request: Request, collection_id: CollectionId) -> dict[str, Any]:
    path = _tiles_path(collection_id)
    return {"tilesets": [{
        "title": f"{collection_id} vector tiles", "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": _TMS_URI,
        "links": [{"rel": "self", "type": "application/json", "href": link_to(request, path=path + "/tilejson.json")},
                  {"rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json",
                   "href": link_to(request, path=f"/ogc/tileMatrixSets/{TMS}")},
                  {"rel": "item", "type": MVT, "templated": True,
                   "href": link_to(request, path=path + "/{z}/{y}/{x}.pbf")}],
    }]}


@get("/ogc/collections/{collection_id:str}/tiles/WebMercatorQuad/tilejson.json", tags=["tiles"],
     summary="TileJSON 3.0.0 of a collection's vector tiles")
async def collection_tilejson(request: Request, collection_id: CollectionId) -> dict[str, Any]:
    return tilejson(request, collection_id)


@get("/ogc/styles/default", tags=["tiles"], summary="A MapLibre style drawing assets and priority areas")
async def default_style(request: Request) -> dict[str, Any]:
    return style(request)


@get("/ogc/collections/{collection_id:str}/tiles/WebMercatorQuad/{z:int}/{y:str}/{x:str}", tags=["tiles"],
     media_type=MVT, summary="A vector tile (row before column, as OGC API - Tiles orders them); 204 when empty",
     responses={204: ResponseSpec(None, description="No feature in this tile")})
async def collection_tile(
    db: asyncpg.Connection, collection_id: CollectionId,
    z: Annotated[int, Parameter(description="zoom", schema_extra={"minimum": 0, "maximum": MAX_ZOOM})],
    y: Annotated[str, Parameter(description="row, 0 to 2^z - 1", schema_extra=_INDEX)],
    x: Annotated[str, Parameter(description="column, 0 to 2^z - 1, optionally with .pbf or .mvt",
                                schema_extra=_INDEX)],
) -> Response[bytes]:
    column, row = tile_address(z, x, y)
    if collection_id == "assets":
        tile = await asset_tiles.tile(db, z, column, row, build_filter(), MAX_FEATURES)
    else:
        tile = await tile_queries.area_tile(db, z, column, row)
    if not tile:
        return Response(b"", status_code=204, headers=_CACHE, media_type=MVT)
    return Response(tile, media_type=MVT, headers=_CACHE)


route_handlers = [web_mercator_quad, tilesets, collection_tilejson, default_style, collection_tile]
