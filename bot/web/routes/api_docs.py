"""The JSON API's documentation in the review area: Swagger UI and the OpenAPI schema.

Signed-in staff (any role) read how to use the API and try it out with their own
token. Swagger UI comes from npm (``bot.web.swagger_ui``), is started by our own
``static/api-docs.js`` (the policy allows no inline script) and reads the schema from
``/review/api/openapi.json`` (the session is enough there; ``/api/v1/openapi.json``
needs a token). Its "Try it out" calls ``/api/v1`` with ``Authorization: Bearer``.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse

from bot.web import swagger_ui
from bot.web.auth import Reviewer
from bot.web.render import render
from bot.web.routes import api
from bot.web.routes.review_common import reviewer_router
from bot.web.security import add_sources, content_security_policy

router = reviewer_router()
SCHEMA_PATH = "/review/api/openapi.json"
#: The site's policy plus what Swagger UI needs: its stylesheet's icons are ``data:``
#: images. Scripts stay ``'self'`` only (no eval, no inline script); the page opens no
#: connection but to this site (the schema and the API).
DOCS_POLICY = add_sources(content_security_policy(()), {"img-src": "data:"})


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request, _user: Reviewer) -> HTMLResponse:
    """How to use the JSON API, and its interactive documentation (Swagger UI)."""
    base = str(request.base_url).rstrip("/") + api.PREFIX
    return render(request, "api_docs.html",
                  {"api_base": base, "schema_url": SCHEMA_PATH,
                   "swagger_prefix": swagger_ui.PREFIX, "swagger_script": swagger_ui.SCRIPT,
                   "swagger_css": swagger_ui.STYLESHEET},
                  headers={"Content-Security-Policy": DOCS_POLICY})


@router.get("/api/openapi.json")
def api_schema(request: Request, _user: Reviewer) -> JSONResponse:
    """The API's OpenAPI schema (the same as ``/api/v1/openapi.json``), for the docs page."""
    return JSONResponse(api.api_schema(request.app.openapi()))
