"""Security and caching headers on every response of the web app.

A pure ASGI middleware (no response buffering): it only adds headers to
``http.response.start``. Static files are public and embeddable on agencies' sites
(CORS ``*``, so ``<script integrity=… crossorigin>`` works); pages are not framable.
A page may send its own ``Content-Security-Policy`` (one that needs a little more, see
``add_sources``) or ``Cache-Control`` (e.g. ``no-store`` for a secret shown once): the
middleware keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_PREFIX = "/static/"
#: Static files asked for with ``?v=<content hash>`` never change under that URL.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Unversioned static files (e.g. the widget embedded on an agency's site): revalidate.
REVALIDATE = "no-cache"
#: Pages list what is open now: always revalidate.
PAGES = "no-cache"


def content_security_policy(connect_origins: Iterable[str]) -> str:
    """A policy allowing only this site's own files, plus the chat socket's origins.

    Args:
        connect_origins: where the page may open connections besides itself (Rasa's
            socket.io endpoint, over http(s) long-polling and ws(s)).
    """
    connect = " ".join(["'self'", *connect_origins])
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src {connect}",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def add_sources(policy: str, extra: Mapping[str, str]) -> str:
    """``policy`` with more sources allowed in some directives, for one page's response.

    Args:
        policy: a policy such as ``content_security_policy`` makes.
        extra: directive -> sources to add, e.g. ``{"img-src": "data:"}``.
    """
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    names = [part.split()[0] for part in directives]
    for name, sources in extra.items():
        if name in names:
            index = names.index(name)
            directives[index] = f"{directives[index]} {sources}"
        else:
            directives.append(f"{name} {sources}")
            names.append(name)
    return "; ".join(directives)


class SecurityHeadersMiddleware:
    """Adds the security headers, and cache headers that suit pages and static files."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        static = path.startswith(STATIC_PREFIX)
        if static:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            cache = IMMUTABLE if query.get("v") else REVALIDATE
        else:
            cache = PAGES

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if static and message.get("status", 200) < 400:
                    headers["Cache-Control"] = cache
                elif message.get("status", 200) < 400:
                    headers.setdefault("Cache-Control", cache)
                if static:
                    # Public files that agencies embed: loadable with crossorigin/SRI.
                    headers["Access-Control-Allow-Origin"] = "*"
                    headers["Cross-Origin-Resource-Policy"] = "cross-origin"
            await send(message)

        await self.app(scope, receive, send_with_headers)
