"""Rendering review pages: every page gets the signed-in user and the CSRF token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from bot.web.auth import csrf_token
from bot.web.deps import templates
from bot.web.routes.review_common import pop_flashes


def render(request: Request, name: str, context: Mapping[str, Any] | None = None,
           status_code: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """A review template (``templates/review/<name>``) as a response.

    Args:
        request: the request being answered.
        name: the template's file name inside ``templates/review/``.
        context: the template's values; ``user``, ``csrf_token`` and the waiting
            ``flashes`` are added.
        status_code: the HTTP status.
        headers: extra response headers.
    """
    values: dict[str, Any] = {"user": getattr(request.state, "staff_user", None),
                              "csrf_token": csrf_token(request), "chat": None,
                              "flashes": pop_flashes(request)}
    values.update(context or {})
    response: HTMLResponse = templates(request).TemplateResponse(
        request, f"review/{name}", values, status_code=status_code,
        headers=dict(headers) if headers else None)
    return response
