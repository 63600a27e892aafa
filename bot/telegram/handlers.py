"""python-telegram-bot handlers: what the bridge does with each kind of update."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session
from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
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
from bot.store.telegram_state import PRESSED, REFUSED, forget_chat, pressed_key
from bot.telegram.contacts import add_contact
from bot.telegram.guards import ChatRateLimiter, Seen
from bot.telegram.relay import Also, Backlog, Relay
from bot.text.clean import clean
from bot.text.limits import max_message_chars, too_long, too_long_reply

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

    Each update leaves the inbox in one transaction with what it leads to: a message
    queued for Rasa, a reply queued, a keyboard marked pressed, a contact recorded. A
    redelivered update never gets here: the update queue dropped it (``bot.telegram.inbox``).

    Args:
        relay: queues messages for Rasa and sends the replies.
        limiter: the per-chat flood guard.
        seen: the keys handled once (pressed keyboards, refused group chats).
        max_chars: the longest text relayed (default: ``CODESIGN_MAX_MESSAGE_CHARS``).

    Raises:
        ValueError: ``CODESIGN_MAX_MESSAGE_CHARS`` is not a number from 1 to 4,096.
    """

    def __init__(self, relay: Relay, limiter: ChatRateLimiter | None = None,
                 seen: Seen | None = None, max_chars: int | None = None) -> None:
        self.relay = relay
        self.limiter = limiter or ChatRateLimiter()
        self.seen = seen or Seen()
        self.max_chars = max_chars or max_message_chars()

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
        """Stop non-private chats and floods before any other handler."""
        chat = update.effective_chat
        if chat is None:
            await self.relay.settle(self._key(update))
            raise ApplicationHandlerStop
        if chat.type != ChatType.PRIVATE:
            await self._refuse(update, context, chat.id)
            raise ApplicationHandlerStop
        allowed, notify = self.limiter.check(chat.id)
        if allowed:
            return
        if update.callback_query is not None:
            await self.relay.settle(self._key(update))
            await _answer(update.callback_query, SLOW_DOWN if notify else None)
        elif notify:
            await self._tell(update, context, SLOW_DOWN)
        else:
            await self.relay.settle(self._key(update))
        raise ApplicationHandlerStop

    async def start(self, update: Update, context: Context) -> None:
        """``/start``, or ``/start <slug>`` from a deep link ``t.me/<bot>?start=<slug>``."""
        slug = context.args[0] if context.args else ""
        if slug and SLUG_RE.match(slug) and len(slug) <= 64:
            await self._relay(update, context, payload("start_consultation", consultation=slug))
        else:
            await self._relay(update, context, payload("greet"))

    async def command(self, update: Update, context: Context) -> None:
        """``/help``, ``/consultations`` and ``/forget`` (which also deletes, with the same
        transaction, what the bridge keeps about the chat)."""
        assert update.message is not None and update.message.text is not None
        name = update.message.text.split()[0].lstrip("/").split("@")[0].lower()
        also: Also = ()
        if name == "forget":
            key = self.relay.sender_for(update.message.chat_id)
            also = (lambda session: forget_chat(session, key),)
        await self._relay(update, context, COMMANDS[name], also)

    async def text(self, update: Update, context: Context) -> None:
        """A typed message: cleaned (``bot.text.clean``) and relayed, or, when it is over
        the size limit, answered with a request for a shorter one (never queued)."""
        assert update.message is not None and update.message.text is not None
        text = update.message.text
        if too_long(text, self.max_chars):
            await self._tell(update, context, too_long_reply(self.max_chars))
            return
        await self._relay(update, context, clean(text))

    async def button(self, update: Update, context: Context) -> None:
        """A pressed inline button: queue its payload, answer it, clear the keyboard, then
        relay it. A keyboard pressed again, or a button whose token is unknown, is only
        answered."""
        query = update.callback_query
        chat = update.effective_chat
        assert query is not None and chat is not None
        key = self.relay.sender_for(chat.id)
        message = query.message
        pressed = pressed_key(key, message.message_id) if message is not None else None

        def look(session: Session) -> tuple[str | None, bool]:
            data = self.relay.tokens.payload_for(session, key, query.data or "")
            return data, pressed is None or not self.seen.has(session, PRESSED, pressed)

        data, first_press = await self.relay.store.run(look)
        also: list[Callable[[Session], object]] = []
        if pressed is not None and first_press:
            also.append(lambda session: self.seen.add(session, PRESSED, pressed))
        relayed = data if first_press else None
        backlog: Backlog | None = None
        if relayed is not None:
            if relayed == HEAR_BACK:
                ref = self.relay.store.sealer.seal_chat(chat.id)
                also.append(lambda session: add_contact(session, key, ref))
            backlog = await self.relay.queue(chat.id, self._key(update), _message_id(update),
                                             relayed, also)
        else:
            await self.relay.settle(self._key(update), also)
        await _answer(query, None if data else EXPIRED_BUTTON)
        if message is not None and first_press:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except BadRequest as exc:  # too old to edit, or already cleared
                logger.debug("could not clear a keyboard: %s", exc)
        if relayed is not None:
            await self.relay.forward(context.bot, chat.id, backlog)

    async def unknown_command(self, update: Update, context: Context) -> None:
        """A command the bridge does not know."""
        await self._tell(update, context, UNKNOWN_COMMAND)

    async def not_text(self, update: Update, context: Context) -> None:
        """A photo, sticker, voice note, …: the consultation needs text."""
        await self._tell(update, context, TEXT_ONLY)

    async def edited(self, update: Update, context: Context) -> None:
        """An edited message: not relayed (it would answer whatever is asked now)."""
        await self._tell(update, context, EDITED)

    async def error(self, update: object, context: Context) -> None:
        """Log what a handler raised. Nothing is lost: an update not yet taken out of the
        inbox is handed out again by the retry round, and a message or reply already queued
        stays queued. A failed ``getUpdates`` (no update) is retried by python-telegram-bot."""
        if update is None and isinstance(context.error, TelegramError):
            logger.warning("fetching updates failed (%s); retrying", context.error)
            return
        logger.error("error while handling an update", exc_info=context.error)

    async def _refuse(self, update: Update, context: Context, chat_id: int) -> None:
        """A group or channel chat: one polite refusal per chat, then silence."""
        group = self.relay.sender_for(chat_id)
        first = update.effective_message is not None and not await self.relay.store.run(
            lambda session: self.seen.has(session, REFUSED, group))
        if not first:
            await self.relay.settle(self._key(update))
            return
        username = context.bot.username
        link = f": https://t.me/{username}" if username else ""
        await self.relay.tell(context.bot, chat_id, self._key(update), _message_id(update),
                              GROUP_REFUSAL.format(link=link),
                              (lambda session: self.seen.add(session, REFUSED, group),))

    async def _relay(self, update: Update, context: Context, text: str,
                     also: Also = ()) -> None:
        assert update.effective_chat is not None
        await self.relay.submit(context.bot, update.effective_chat.id, self._key(update),
                                _message_id(update), text, also)

    async def _tell(self, update: Update, context: Context, text: str) -> None:
        assert update.effective_chat is not None
        await self.relay.tell(context.bot, update.effective_chat.id, self._key(update),
                              _message_id(update), text)

    def _key(self, update: Update) -> str:
        return self.relay.inbox.key(update)


def _message_id(update: Update) -> str:
    """The stable id of what the update says (Rasa's engine handles a repeat once)."""
    return f"tg-{update.update_id}"


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Answer a button press (the spinner stops); a press handled again after a restart
    may be too old to answer, which does not matter."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        logger.debug("could not answer a button press: %s", exc)
