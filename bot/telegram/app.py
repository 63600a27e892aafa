"""Building and running the bridge's python-telegram-bot ``Application``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.store.db import migrate
from bot.telegram.config import Mode, TelegramConfig
from bot.telegram.guards import ChatRateLimiter, Seen
from bot.telegram.handlers import COMMAND_DESCRIPTIONS, Handlers
from bot.telegram.inbox import Inbox, RecordingQueue
from bot.telegram.legacy import import_files
from bot.telegram.notify import OutcomeNotifier
from bot.telegram.ordering import ChatLocks, ChatOrderedProcessor
from bot.telegram.rasa import RasaClient
from bot.telegram.relay import Relay
from bot.telegram.retry import RetryingLimiter
from bot.telegram.store import BridgeStore
from bot.telegram.upkeep import Upkeep

logger = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "channel_post"]
#: Seconds to wait for the Bot API's answer (python-telegram-bot's default is 5). A
#: ``sendMessage`` that times out may still have been delivered, and the reply is sent
#: again (the Bot API has no idempotency key): a slow answer must not count as a failure.
BOT_API_READ_TIMEOUT = 20.0


def build_application(config: TelegramConfig, retry_interval: float = 5.0,
                      limiter: ChatRateLimiter | None = None,
                      bot_api: RetryingLimiter | None = None) -> Application:
    """The bridge: a python-telegram-bot ``Application`` relaying private chats to Rasa.

    Brings the app store's schema up to date and imports an older bridge's files first.

    Args:
        config: the bridge's configuration.
        retry_interval: seconds between two background rounds (updates left over, queued
            messages and replies due again).
        limiter: the per-chat flood limit (default: 10 messages at once, 60 a minute).
        bot_api: how Bot API calls are retried (default: ``RetryingLimiter()``).

    Returns:
        The application; run it with :func:`run` (or ``run_polling``/``run_webhook``).
    """
    store = BridgeStore(config.resolved_database_url(), config.secret_key)
    migrate(store.database_url)
    import_files(store, config.resolved_outbox_path(), config.resolved_contacts_path())
    locks = ChatLocks()
    inbox = Inbox(store, bot_id=config.token.split(":")[0])
    relay = Relay(store, RasaClient(config.rasa_url), locks, inbox)
    queue = RecordingQueue(inbox)
    seen = Seen()
    upkeep = Upkeep(relay, queue, seen)
    notifier = OutcomeNotifier(store)
    tasks: list[asyncio.Task[None]] = []

    async def post_init(app: Application) -> None:
        # Before updates are fetched: what a previous bridge left goes first.
        requeued = await queue.put_left_over(app.bot)
        if requeued:
            logger.info("%d update(s) a previous bridge left unhandled queued again", requeued)
        commands = [BotCommand(name, text) for name, text in COMMAND_DESCRIPTIONS.items()]
        try:
            await app.bot.set_my_commands(commands)
        except TelegramError as exc:  # the menu is a convenience; relaying works without it
            logger.warning("could not set the bot's command menu: %s", exc)
        tasks.append(asyncio.create_task(upkeep.forever(app.bot, retry_interval)))
        tasks.append(asyncio.create_task(
            notifier.deliver_forever(app.bot, config.notify_interval)))

    async def post_shutdown(app: Application) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await relay.rasa.aclose()

    builder: Any = (ApplicationBuilder().token(config.token)
                    .update_queue(queue)
                    .rate_limiter(bot_api or RetryingLimiter())
                    .read_timeout(BOT_API_READ_TIMEOUT).write_timeout(BOT_API_READ_TIMEOUT)
                    .concurrent_updates(ChatOrderedProcessor(locks, on_done=inbox.done))
                    .post_init(post_init).post_shutdown(post_shutdown))
    if config.api_base_url:
        builder = (builder.base_url(f"{config.api_base_url}/bot")
                   .base_file_url(f"{config.api_base_url}/file/bot"))
    app: Application = builder.build()
    Handlers(relay, limiter, seen).register(app)
    app.bot_data["relay"] = relay
    app.bot_data["upkeep"] = upkeep
    app.bot_data["notifier"] = notifier
    return app


def run(config: TelegramConfig, app: Application | None = None,
        **options: Any) -> None:
    """Run the bridge until stopped (Ctrl-C, SIGTERM or ``Application.stop_running``).

    Args:
        config: the bridge's configuration; ``config.mode`` picks polling or webhook.
        app: an application from :func:`build_application` (default: a new one).
        **options: passed on to ``run_polling``/``run_webhook`` (e.g. ``stop_signals=None``
            off the main thread).
    """
    app = app or build_application(config)
    if config.mode is Mode.webhook:
        config.check_webhook()
        app.run_webhook(listen=config.listen, port=config.port, url_path=config.webhook_path,
                        webhook_url=config.webhook_url, secret_token=config.webhook_secret,
                        allowed_updates=ALLOWED_UPDATES, **options)
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES, **options)
