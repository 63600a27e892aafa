"""Erasure reaches the bridge's state: ``/forget`` and a confirmed "forget me" delete the
chat's contact, replies not yet sent, button tokens and pressed keyboards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.dialogue.engine import ConversationEngine
from bot.store import repository
from bot.store.db import migrate
from bot.store.telegram_models import (
    TelegramCallbackToken,
    TelegramContact,
    TelegramOutboxMessage,
    TelegramReply,
    TelegramSeen,
)
from bot.store.telegram_state import PRESSED, REFUSED, forget_chat, pressed_key
from bot.telegram.contacts import add_contact
from bot.telegram.guards import Seen
from bot.telegram.outbox import Outbox
from bot.telegram.render import CallbackTokens
from bot.telegram.replies import ReplyQueue
from bot.telegram.store import BridgeStore
from tests.unit.test_engine import LIBRARY_FILE, SECRET, Citizen, _Today, launch

LONG_PAYLOAD = '/start_consultation{"consultation":"a-consultation-with-a-very-long-slug-2027"}'
TABLES = (TelegramContact, TelegramReply, TelegramCallbackToken, TelegramSeen,
          TelegramOutboxMessage)


def remember(store: BridgeStore, chat_id: int) -> None:
    """Everything the bridge may keep about a chat."""
    key, ref = store.chat_key(chat_id), store.sealer.seal_chat(chat_id)

    def work(session: Session) -> None:
        add_contact(session, key, ref)
        ReplyQueue().add(session, key, ref, "tg-1", [("a reply not sent yet", None)])
        CallbackTokens().data_for(session, key, LONG_PAYLOAD)
        Seen().add(session, PRESSED, pressed_key(key, 1001))
        Outbox().add(session, key, ref, "tg-2", "forget me")

    store.call(work)


def counts(store: BridgeStore) -> dict[str, int]:
    return store.call(lambda s: {model.__tablename__: int(s.scalar(
        select(func.count()).select_from(model)) or 0) for model in TABLES})


def test_forget_chat_deletes_that_chat_only_and_keeps_its_messages_for_rasa(
        database_url: str) -> None:
    migrate(database_url)
    store = BridgeStore(database_url, SECRET)
    remember(store, 41)
    remember(store, 42)
    store.call(lambda s: Seen().add(s, REFUSED, store.chat_key(-100_500)))  # a group
    store.call(lambda s: forget_chat(s, store.chat_key(41)))
    assert counts(store) == {"telegram_contacts": 1, "telegram_replies": 1,
                             "telegram_callback_tokens": 1, "telegram_seen": 2,
                             "telegram_outbox": 2}
    left = store.call(lambda s: s.scalars(select(TelegramContact.chat_key)).all())
    assert left == [store.chat_key(42)]


@pytest.fixture
def engine(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> ConversationEngine:
    monkeypatch.setattr(repository, "date", _Today)
    migrate(sqlite_url)
    launch(sqlite_url, LIBRARY_FILE)
    return ConversationEngine(Settings(database_url=sqlite_url, secret_key=SECRET))


@pytest.mark.parametrize("channel", ["telegram", "rest"])
def test_confirmed_forget_me_erases_the_telegram_chat_state(
        engine: ConversationEngine, channel: str) -> None:
    store = BridgeStore(engine.settings.database_url, SECRET)
    remember(store, 43)
    citizen = Citizen(engine, sender=store.chat_key(43), channel=channel)
    citizen.start()
    citizen.say("forget me", intent="forget_me", confidence=0.98)
    assert "have been deleted" in citizen.press("/affirm").messages[0].text
    kept = 1 if channel == "rest" else 0  # a REST sender id is no Telegram chat key
    assert counts(store) == {"telegram_contacts": kept, "telegram_replies": kept,
                             "telegram_callback_tokens": kept, "telegram_seen": kept,
                             "telegram_outbox": 1}
