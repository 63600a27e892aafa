"""The web app: ``create_app(settings)`` builds the FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.web import review_area, swagger_ui
from bot.web.assets import Assets
from bot.web.body_limit import BodySizeLimitMiddleware
from bot.web.knowledge_uploads import MAX_TOTAL_BYTES
from bot.web.pages import make_templates
from bot.web.routes import api, public
from bot.web.routes.knowledge import KNOWLEDGE_PATH
from bot.web.security import STATIC_PREFIX, SecurityHeadersMiddleware, content_security_policy
from bot.web.settings import WebSettings

STATIC_DIR = Path(__file__).with_name("static")
VENDOR_PREFIX = "/static/vendor/socket.io"
NO_PAGE = "There is no page at this address. Please check the link."
ERROR_TITLES = {401: "Please sign in", 403: "Not allowed", 404: "Page not found",
                405: "Not allowed", 413: "Too large", 500: "Something went wrong"}
#: Room for the multipart boundaries and form fields around the uploaded files.
MULTIPART_SLACK = 1024 * 1024


def socketio_dist(settings: WebSettings) -> Path:
    """The browser build of ``socket.io-client`` installed by npm.

    Raises:
        RuntimeError: when npm has not installed it.
    """
    return settings.npm_folder("socket.io-client/dist", "socket.io.min.js")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At shutdown, background jobs still running in this process are stored as stopped."""
    yield
    await run_in_threadpool(review_area.shut_down, app)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the web app.

    Args:
        settings: what to connect to; read from the environment when omitted.

    Raises:
        RuntimeError: when the front-end packages are not installed.
    """
    settings = settings or WebSettings.from_env()
    vendor = socketio_dist(settings)
    swagger = swagger_ui.swagger_ui_dist(settings)
    assets = Assets({"/static": STATIC_DIR, VENDOR_PREFIX: vendor, swagger_ui.PREFIX: swagger})
    app = FastAPI(title="codesign", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.templates = make_templates(settings, assets)
    # The more specific mount first: Starlette matches mounts in order.
    app.mount(VENDOR_PREFIX, StaticFiles(directory=vendor), name="vendor")
    app.mount(swagger_ui.PREFIX, StaticFiles(directory=swagger), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(public.router)
    app.include_router(api.router)
    review_area.install(app, settings)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Errors as a page people can read; JSON for API clients, text for static files."""
        if request.url.path.startswith(STATIC_PREFIX):
            return PlainTextResponse(str(exc.detail), status_code=exc.status_code)
        accept = request.headers.get("accept", "")
        if "application/json" in accept and "text/html" not in accept:
            return await http_exception_handler(request, exc)
        title = ERROR_TITLES.get(exc.status_code, "Something went wrong")
        # Routes raise with a sentence for citizens; Starlette's own 404 says "Not Found".
        specific = exc.status_code in (403, 404, 413) and \
            exc.detail not in ("Not Found", "Forbidden")
        message = exc.detail if specific else NO_PAGE if exc.status_code == 404 else title
        response: HTMLResponse = app.state.templates.TemplateResponse(
            request, "error.html", {"title": title, "message": message, "chat": None},
            status_code=exc.status_code, headers=getattr(exc, "headers", None))
        return response

    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(BodySizeLimitMiddleware,
                       by_path={KNOWLEDGE_PATH: MAX_TOTAL_BYTES + MULTIPART_SLACK})
    app.add_middleware(SecurityHeadersMiddleware,
                       csp=content_security_policy(settings.rasa_socket_origins))
    return app
