"""python-telegram-bot handlers: what the bridge does with each kind of update."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.consultations.schema import SLUG_RE
from bot.dialogue import follow_up
from bot.dialogue.messages import payload
from bot.telegram.contacts import Contacts
from bot.telegram.guards import ChatRateLimiter, Seen
from bot.telegram.relay import Relay

logger = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE

# What each command sends to Rasa (intents of domain.yml).
COMMANDS = {"help": payload("help"), "consultations": payload("list_consultations"),
            "forget": payload("forget_me")}
COMMAND_DESCRIPTIONS = {"start": "Start or see the open consultations",
                        "consultations": "List the open consultations",
                        "help": "What you can say",
                        "forget": "Delete everything stored about you"}
GROUP_REFUSAL = ("Thanks for inviting me! Consultations are one person at a time, so I only "
                 "talk in private chats. To take part, open a private chat with me{link}.")
SLOW_DOWN = ("You’re sending messages faster than I can read them, so I’ve skipped some. "
             "Please wait a moment, then send your answer again.")
HEAR_BACK = payload("choose", choice=follow_up.YES)  # "Yes, tell me" the outcome
EXPIRED_BUTTON = "This button has expired; please type your answer instead."
TEXT_ONLY = "Sorry, I can only read text messages. Please type your answer."
UNKNOWN_COMMAND = "I don’t know that command. Try /help or /consultations."
EDITED = ("I only see new messages, not edits. To change an answer, say “back”, or choose "
          "“Change an answer” at the end.")


class Handlers:
    """The bridge's update handlers.

    Args:
        relay: delivers messages to Rasa and relays the replies.
        limiter: the per-chat flood guard.
        seen_updates: update ids already handled.
        contacts: chats that asked to hear an outcome (None: outcomes are not pushed).
    """

    def __init__(self, relay: Relay, limiter: ChatRateLimiter | None = None,
                 seen_updates: Seen | None = None, contacts: Contacts | None = None) -> None:
        self.relay = relay
        self.contacts = contacts
        self.limiter = limiter or ChatRateLimiter()
        self.seen_updates = seen_updates or Seen()
        self.pressed = Seen()  # (chat, message) keyboards already pressed
        self.refused = Seen()  # group chats already told

    def register(self, app: Application) -> None:
        """Add the handlers to ``app``: the gate first, then one per kind of update."""
        private = filters.ChatType.PRIVATE
        new = private & filters.UpdateType.MESSAGE  # not edits
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler("start", self.start, filters=new))
        for command in COMMANDS:
            app.add_handler(CommandHandler(command, self.command, filters=new))
        app.add_handler(MessageHandler(new & filters.COMMAND, self.unknown_command))
        app.add_handler(MessageHandler(new & filters.TEXT, self.text))
        app.add_handler(MessageHandler(new, self.not_text))
        app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, self.edited))
        app.add_handler(CallbackQueryHandler(self.button))
        app.add_error_handler(self.error)

    async def gate(self, update: Update, context: Context) -> None:
        """Stop duplicates, non-private chats and floods before any other handler."""
        if not self.seen_updates.first_time(update.update_id):
            logger.info("update %s delivered again; ignored", update.update_id)
            raise ApplicationHandlerStop
        chat = update.effective_chat
        if chat is None:
            raise ApplicationHandlerStop
        if chat.type != ChatType.PRIVATE:
            if update.effective_message is not None and self.refused.first_time(chat.id):
                username = context.bot.username
                link = f": https://t.me/{username}" if username else ""
                await context.bot.send_message(chat.id, GROUP_REFUSAL.format(link=link))
            raise ApplicationHandlerStop
        allowed, notify = self.limiter.check(chat.id)
        if not allowed:
            if update.callback_query is not None:
                await update.callback_query.answer(SLOW_DOWN if notify else None)
            elif notify:
                await context.bot.send_message(chat.id, SLOW_DOWN)
            raise ApplicationHandlerStop

    async def start(self, update: Update, context: Context) -> None:
        """``/start``, or ``/start <slug>`` from a deep link ``t.me/<bot>?start=<slug>``."""
        slug = context.args[0] if context.args else ""
        if slug and SLUG_RE.match(slug) and len(slug) <= 64:
            await self._relay(update, context, payload("start_consultation", consultation=slug))
        else:
            await self._relay(update, context, payload("greet"))

    async def command(self, update: Update, context: Context) -> None:
        """``/help``, ``/consultations`` and ``/forget``."""
        assert update.message is not None and update.message.text is not None
        name = update.message.text.split()[0].lstrip("/").split("@")[0].lower()
        if name == "forget" and self.contacts is not None:
            self.contacts.remove_chat(update.message.chat_id)
        await self._relay(update, context, COMMANDS[name])

    async def text(self, update: Update, context: Context) -> None:
        """A typed message: relayed as it is."""
        assert update.message is not None and update.message.text is not None
        await self._relay(update, context, update.message.text)

    async def button(self, update: Update, context: Context) -> None:
        """A pressed inline button: answer it, clear the keyboard, relay its payload."""
        query = update.callback_query
        chat = update.effective_chat
        assert query is not None and chat is not None
        data = self.relay.tokens.payload_for(chat.id, query.data or "")
        message = query.message
        first_press = message is None or self.pressed.first_time((chat.id, message.message_id))
        await query.answer(None if data else EXPIRED_BUTTON)
        if message is not None and first_press:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except BadRequest as exc:  # too old to edit, or already cleared
                logger.debug("could not clear a keyboard: %s", exc)
        if data and first_press:
            if self.contacts is not None and data == HEAR_BACK:
                self.contacts.add(self.relay.sender_for(chat.id), chat.id)
            await self._relay(update, context, data)

    async def unknown_command(self, update: Update, context: Context) -> None:
        """A command the bridge does not know."""
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, UNKNOWN_COMMAND)

    async def not_text(self, update: Update, context: Context) -> None:
        """A photo, sticker, voice note, …: the consultation needs text."""
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, TEXT_ONLY)

    async def edited(self, update: Update, context: Context) -> None:
        """An edited message: not relayed (it would answer whatever is asked now)."""
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, EDITED)

    async def error(self, update: object, context: Context) -> None:
        """Log what a handler raised (the message itself stays in the outbox)."""
        logger.error("error while handling an update", exc_info=context.error)

    async def _relay(self, update: Update, context: Context, text: str) -> None:
        assert update.effective_chat is not None
        await self.relay.submit(context.bot, update.effective_chat.id, f"tg-{update.update_id}",
                                text)
