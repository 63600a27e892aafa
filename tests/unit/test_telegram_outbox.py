"""The bridge's queues in the app store: messages for Rasa, replies for chats, updates
received (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

from sqlalchemy import select, update

from bot.store.db import migrate
from bot.store.telegram_models import TelegramOutboxMessage, TelegramReply
from bot.telegram.outbox import Outbox
from bot.telegram.queues import Attempt, RetryPolicy
from bot.telegram.replies import ReplyQueue
from bot.telegram.store import BridgeStore

SECRET = b"test-secret-key-0123456789abcdef"


def bridge_store(url: str) -> BridgeStore:
    migrate(url)
    return BridgeStore(url, SECRET)


def add(store: BridgeStore, outbox: Outbox, chat_id: int, message_id: str, text: str) -> None:
    store.call(lambda s: outbox.add(s, store.chat_key(chat_id),
                                    store.sealer.seal_chat(chat_id), message_id, text))


def test_messages_survive_a_restart_in_order_and_chat_ids_are_sealed(database_url: str) -> None:
    store = bridge_store(database_url)
    outbox = Outbox()
    add(store, outbox, 700_000_001, "tg-1", "first")
    add(store, outbox, 700_000_002, "tg-2", "other chat")
    add(store, outbox, 700_000_001, "tg-3", "second")
    again = Outbox()  # another process, another machine: the same database
    key = BridgeStore(database_url, SECRET).chat_key(700_000_001)
    waiting = store.call(lambda s: again.waiting(s, key))
    assert [(m.message_id, m.text) for m in waiting] == [("tg-1", "first"), ("tg-3", "second")]
    assert store.sealer.open_chat(waiting[0].chat_ref) == 700_000_001
    rows = store.call(lambda s: list(s.execute(select(TelegramOutboxMessage.chat_key,
                                                      TelegramOutboxMessage.chat_ref))))
    assert not any("700000001" in key + ref for key, ref in rows)  # never in the clear
    assert store.call(lambda s: again.remove(s, waiting[0])) is True
    assert store.call(lambda s: again.remove(s, waiting[0])) is False  # already gone
    assert [m.text for m in store.call(lambda s: again.waiting(s, key))] == ["second"]
    assert store.call(again.count) == 2
    other = store.call(lambda s: again.waiting(s, store.chat_key(700_000_002)))[0]
    assert store.call(again.due_chats) == {key: waiting[1].chat_ref,
                                           other.chat_key: other.chat_ref}


def test_failed_delivery_backs_off_and_is_given_up_eventually(database_url: str) -> None:
    store = bridge_store(database_url)
    outbox = Outbox(policy=RetryPolicy(max_attempts=3, backoff=0))
    add(store, outbox, 1, "tg-1", "hello")
    key = store.chat_key(1)

    def fail() -> Attempt:
        item = store.call(lambda s: outbox.waiting(s, key))[0]
        return store.call(lambda s: outbox.failed(s, item))

    assert fail() is Attempt.scheduled
    assert store.call(lambda s: outbox.waiting(s, key))[0].attempts == 1
    assert fail() is Attempt.scheduled
    assert fail() is Attempt.given_up  # third failure
    assert store.call(lambda s: outbox.waiting(s, key)) == []


def test_retry_waits_for_the_backoff_and_a_stale_row_is_not_counted_twice(
        database_url: str) -> None:
    store = bridge_store(database_url)
    outbox = Outbox(policy=RetryPolicy(backoff=3600))
    add(store, outbox, 1, "tg-1", "hello")
    key = store.chat_key(1)
    item = store.call(lambda s: outbox.waiting(s, key))[0]
    assert store.call(outbox.due_chats) == {key: item.chat_ref}
    assert store.call(lambda s: outbox.failed(s, item)) is Attempt.scheduled
    assert store.call(outbox.due_chats) == {}  # not due for an hour
    assert len(store.call(lambda s: outbox.waiting(s, key))) == 1  # a new message delivers it
    # ``item`` as read before that failure: another failure on it counts nothing.
    assert store.call(lambda s: outbox.failed(s, item)) is Attempt.gone


def test_queue_per_chat_and_age_are_bounded(database_url: str) -> None:
    store = bridge_store(database_url)
    outbox = Outbox(max_per_chat=2, policy=RetryPolicy(max_age=3600))
    for number in range(4):
        add(store, outbox, 1, f"tg-{number}", f"message {number}")
    add(store, outbox, 2, "tg-9", "another chat")
    key = store.chat_key(1)
    assert [m.text for m in store.call(lambda s: outbox.waiting(s, key))] == [
        "message 2", "message 3"]
    assert store.call(outbox.expire) == 0
    outbox.policy.max_age = -1  # everything is now too old
    time.sleep(0.01)
    assert store.call(lambda s: outbox.waiting(s, key)) == []  # not handed out any more
    assert store.call(outbox.expire) == 3 and store.call(outbox.count) == 0


def test_replies_keep_their_order_and_keyboard_per_chat(database_url: str) -> None:
    store = bridge_store(database_url)
    replies = ReplyQueue()
    keyboard = [[{"text": "Yes", "callback_data": "/affirm"}]]
    key, ref = store.chat_key(5), store.sealer.seal_chat(5)
    rows = store.call(lambda s: replies.add(s, key, ref, "tg-1", [("Part 1", None),
                                                                  ("Part 2", keyboard)]))
    store.call(lambda s: replies.add(s, key, ref, "tg-2", [("Next", None)]))
    waiting = store.call(lambda s: replies.waiting(s, key))
    assert [(r.source, r.position, r.text, r.keyboard) for r in waiting] == [
        ("tg-1", 0, "Part 1", None), ("tg-1", 1, "Part 2", keyboard), ("tg-2", 0, "Next", None)]
    assert [r.id for r in rows] == [r.id for r in waiting[:2]]
    # A reply that failed for now makes its chat due later, not the other chats.
    store.call(lambda s: replies.add(s, store.chat_key(6), store.sealer.seal_chat(6), "tg-3",
                                     [("Other chat", None)]))
    store.call(lambda s: replies.failed(s, waiting[0]))
    assert list(store.call(replies.due_chats)) == [store.chat_key(6)]
    store.call(lambda s: s.execute(update(TelegramReply).values(next_attempt_at=TelegramReply
                                                                .created_at)))
    assert list(store.call(replies.due_chats)) == [key, store.chat_key(6)]
    assert store.call(lambda s: replies.drop_chat(s, key)) == 3
