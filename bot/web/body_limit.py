"""A cap on request body sizes, checked before any route reads (or spools) the body.

FastAPI parses a form, and writes its uploads to temporary files, before a route's
dependencies run, so without a cap even an anonymous client could make the server spool
gigabytes before the sign-in check refuses it. This middleware refuses a declared
``Content-Length`` above the cap with 413 at once, and stops a body sent without one
(chunked) as soon as it passes the cap.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Forms and the consultation YAML (256 KB) fit well within this.
DEFAULT_LIMIT = 1024 * 1024
TOO_LARGE = "The request is too large."


class BodySizeLimitMiddleware:
    """Refuses request bodies larger than the limit of their path (413)."""

    def __init__(self, app: ASGIApp, default: int = DEFAULT_LIMIT,
                 by_path: Mapping[str, int] | None = None) -> None:
        """Args:
            app: the app to guard.
            default: the cap in bytes for every path not listed.
            by_path: caps for exact paths (e.g. an upload form's action).
        """
        self.app = app
        self.default = default
        self.by_path = dict(by_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope.get("path", ""), self.default)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = True
            if too_large:
                await PlainTextResponse(TOO_LARGE, status_code=413)(scope, receive, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=TOO_LARGE)
            return message

        await self.app(scope, counted, send)
