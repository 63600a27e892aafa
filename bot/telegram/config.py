"""Configuration of the Telegram bridge, read from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from bot.config import Settings, default_database_url, var_dir

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token


class ConfigError(ValueError):
    """The bridge's configuration is missing or invalid; the message says how to fix it."""


class Mode(StrEnum):
    """How updates reach the bridge."""

    polling = "polling"
    webhook = "webhook"


@dataclass(frozen=True)
class TelegramConfig:
    """Everything the bridge needs.

    Attributes:
        token: the bot token from BotFather (``TELEGRAM_BOT_TOKEN``).
        secret_key: key of the pseudonymous sender ids (``CODESIGN_SECRET_KEY``).
        mode: ``polling`` (default) or ``webhook`` (``TELEGRAM_MODE``).
        rasa_url: base URL of the Rasa server (``RASA_URL``).
        api_base_url: root of a self-hosted Bot API server (``TELEGRAM_API_BASE_URL``),
            or None for Telegram's own.
        webhook_url: public HTTPS URL Telegram posts updates to (``TELEGRAM_WEBHOOK_URL``).
        webhook_secret: value Telegram sends in ``X-Telegram-Bot-Api-Secret-Token``
            (``TELEGRAM_WEBHOOK_SECRET``).
        listen: address the webhook server binds (``TELEGRAM_WEBHOOK_LISTEN``).
        port: port the webhook server binds (``TELEGRAM_WEBHOOK_PORT``).
        outbox_path: where older bridges kept the messages waiting for Rasa (imported
            into the app store at start, then renamed).
        database_url: the app store, which holds the bridge's state (``DATABASE_URL``;
            None: the embedded default under ``CODESIGN_VAR_DIR``).
        contacts_path: where older bridges kept the chats waiting for an outcome
            (imported likewise).
        notify_interval: seconds between checks for outcomes to push.
    """

    token: str
    secret_key: bytes
    mode: Mode = Mode.polling
    rasa_url: str = "http://127.0.0.1:5005"
    api_base_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    outbox_path: Path | None = None
    database_url: str | None = None
    contacts_path: Path | None = None
    notify_interval: float = 60.0

    @property
    def webhook_path(self) -> str:
        """The path part of the webhook URL, which the local server listens on."""
        return urlsplit(self.webhook_url or "").path.strip("/")

    def resolved_outbox_path(self) -> Path:
        """An older bridge's outbox file (default ``<var>/telegram-outbox.sqlite3``)."""
        return self.outbox_path or var_dir() / "telegram-outbox.sqlite3"

    def resolved_contacts_path(self) -> Path:
        """An older bridge's contacts file (default ``<var>/telegram-contacts.sqlite3``)."""
        return self.contacts_path or var_dir() / "telegram-contacts.sqlite3"

    def resolved_database_url(self) -> str:
        """The app store (default: the embedded SQLite file under ``var/``)."""
        return self.database_url or default_database_url()

    @classmethod
    def from_env(cls) -> TelegramConfig:
        """Read and check the configuration from the environment.

        Raises:
            ConfigError: a variable is missing or invalid (the message names it).
        """
        env = os.environ
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather "
                              "in Telegram and put the token it gives you in this variable.")
        if not TOKEN_RE.match(token):
            raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token "
                              "(expected '<digits>:<letters, digits, - or _>').")
        try:
            settings = Settings.from_env()
        except RuntimeError as exc:
            raise ConfigError(str(exc)) from exc
        secret_key = settings.secret_key
        mode_name = env.get("TELEGRAM_MODE", "polling").strip().lower() or "polling"
        try:
            mode = Mode(mode_name)
        except ValueError:
            raise ConfigError(f"TELEGRAM_MODE must be 'polling' or 'webhook', not {mode_name!r}.") \
                from None
        api_base_url = env.get("TELEGRAM_API_BASE_URL", "").strip().rstrip("/") or None
        if api_base_url:
            _check_http_url("TELEGRAM_API_BASE_URL", api_base_url)
        rasa_url = env.get("RASA_URL", "").strip().rstrip("/") or cls.rasa_url
        _check_http_url("RASA_URL", rasa_url)
        config = cls(token=token, secret_key=secret_key, mode=mode, rasa_url=rasa_url,
                     api_base_url=api_base_url,
                     webhook_url=env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None,
                     webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None,
                     listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or cls.listen,
                     port=_port(env.get("TELEGRAM_WEBHOOK_PORT", "")),
                     database_url=settings.database_url)
        if mode is Mode.webhook:
            config.check_webhook()
        return config

    def check_webhook(self) -> None:
        """Check the settings webhook mode needs.

        Raises:
            ConfigError: the webhook URL or secret is missing or invalid.
        """
        if not self.webhook_url:
            raise ConfigError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL: the public "
                              "https:// URL Telegram posts updates to, e.g. "
                              "https://bot.agency.example/telegram")
        _check_http_url("TELEGRAM_WEBHOOK_URL", self.webhook_url)
        if not self.webhook_url.startswith("https://") and self.api_base_url is None:
            raise ConfigError("TELEGRAM_WEBHOOK_URL must start with https:// (Telegram only "
                              "posts to HTTPS; put the bridge behind a TLS reverse proxy).")
        if not self.webhook_secret or not SECRET_RE.match(self.webhook_secret):
            raise ConfigError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET: 1-256 "
                              "characters A-Z, a-z, 0-9, _ or - (e.g. `openssl rand -hex 32`); "
                              "updates without it are rejected with 403.")


def _check_http_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http:// or https:// URL, not {value!r}.")


def _port(value: str) -> int:
    if not value.strip():
        return TelegramConfig.port
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"TELEGRAM_WEBHOOK_PORT must be a port number (1-65535), "
                          f"not {value!r}.")
    return int(value)
