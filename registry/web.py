"""The web map (web/, built into web/dist by `npm run build`): served by the API process itself, so a
municipal network on LGWAN, which reaches no CDN, loads every script, style, font and map file from here.

`/` is the landing page with the sign-in form; `/map` is the map, for a signed-in session only (anyone
else is sent to `/`, so the page never starts with a failing request); `/assets/...` are the built files.
The one setting the page needs (KYODO_BASEMAP, the optional online basemap) is written into the page's
`data-basemap` attribute, because the page's CSP allows no inline script.
"""

from __future__ import annotations

import html

import asyncpg
from litestar import MediaType, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from registry.auth import queries, sessions
from registry.i18n import tr
from registry.paths import PROJECT_ROOT
from registry.problems import PROBLEM_JSON, Problem, ProblemDocument
from registry.settings import Settings

DIST = PROJECT_ROOT / "web" / "dist"
ASSETS = "/assets"
# Online basemaps the one setting may name: tile URL template, the hosts the page's CSP must allow, credit.
BASEMAPS = {
    "gsi": ("https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png", "https://cyberjapandata.gsi.go.jp",
            '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>'),
    "gsi-pale": ("https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png", "https://cyberjapandata.gsi.go.jp",
                 '<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>'),
}


class NotBuilt(Problem):
    status, title, slug = 503, tr("The web map is not built"), "web-not-built"


def _page(name: str, settings: Settings) -> Response[str]:
    path = DIST / name
    if not path.is_file():
        raise NotBuilt(tr("web/dist is missing: run `npm ci && npm run build` in web/ (bash run.sh does "
                          "it)."),
                       headers={"Retry-After": "60"})
    text = path.read_text(encoding="utf-8")
    basemap = settings.online_basemap if settings.online_basemap in BASEMAPS else ""
    tiles, _, credit = BASEMAPS.get(basemap, ("", "", ""))
    text = text.replace('data-basemap=""', f'data-basemap="{html.escape(tiles)}" '
                                           f'data-basemap-credit="{html.escape(credit)}"')
    return Response(text, media_type=MediaType.HTML, headers={"Cache-Control": "no-cache"})


_NOT_BUILT = {503: ResponseSpec(ProblemDocument, description="web/dist is not built", media_type=PROBLEM_JSON)}


@get("/", tags=["web map"], summary="The web map's landing page, with the sign-in form (HTML)",
     media_type=MediaType.HTML, responses=_NOT_BUILT)
async def landing(request: Request) -> Response[str]:
    return _page("index.html", request.app.state.settings)


@get("/map", tags=["web map"], summary="The web map (HTML); without a live session, a redirect to /",
     media_type=MediaType.HTML,
     responses={**_NOT_BUILT, 303: ResponseSpec(None, description="no live session: sign in at /")})
async def map_page(request: Request, db: asyncpg.Connection) -> Response[str] | Redirect:
    token = request.cookies.get(sessions.COOKIE)
    parsed = sessions.parse(token) if token else None
    if parsed is None or await queries.authenticate_session(db, *parsed) is None:
        return Redirect("/?next=map", status_code=303)
    return _page("map.html", request.app.state.settings)


def basemap_origin(settings: Settings) -> str | None:
    """The outside host the page may load basemap images from (for the CSP), None when offline."""
    return BASEMAPS[settings.online_basemap][1] if settings.online_basemap in BASEMAPS else None


assets = create_static_files_router(path=ASSETS, directories=[DIST / "assets"], include_in_schema=False,
                                    send_as_attachment=False)

route_handlers = [landing, map_page]
