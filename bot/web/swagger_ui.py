"""Swagger UI (npm ``swagger-ui-dist``), served from ``node_modules`` for the API docs page.

Nothing is copied into the repository and nothing is loaded from a CDN: the web app
mounts the package's folder at ``PREFIX`` (see ``bot.web.app``).
"""

from __future__ import annotations

from pathlib import Path

from bot.web.settings import WebSettings

PREFIX = "/static/vendor/swagger-ui"
#: The files the docs page loads (the bundle includes React; no standalone preset).
SCRIPT = "swagger-ui-bundle.js"
STYLESHEET = "swagger-ui.css"


def swagger_ui_dist(settings: WebSettings) -> Path:
    """The folder of ``swagger-ui-dist`` installed by npm.

    Raises:
        RuntimeError: when npm has not installed it.
    """
    return settings.npm_folder("swagger-ui-dist", SCRIPT, STYLESHEET)
