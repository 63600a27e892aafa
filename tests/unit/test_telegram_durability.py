"""The bridge's state lives in the app store: a bridge that dies, restarts on another
machine or meets a Telegram outage loses and repeats nothing.

python-telegram-bot against the fake Bot API server and a scripted Rasa (``EchoRasa``),
on SQLite and PostgreSQL. The kill -9 of a bridge process mid-conversation, against the
real Rasa, is ``tests/e2e/test_telegram_restart_e2e.py``; here a dead bridge's leftovers
are written into the tables as it would have left them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session
from telegram import Bot, Update

from bot.devtools.bridge import BridgeThread
from bot.devtools.fake_telegram import BOT_ID, TOKEN, FakeTelegram
from bot.store.db import engine_for, migrate
from bot.store.telegram_models import TelegramContact, TelegramInboxUpdate, TelegramSeen
from bot.store.telegram_state import UPDATE
from bot.telegram.config import TelegramConfig
from bot.telegram.guards import ChatRateLimiter
from bot.telegram.handlers import HEAR_BACK
from bot.telegram.inbox import Inbox
from bot.telegram.outbox import Outbox
from bot.telegram.queues import RetryPolicy
from bot.telegram.replies import ReplyQueue
from bot.telegram.retry import RetryingLimiter
from bot.telegram.store import BridgeStore
from tests.unit.test_telegram_bridge import EchoRasa, eventually
from tests.unit.test_telegram_legacy import OLD_CONTACTS, OLD_OUTBOX

# PTB 22 itself warns, when it raises RetryAfter, that retry_after will become a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
SECRET = b"unit-test-secret-key"
LONG_PAYLOAD = '/start_consultation{"consultation":"a-consultation-with-a-very-long-slug-2027"}'
EMPTY = {"updates": 0, "messages": 0, "replies": 0}


@dataclass
class Site:
    """The fake Bot API, a scripted Rasa and an app store; bridges come and go."""

    telegram: FakeTelegram
    rasa: EchoRasa
    config: TelegramConfig
    bridges: list[BridgeThread] = field(default_factory=list)

    @property
    def store(self) -> BridgeStore:
        assert self.config.database_url is not None
        return BridgeStore(self.config.database_url, SECRET)

    def bridge(self) -> BridgeThread:
        """A new bridge on the site's app store, retrying quickly (the Bot API client twice,
        then its queues from 0.2 s, doubling to 1 s at most)."""
        bridge = BridgeThread(self.config, retry_interval=0.2,
                              limiter=ChatRateLimiter(burst=100, per_minute=6000),
                              bot_api=RetryingLimiter(attempts=2, base_delay=0.2, max_wait=1))
        relay = bridge.relay
        relay.outbox.policy = relay.replies.policy = relay.inbox.queue.policy = RetryPolicy(
            backoff=0.2, max_delay=1)
        self.bridges.append(bridge.start())
        return bridge


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    rasa = EchoRasa()
    server = rasa.serve()
    with FakeTelegram(first_update_id=1000) as telegram:
        config = TelegramConfig(token=telegram.token, secret_key=SECRET,
                                rasa_url=f"http://127.0.0.1:{server.server_address[1]}",
                                api_base_url=telegram.base_url, database_url=database_url,
                                outbox_path=tmp_path / "var" / "telegram-outbox.sqlite3",
                                contacts_path=tmp_path / "var" / "telegram-contacts.sqlite3",
                                notify_interval=3600)
        running = Site(telegram, rasa, config)
        yield running
        for bridge in running.bridges:
            bridge.stop()
    server.shutdown()


def echoes(telegram: FakeTelegram, chat: int) -> list[str]:
    """The echo replies a chat received, in order."""
    return [str(c.params["text"]) for c in telegram.sent(chat)
            if str(c.params["text"]).startswith("echo: ")]


def test_what_a_dead_bridge_left_is_finished_once_by_a_bridge_elsewhere(site: Site) -> None:
    migrate(site.config.resolved_database_url())
    store, telegram = site.store, site.telegram
    left = {"update_id": 500, "message": telegram.message(30, "left in the inbox")}
    key = f"{BOT_ID}:500"

    def leftovers(session: Session) -> None:
        session.add(TelegramSeen(kind=UPDATE, key=key))
        session.add(TelegramInboxUpdate(update_key=key, sealed=store.sealer.seal(
            json.dumps(left))))
        Outbox().add(session, store.chat_key(31), store.sealer.seal_chat(31), "tg-501",
                     "left in the outbox")
        ReplyQueue().add(session, store.chat_key(32), store.sealer.seal_chat(32), "tg-502",
                         [("first part of a reply", None), ("second part", None)])

    store.call(leftovers)
    bridge = site.bridge()
    telegram.wait_for_text(30, "echo: left in the inbox")
    telegram.wait_for_text(31, "echo: left in the outbox")
    telegram.wait_for_text(32, "second part")
    telegram.push_update(json.loads(json.dumps(left)))  # Telegram sends it again
    eventually(lambda: 500 in telegram.delivered)
    telegram.say(30, "and now", "echo: and now")  # after the duplicate: one chat, in order
    assert sorted(site.rasa.messages) == ["and now", "left in the inbox", "left in the outbox"]
    assert echoes(telegram, 30) == ["echo: left in the inbox", "echo: and now"]
    assert [c.params["text"] for c in telegram.sent(32)] == ["first part of a reply",
                                                             "second part"]
    eventually(lambda: bridge.queued() == EMPTY)


def test_a_restarted_bridge_drops_updates_the_first_one_handled(site: Site) -> None:
    first = site.bridge()
    update = site.telegram.push_text(33, "hello")
    site.telegram.wait_for_text(33, "echo: hello")
    first.stop()
    second = site.bridge()
    site.telegram.push_update(json.loads(json.dumps(update)))  # redelivered
    site.telegram.say(33, "again", "echo: again")
    assert site.rasa.messages == ["hello", "again"]
    eventually(lambda: second.queued() == EMPTY)


def run_outage(site: Site, chats: list[int], seconds: float) -> dict[int, list[str]]:
    """Citizens write just before and during a Telegram outage of ``seconds``.

    Returns:
        The echo replies each chat should get, in order.
    """
    telegram = site.telegram
    expected: dict[int, list[str]] = {chat: [] for chat in chats}
    site.rasa.delay = 0.3  # their replies are ready once the outage began
    for chat in chats:
        telegram.push_text(chat, f"before {chat}")
        expected[chat].append(f"echo: before {chat}")
    eventually(lambda: len(site.rasa.received) >= 1)
    telegram.fail_for(seconds)
    started = time.monotonic()
    during = 0
    while time.monotonic() - started < seconds - 0.3:
        for chat in chats:
            telegram.push_text(chat, f"during {during} {chat}")
            expected[chat].append(f"echo: during {during} {chat}")
        during += 1
        time.sleep(min(1.0, seconds / 4))
    return expected


@pytest.mark.parametrize("seconds", [3.0])
def test_messages_before_and_during_a_telegram_outage_get_their_replies_once(
        site: Site, seconds: float) -> None:
    bridge = site.bridge()
    chats = [40, 41, 42]
    expected = run_outage(site, chats, seconds)
    for chat in chats:
        eventually(lambda chat=chat: len(echoes(site.telegram, chat)) >= len(expected[chat]),
                   timeout=60)
    eventually(lambda: bridge.queued() == EMPTY)
    time.sleep(1)  # anything sent twice would have come by now
    for chat in chats:
        assert echoes(site.telegram, chat) == expected[chat]
    rejected = {c.method for c in site.telegram.rejected}
    assert {"getUpdates", "sendMessage"} <= rejected  # the outage did hit the bridge
    assert sorted(site.rasa.messages) == sorted(
        text.removeprefix("echo: ") for texts in expected.values() for text in texts)


def test_a_reply_telegram_refuses_for_good_is_dropped_and_the_chat_goes_on(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    bridge = site.bridge()
    caplog.set_level(logging.WARNING, logger="bot.telegram.relay")
    site.telegram.fail_next("sendMessage", 1, status=403)  # blocked by the user
    site.telegram.push_text(34, "one")
    eventually(lambda: site.rasa.messages == ["one"])
    site.telegram.say(34, "two", "echo: two")
    assert echoes(site.telegram, 34) == ["echo: two"]
    assert "Telegram refused a reply" in caplog.text
    eventually(lambda: bridge.queued() == EMPTY)


def test_contacts_and_long_buttons_survive_a_restart_and_forget_deletes_them(
        site: Site) -> None:
    site.rasa.buttons = [{"title": "Start", "payload": LONG_PAYLOAD}]
    first = site.bridge()
    site.telegram.say(35, "hi", "echo: hi")
    site.telegram.push_press(35, site.telegram.sent(35)[-1].params["_message"], HEAR_BACK)
    site.telegram.wait_for_text(35, f"echo: {HEAR_BACK}")
    first.stop()

    second = site.bridge()  # elsewhere: it knows the contact and the long button
    store = site.store
    contact = store.call(lambda s: s.scalars(select(TelegramContact)).one())
    assert contact.chat_key == store.chat_key(35) and store.sealer.open_chat(
        contact.chat_ref) == 35
    site.telegram.press(35, "Start")
    site.telegram.wait_for_text(35, f"echo: {LONG_PAYLOAD}")
    site.telegram.say(35, "/forget", "echo: /forget_me")
    assert store.call(lambda s: s.scalars(select(TelegramContact)).all()) == []
    tokens = store.call(lambda s: s.execute(text(
        "SELECT count(*) FROM telegram_callback_tokens")).scalar_one())
    assert tokens == 1  # only the buttons of the reply to /forget itself
    eventually(lambda: second.queued() == EMPTY)


def test_no_chat_id_reaches_the_database_in_the_clear(site: Site) -> None:
    chat, group = 987_654_321, -1_001_987_654_322
    site.rasa.buttons = [{"title": "Start", "payload": LONG_PAYLOAD}]
    bridge = site.bridge()
    site.telegram.say(chat, "hi", "echo: hi")
    site.telegram.press(chat, "Start")
    site.telegram.push_text(group, "hello group", chat_type="supergroup")
    site.telegram.wait_for("sendMessage", group)
    site.rasa.delay = 1.0
    site.telegram.push_text(chat, "one")
    site.telegram.push_text(chat, "two")
    dumps = [""]

    def mid_flight() -> bool:  # "one" at Rasa, "two" waiting for it
        dumps[0] = dump(site.config.resolved_database_url())
        return "telegram_outbox" in dumps[0] and "telegram_inbox" in dumps[0]

    eventually(mid_flight)
    site.telegram.wait_for_text(chat, "echo: two")
    site.telegram.push_press(chat, site.telegram.sent(chat)[-1].params["_message"], HEAR_BACK)
    site.telegram.wait_for_text(chat, f"echo: {HEAR_BACK}")
    dumps.append(dump(site.config.resolved_database_url()))
    for rows in dumps:
        for digits in ("987654321", "1987654322"):
            assert digits not in rows
    assert "telegram_contacts" in dumps[-1] and "telegram_seen" in dumps[-1]
    eventually(lambda: bridge.queued() == EMPTY)


def dump(url: str) -> str:
    """Every row of the bridge's tables, as text."""
    with engine_for(url).connect() as connection:
        tables = [t for t in inspect(connection).get_table_names()
                  if t.startswith("telegram_")]
        return "\n".join(f"{table} {list(row)}" for table in tables
                         for row in connection.execute(text(f"SELECT * FROM {table}")))


def test_an_older_bridges_files_are_imported_and_delivered(site: Site) -> None:
    folder = site.config.resolved_outbox_path().parent
    folder.mkdir(parents=True)
    now = time.time()
    with sqlite3.connect(site.config.resolved_outbox_path()) as db:
        db.executescript(OLD_OUTBOX)
        db.execute("INSERT INTO outbox (chat_id, message_id, text, created_at, "
                   "next_attempt_at) VALUES (36, 'tg-77', 'waiting in the old file', ?, ?)",
                   (now, now))
    db.close()
    with sqlite3.connect(site.config.resolved_contacts_path()) as db:
        db.executescript(OLD_CONTACTS)
        db.execute("INSERT INTO contacts VALUES ('x', 37, ?)", (now,))
    db.close()
    bridge = site.bridge()
    site.telegram.wait_for_text(36, "echo: waiting in the old file")
    assert not site.config.resolved_outbox_path().exists()
    assert (folder / "telegram-outbox.sqlite3.imported").exists()
    store = site.store
    contact = store.call(lambda s: s.scalars(select(TelegramContact)).one())
    assert store.sealer.open_chat(contact.chat_ref) == 37
    eventually(lambda: bridge.queued() == EMPTY)


def test_the_inbox_hands_out_again_only_what_nobody_is_handling(sqlite_url: str) -> None:
    migrate(sqlite_url)
    store = BridgeStore(sqlite_url, SECRET)
    inbox = Inbox(store, str(BOT_ID), RetryPolicy(backoff=3600))
    bot = Bot(TOKEN)
    message = {"message_id": 1, "date": int(time.time()), "text": "hi",
               "chat": {"id": 1, "type": "private", "first_name": "Citizen"}}
    update = Update.de_json({"update_id": 9, "message": message}, bot)

    async def scenario() -> list[list[int]]:
        seen = [await inbox.record(update), await inbox.record(update)]
        assert seen == [True, False]  # the second time: a redelivery
        out = [[u.update_id for u in await inbox.left_over(bot)]]  # in flight: none
        inbox.done(update)  # its handler failed before taking it out of the inbox
        out.append([u.update_id for u in await inbox.left_over(bot)])
        out.append([u.update_id for u in await inbox.left_over(bot)])  # in flight again
        inbox.done(update)
        out.append([u.update_id for u in await inbox.left_over(bot)])  # due in an hour
        return out

    assert asyncio.run(scenario()) == [[], [9], [], []]
    store.call(lambda s: inbox.take(s, inbox.key(update)))
    assert store.call(inbox.queue.count) == 0
