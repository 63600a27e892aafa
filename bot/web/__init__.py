"""The web app (FastAPI + Jinja2): the public consultation page with the chat widget."""

from bot.web.app import create_app
from bot.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
