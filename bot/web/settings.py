"""Settings of the web app, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import PROJECT_ROOT, default_database_url

DEFAULT_RASA_PUBLIC_URL = "http://127.0.0.1:5005"
DEFAULT_SITE_TITLE = "Have your say"


@dataclass(frozen=True)
class WebSettings:
    """What the web app needs to know.

    Attributes:
        database_url: SQLAlchemy URL of the app store (``DATABASE_URL``).
        rasa_public_url: the Rasa server as the citizen's browser reaches it
            (``RASA_PUBLIC_URL``); the chat widget opens its socket.io connection there,
            at ``<path>/socket.io``.
        site_title: the name shown in the page header (``CODESIGN_SITE_TITLE``).
        node_modules: the folder npm installed the front-end packages into.
    """

    database_url: str
    rasa_public_url: str = DEFAULT_RASA_PUBLIC_URL
    site_title: str = DEFAULT_SITE_TITLE
    node_modules: Path = field(default=PROJECT_ROOT / "node_modules")

    def __post_init__(self) -> None:
        parts = urlsplit(self.rasa_public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("RASA_PUBLIC_URL must be an http(s) URL, "
                             f"got {self.rasa_public_url!r}")

    @classmethod
    def from_env(cls) -> WebSettings:
        """Build the settings from the environment, with the embedded defaults.

        Raises:
            ValueError: when ``RASA_PUBLIC_URL`` is not an http(s) URL.
        """
        return cls(
            database_url=os.environ.get("DATABASE_URL") or default_database_url(),
            rasa_public_url=(os.environ.get("RASA_PUBLIC_URL") or DEFAULT_RASA_PUBLIC_URL),
            site_title=os.environ.get("CODESIGN_SITE_TITLE") or DEFAULT_SITE_TITLE,
        )

    @property
    def rasa_origin(self) -> str:
        """``scheme://host[:port]`` of the Rasa server, as the browser reaches it."""
        parts = urlsplit(self.rasa_public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def rasa_socket_origins(self) -> tuple[str, str]:
        """The HTTP and WebSocket origins of Rasa's socket (long-polling, then ws/wss)."""
        parts = urlsplit(self.rasa_public_url)
        ws_scheme = "wss" if parts.scheme == "https" else "ws"
        return self.rasa_origin, f"{ws_scheme}://{parts.netloc}"
