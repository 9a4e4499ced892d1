"""The FastAPI application (`rapport serve`): the REST API under /api/v1 and
the browser UI, one app.

A domain adds its API router to `API_ROUTERS` and its pages to
`PAGE_ROUTERS` (one line each), its capabilities to `rapport.auth.roles`,
its menu entries to `rapport.web.nav`, and its routes to docs/ROLES.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import rapport
from rapport.errors import NotFoundError, RapportError
from rapport.preferences.errors import LinkInvalid
from rapport.web import webhooks
from rapport.web.api import audit as audit_api
from rapport.web.api import auth as auth_api
from rapport.web.api import channels as channels_api
from rapport.web.api import consent as consent_api
from rapport.web.api import conversations as conversations_api
from rapport.web.api import engagement as engagement_api
from rapport.web.api import insights as insights_api
from rapport.web.api import network as network_api
from rapport.web.api import people as people_api
from rapport.web.api import reports as reports_api
from rapport.web.api import requests as requests_api
from rapport.web.api import search as search_api
from rapport.web.api import topics as topics_api
from rapport.web.api import users as users_api
from rapport.web.assets import URL_PREFIX, find_assets
from rapport.web.pages import admin as admin_pages
from rapport.web.pages import auth as auth_pages
from rapport.web.pages import dashboards as dashboard_pages
from rapport.web.pages import home as home_pages
from rapport.web.pages import inbox as inbox_pages
from rapport.web.pages import network as network_pages
from rapport.web.pages import people as people_pages
from rapport.web.pages import preferences as preference_pages
from rapport.web.pages import search as search_pages
from rapport.web.security import LoginRequired, login_redirect_target
from rapport.web.templating import render

API_ROUTERS = [
    auth_api.router,
    reports_api.router,
    conversations_api.router,
    people_api.router,
    consent_api.router,
    topics_api.router,
    users_api.router,
    audit_api.router,
    requests_api.router,
    channels_api.router,
    webhooks.router,
    network_api.router,
    search_api.router,
    engagement_api.router,
    insights_api.router,
]
PAGE_ROUTERS = [
    home_pages.router,
    auth_pages.router,
    inbox_pages.router,
    people_pages.router,
    dashboard_pages.router,
    admin_pages.router,
    network_pages.router,
    preference_pages.router,
    search_pages.router,
]

STATIC_DIR = Path(__file__).parent / "static"
#: Pages load scripts and styles from this server only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def _error_page(request: Request, status: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        caller=getattr(request.state, "caller", None),
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = login_redirect_target(exc.next_path)
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return await http_exception_handler(request, exc)
        return _error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return await request_validation_exception_handler(request, exc)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg')}"
            for e in exc.errors()
        )
        return _error_page(request, 422, f"bad input: {problems}")

    @app.exception_handler(LinkInvalid)
    async def _bad_link(request: Request, exc: LinkInvalid) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=403)
        return _error_page(request, 403, str(exc))

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return _error_page(request, 404, str(exc))

    @app.exception_handler(RapportError)
    async def _refused(request: Request, exc: RapportError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return _error_page(request, 422, str(exc))


def _install_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path != "/docs":
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response


def create_app() -> FastAPI:
    from rapport import pipeline

    pipeline.install()
    app = FastAPI(
        title="Rapport",
        version=rapport.__version__,
        description=(
            "Social CRM: listen, understand, decide, respond, relate. "
            "Authenticate with POST /api/v1/auth/token (OAuth2 password flow) and send "
            "`Authorization: Bearer <token>`; roles per route are listed in docs/ROLES.md."
        ),
        docs_url=None,
        redoc_url=None,
    )
    assets = find_assets()
    app.state.assets = assets
    _install_error_handlers(app)
    _install_security_headers(app)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        """Swagger UI, its files served from this server (npm: swagger-ui-dist)."""
        if "swagger_js" not in assets.urls:
            return HTMLResponse(
                "<!doctype html><title>Rapport API</title><h1>Rapport API</h1>"
                "<p>The interactive docs need the front-end libraries: run "
                "<code>make web-assets</code>. The schema is at "
                '<a href="/openapi.json">/openapi.json</a>.</p>'
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Rapport API",
            swagger_js_url=assets.urls["swagger_js"],
            swagger_css_url=assets.urls["swagger_css"],
            swagger_favicon_url="/static/favicon.svg",
        )

    for router in API_ROUTERS + PAGE_ROUTERS:
        app.include_router(router)
    if assets.root is not None:
        app.mount(URL_PREFIX, StaticFiles(directory=assets.root), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
