"""``codesign telegram``: run the Telegram bridge (python-telegram-bot -> Rasa)."""

from __future__ import annotations

import logging
import os

import typer

from bot.cli.common import fail
from bot.telegram.config import ConfigError, Mode, TelegramConfig


def telegram(
    mode: Mode | None = typer.Option(None, "--mode", help="Overrides TELEGRAM_MODE."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Run the Telegram bridge: private chats with your bot are relayed to Rasa.

    Modes (TELEGRAM_MODE or --mode):
      polling  (default) the bridge fetches updates; no public URL needed
      webhook  Telegram posts updates to TELEGRAM_WEBHOOK_URL (https, e.g. via
               a TLS reverse proxy to TELEGRAM_WEBHOOK_LISTEN:_PORT); requests
               without the X-Telegram-Bot-Api-Secret-Token get 403

    Environment:
      TELEGRAM_BOT_TOKEN       token from @BotFather (required)
      CODESIGN_SECRET_KEY      key of the pseudonymous ids (required)
      RASA_URL                 default http://127.0.0.1:5005
      TELEGRAM_MODE            polling | webhook
      TELEGRAM_WEBHOOK_URL     public https:// URL (webhook mode)
      TELEGRAM_WEBHOOK_SECRET  1-256 chars A-Z a-z 0-9 _ - (webhook mode)
      TELEGRAM_WEBHOOK_LISTEN  address to bind (default 127.0.0.1)
      TELEGRAM_WEBHOOK_PORT    port to bind (default 8443)
      TELEGRAM_API_BASE_URL    a self-hosted Bot API server (default Telegram)
      DATABASE_URL             the app store: the bridge keeps its queues,
                               contacts and handled updates there (chat ids
                               only encrypted), so it can restart anywhere
    """
    if mode is not None:
        os.environ["TELEGRAM_MODE"] = mode.value
    try:
        config = TelegramConfig.from_env()
    except ConfigError as exc:
        fail(str(exc))
        return
    from bot.telegram.app import run  # python-telegram-bot loads only for this command

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs each request URL at INFO, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    where = config.webhook_url if config.mode is Mode.webhook else "long polling"
    typer.secho(f"[telegram] bridge starting ({config.mode.value}: {where}; "
                f"Rasa at {config.rasa_url})", err=True)
    run(config)
