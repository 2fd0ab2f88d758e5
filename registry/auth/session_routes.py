"""Web map sessions: sign in once with the API key, then a cookie (registry/auth/sessions.py)."""

from __future__ import annotations

import asyncpg
from litestar import Request, Response, delete, get, post
from litestar.datastructures import Cookie

from registry.auth import queries, sessions
from registry.auth.middleware import SessionAuth
from registry.auth.models import SessionInfo
from registry.i18n import tr
from registry.principal import Principal
from registry.problems import Problem
from registry.settings import Settings


def _cookie(request: Request, value: str, max_age: int) -> Cookie:
    settings: Settings = request.app.state.settings
    secure = request.url.scheme == "https" or (settings.public_base_url or "").startswith("https://")
    return Cookie(key=sessions.COOKIE, value=value, path="/", max_age=max_age, httponly=True, samesite="strict",
                  secure=secure)


@post("/v1/session", tags=["keys"], status_code=201,
      summary="Sign in the web map: exchange the key you send as Bearer for an HttpOnly session cookie")
async def open_session(request: Request, db: asyncpg.Connection) -> Response[SessionInfo]:
    if isinstance(request.auth, SessionAuth):
        raise Problem(tr("Send your API key as `Authorization: Bearer <key>` to sign in; a session cannot "
                         "open another."), status=400)
    principal: Principal = request.user
    settings: Settings = request.app.state.settings
    token, digest = sessions.new_token(principal.tenant_code)
    expires_at = await queries.open_session(db, principal, digest, settings.session_hours)
    info = SessionInfo(principal, sessions.csrf_token(token), expires_at)
    return Response(info, cookies=[_cookie(request, token, settings.session_hours * 3600)])


@get("/v1/session", tags=["keys"], summary="Who is signed in, the session's expiry and its CSRF token")
async def current_session(request: Request) -> SessionInfo:
    auth = request.auth
    if isinstance(auth, SessionAuth):
        return SessionInfo(request.user, auth.csrf_token, auth.expires_at)
    return SessionInfo(request.user)


@delete("/v1/session", tags=["keys"], status_code=200, summary="Sign out: the session cookie stops working")
async def close_session(request: Request, db: asyncpg.Connection) -> Response[SessionInfo]:
    """Idempotent: a request made with a bearer key has no session, so there is nothing to end and it answers
    the same; the cookie is cleared either way."""
    auth = request.auth
    principal: Principal = request.user
    if isinstance(auth, SessionAuth):
        await queries.close_session(db, principal.tenant_code, auth.session_id)
    return Response(SessionInfo(principal), cookies=[_cookie(request, "", 0)])


route_handlers = [open_session, current_session, close_session]
