"""Jinja2 set-up: templates folder, filters and the values every page uses."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from bot.web.assets import Assets
from bot.web.settings import WebSettings

TEMPLATES_DIR = Path(__file__).with_name("templates")


def long_date(value: date | None) -> str:
    """A date as people write it, e.g. ``30 June 2027``."""
    return f"{value.day} {value:%B %Y}" if value else ""


def make_templates(settings: WebSettings, assets: Assets) -> Jinja2Templates:
    """Templates with autoescaping, a date filter and URL helpers for static files.

    Args:
        settings: the app's settings (the site title and Rasa's public URL are shown).
        assets: versioned URLs of ``/static`` and the ``/static/vendor/…`` files.
    """

    def site(_request: Request) -> dict[str, Any]:
        return {"site_title": settings.site_title, "rasa_public_url": settings.rasa_public_url}

    templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[site])
    env = templates.env
    env.autoescape = True  # every template, whatever its extension
    env.filters["long_date"] = long_date
    env.globals["static"] = lambda name: assets.url("/static", name)
    env.globals["vendor"] = lambda name: assets.url("/static/vendor/socket.io", name)
    env.globals["asset"] = assets.url  # asset(prefix, name): any mounted folder's file
    return templates
