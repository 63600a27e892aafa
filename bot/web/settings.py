"""Settings of the web app, read from the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import PROJECT_ROOT, default_database_url, var_dir

DEFAULT_RASA_PUBLIC_URL = "http://127.0.0.1:5005"
DEFAULT_SITE_TITLE = "Have your say"
DEFAULT_SESSION_IDLE_MINUTES = 60
MIN_SECRET_CHARS = 16


def secret_from_env() -> str:
    """The key that signs review-area sessions: ``CODESIGN_WEB_SECRET`` if set, else
    ``CODESIGN_SECRET_KEY`` (a separate key is derived from it, see ``session_key``)."""
    return os.environ.get("CODESIGN_WEB_SECRET") or os.environ.get("CODESIGN_SECRET_KEY") or ""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


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
        secret: signs the review area's session cookies (``CODESIGN_WEB_SECRET``, else
            ``CODESIGN_SECRET_KEY``); at least 16 characters.
        https_only: send the session cookie over HTTPS only (``CODESIGN_HTTPS_ONLY``; set
            it in production behind TLS).
        session_idle_minutes: a review session ends after this long without a request
            (``CODESIGN_SESSION_IDLE_MINUTES``).
        data_dir: the writable data folder the action server reads the knowledge index
            from (uploaded documents are kept there too); None: ``CODESIGN_VAR_DIR`` or
            ``./var``, as everywhere else (see ``var``).
    """

    database_url: str
    rasa_public_url: str = DEFAULT_RASA_PUBLIC_URL
    site_title: str = DEFAULT_SITE_TITLE
    node_modules: Path = field(default=PROJECT_ROOT / "node_modules")
    secret: str = field(default_factory=secret_from_env, repr=False)
    https_only: bool = False
    session_idle_minutes: int = DEFAULT_SESSION_IDLE_MINUTES
    data_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.session_idle_minutes < 1:
            raise ValueError("CODESIGN_SESSION_IDLE_MINUTES must be at least 1")
        parts = urlsplit(self.rasa_public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("RASA_PUBLIC_URL must be an http(s) URL, "
                             f"got {self.rasa_public_url!r}")

    def npm_folder(self, package: str, *files: str) -> Path:
        """A folder of a front-end package installed by npm, holding ``files``.

        Args:
            package: the folder under ``node_modules`` (e.g. ``socket.io-client/dist``).
            files: the files the app serves from it.

        Raises:
            RuntimeError: when npm has not installed them.
        """
        folder = self.node_modules / package
        for name in files:
            if not (folder / name).is_file():
                raise RuntimeError(f"{folder}/{name} is missing: run `npm ci` in the project "
                                   "folder (scripts/setup.sh does it).")
        return folder

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
            secret=secret_from_env(),
            https_only=_flag(os.environ.get("CODESIGN_HTTPS_ONLY")),
            session_idle_minutes=int(os.environ.get("CODESIGN_SESSION_IDLE_MINUTES")
                                     or DEFAULT_SESSION_IDLE_MINUTES),
        )

    @property
    def var(self) -> Path:
        """The data folder: ``data_dir``, else ``bot.config.var_dir()`` (created if needed)."""
        if self.data_dir is None:
            return var_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @property
    def session_key(self) -> str:
        """The cookie-signing key, derived from ``secret`` (never the secret itself, which
        also keys the participants' pseudonyms).

        Raises:
            RuntimeError: when no secret of at least 16 characters is set.
        """
        if len(self.secret) < MIN_SECRET_CHARS:
            raise RuntimeError(
                "CODESIGN_SECRET_KEY (or CODESIGN_WEB_SECRET) must be set to a random string "
                "of at least 16 characters: it signs the review area's session cookies "
                "(`make run` creates one in var/).")
        return hmac.new(self.secret.encode(), b"codesign web session v1",
                        hashlib.sha256).hexdigest()

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
