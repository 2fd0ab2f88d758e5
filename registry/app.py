"""The application factory: plugins, routes and handlers wired together, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import asyncpg
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from registry import health, openapi_answers, web
from registry.applications import routes as application_routes
from registry.applications import rules_routes as deadline_rule_routes
from registry.areas import routes as area_routes
from registry.assets import routes as asset_routes
from registry.auth import key_cache, session_routes
from registry.auth import routes as auth_routes
from registry.auth.key_cache import KeyCache
from registry.auth.middleware import ApiKeyMiddleware
from registry.bodies import EmptyQueryMiddleware, JsonBodyMiddleware
from registry.boundaries import routes as boundary_routes
from registry.db.pool import create_pool, provide_db
from registry.db.replicas import WAL_HEADER, ReplicaSet, add_wal_position
from registry.headers import EntityTagMiddleware, answer_head, complete_allow, security_headers
from registry.mail import routes as mail_routes
from registry.ogc import routes as ogc_routes
from registry.ogc import tiles as ogc_tiles
from registry.problems import exception_to_problem
from registry.procurement import routes as procurement_routes
from registry.ratelimit import RateLimitMiddleware
from registry.request_id import add_request_id
from registry.settings import Settings
from registry.suppliers import routes as supplier_routes
from registry.tenants import routes as tenant_routes
from registry.uploads import routes as upload_routes
from registry.webhooks import routes as webhook_routes

VERSION = "0.1.0"
_OPEN_PATHS = ["^/healthz", "^/readyz", "^/schema", "^/$", "^/map$", "^/assets/"]
_UI_ASSETS = "/schema/assets"


def route_handlers() -> list:
    return [
        *health.route_handlers,
        *auth_routes.route_handlers,
        *session_routes.route_handlers,
        *tenant_routes.route_handlers,
        *asset_routes.route_handlers,
        *area_routes.route_handlers,
        *application_routes.route_handlers,
        *deadline_rule_routes.route_handlers,
        *procurement_routes.route_handlers,
        *supplier_routes.route_handlers,
        *upload_routes.route_handlers,
        *ogc_routes.route_handlers,
        *ogc_tiles.route_handlers,
        *boundary_routes.route_handlers,
        *web.route_handlers,
        *webhook_routes.route_handlers,
        *mail_routes.route_handlers,
    ]


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Kyodo Registry",
        version=VERSION,
        description=(
            "Shared public assets for 5G siting and joint procurement for Japanese municipalities. "
            "Every /v1 route needs `Authorization: Bearer <key>`; errors are RFC 9457 problem+json."
        ),
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(
            path="/docs",
            js_url=f"{_UI_ASSETS}/swagger-ui-bundle.js",
            css_url=f"{_UI_ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{_UI_ASSETS}/swagger-ui-standalone-preset.js",
            favicon="",
        )],
        components=Components(security_schemes={
            "apiKey": SecurityScheme(type="http", scheme="bearer", description="kyd_<tenant>_<secret>")}),
        security=[{"apiKey": []}],
        use_handler_docstrings=True,
    )


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    openapi_answers.install()

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        pool: asyncpg.Pool = await create_pool(settings)
        app.state.pool = pool
        listening = asyncio.create_task(key_cache.listen(app.state.key_cache, settings.api_database_url)) \
            if settings.principal_scope == "session" and settings.key_cache_s > 0 else None
        try:
            if settings.replica_api_urls:
                async with (await ReplicaSet.open(settings)).running() as replicas:
                    app.state.replicas = replicas
                    yield
            else:
                yield
        finally:
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening
            await pool.close()

    ui_assets = create_static_files_router(path=_UI_ASSETS, directories=[swagger_ui_path],
                                           include_in_schema=False)
    app = Litestar(
        route_handlers=[*route_handlers(), ui_assets, web.assets],
        dependencies={"db": Provide(provide_db)},
        lifespan=[database],
        # Health probes, the API description and the web map's pages and files are open; every /v1 and
        # /ogc route needs a key (or the web map's session cookie).
        # Outermost first: empty query parameters dropped; rate limits see every /v1 request and its
        # answer (401s are counted); then
        # the key is checked, then a JSON route refuses a body of another type.
        middleware=[EmptyQueryMiddleware, RateLimitMiddleware,
                    DefineMiddleware(ApiKeyMiddleware, exclude=_OPEN_PATHS),
                    JsonBodyMiddleware, EntityTagMiddleware],
        cors_config=cors_config(settings),
        # Below 1 KB the compressed body plus its header saves nothing worth the CPU. Routes with
        # opt={"precompressed": True} compress their own answers (registry/exports/answer.py, exports at faster
        # levels; registry/procurement/summary.py, answers kept compressed per version).
        compression_config=CompressionConfig(backend="brotli", brotli_gzip_fallback=True, minimum_size=1024,
                                             exclude_opt_key="precompressed"),
        before_send=[add_request_id, security_headers(settings.public_base_url, web.basemap_origin(settings)),
                     complete_allow, add_wal_position],
        exception_handlers={Exception: exception_to_problem},
        openapi_config=openapi_config(),
        request_max_body_size=settings.max_body_bytes,
        state=State({"settings": settings, "key_cache": KeyCache(
            settings.key_cache_s, settings.rate_key_requests, settings.rate_auth_failures)}),
        signature_namespace={"asyncpg": asyncpg},
    )
    app.asgi_handler = answer_head(app.asgi_handler)
    return app


# The headers a browser script may send and read: the key, the concurrency and caching validators, links.
_CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key",
                         "Accept", "Accept-Language", "X-CSRF-Token", WAL_HEADER]
# A page on another origin reads an export's row count, cap and CP932 report (registry/exports/writers.py).
_CORS_EXPOSED_HEADERS = ["ETag", "Link", "Location", "Content-Disposition", "Retry-After", "X-Request-Id",
                         "X-Export-Rows", "X-Export-Cap", "X-Export-Truncated", "X-Export-Unencodable",
                         WAL_HEADER]


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS only for the origins the operator listed; with none, no CORS headers at all."""
    if not settings.cors_origins:
        return None
    return CORSConfig(allow_origins=list(settings.cors_origins), allow_methods=["*"],
                      allow_headers=_CORS_REQUEST_HEADERS, expose_headers=_CORS_EXPOSED_HEADERS, max_age=600)
