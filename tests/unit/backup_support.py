"""Helpers of the backup tests: an installation filled with every kind of data through the
real code (conversation engine, Telegram contacts, knowledge generations), and what is
compared before and after a restore."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from bot.backup.installation import Installation
from bot.backup.keys import KEY_FILE
from bot.config import Settings
from bot.dialogue.engine import ConversationEngine
from bot.export import write_json, write_transcripts
from bot.knowledge import generations
from bot.knowledge.embedder import DIMENSION
from bot.store import repository
from bot.store.db import migrate, session_scope
from bot.store.models import KnowledgeDocument, KnowledgePassage
from bot.telegram.contacts import add_contact, contacts
from bot.telegram.store import BridgeStore
from tests.unit.test_engine import (
    LIBRARY,
    LIBRARY_FILE,
    PARK,
    PARK_FILE,
    SECRET,
    Citizen,
    at_reasons,
    launch,
)

CHAT_ID = 123456789
#: Rasa's SQLTrackerStore table (rasa.core.tracker_store), as Rasa creates it.
EVENTS_TABLE = ("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                "action_name VARCHAR(255), data TEXT)")
EVENTS_TABLE_PG = EVENTS_TABLE.replace("id INTEGER PRIMARY KEY", "id SERIAL PRIMARY KEY")


def installation(var: Path, url: str | None = None, tracker: str | None = None,
                 key: str | None = SECRET.decode()) -> Installation:
    """An installation with its data folder ``var`` (SQLite under it by default)."""
    url = url or f"sqlite:///{var / 'codesign.db'}"
    return Installation(var.resolve(), url, tracker or url, key)


def add_tracker_events(url: str, senders: list[str]) -> None:
    """A Rasa tracker store table holding a few events per sender."""
    create = EVENTS_TABLE_PG if url.startswith("postgresql") else EVENTS_TABLE
    with session_scope(url) as session:
        session.execute(text(create))
        for number, sender in enumerate(senders):
            for kind in ("action", "user", "bot"):
                session.execute(text("INSERT INTO events (sender_id, type_name, timestamp, "
                                     "data) VALUES (:s, :t, :ts, :d)"),
                                {"s": sender, "t": kind, "ts": 1.7e9 + number,
                                 "d": f'{{"event": "{kind}", "text": "héllo"}}'})


def add_passages(url: str, texts: list[str], seed: int = 0) -> None:
    """Documents with passages and (random) embeddings, as an ingest stores them."""
    vectors = np.random.default_rng(seed).normal(size=(len(texts), DIMENSION))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with session_scope(url) as session:
        for number, (passage, vector) in enumerate(zip(texts, vectors, strict=True)):
            document = KnowledgeDocument(collection="libraries", path=f"doc-{seed}-{number}.md",
                                         title=f"Document {number}", url=None, format="md",
                                         content_hash=f"{seed}-{number}")
            session.add(document)
            session.flush()
            session.add(KnowledgePassage(document_id=document.id, position=0, section="Intro",
                                         text=passage, content_hash=f"p-{seed}-{number}",
                                         embedding=vector.astype(np.float32).tobytes()))


def record_generation(url: str, var: Path | None) -> None:
    """Record a generation of the stored passages; build it under ``var`` when given."""
    with session_scope(url) as session:
        ref = generations.record(session, generations.read_stored(session))
        if var is not None:
            generations.build_local(session, var, ref)


def fill(target: Installation, tracker_url: str | None = None) -> None:
    """Every kind of data an installation keeps, written through the real code."""
    url = target.database_url
    migrate(url)
    launch(url, LIBRARY_FILE)
    launch(url, PARK_FILE)
    engine = ConversationEngine(Settings(database_url=url, secret_key=SECRET))
    for sender, channel, said in (("a", "rest", "Studying after work, «quiet» please"),
                                  ("b", "telegram", "Borrowing books for my children")):
        citizen = Citizen(engine, sender, channel)
        at_reasons(citizen)
        citizen.say(said)
    add_tracker_events(tracker_url or url, ["a", "b"])
    store = BridgeStore(url, SECRET)
    with session_scope(url) as session:
        add_contact(session, store.chat_key(CHAT_ID), store.sealer.seal_chat(CHAT_ID))
    add_passages(url, ["The library opens at nine.", "Bring proof of address to join."])
    record_generation(url, target.var)
    uploads = target.uploads / "libraries"
    uploads.mkdir(parents=True)
    (uploads / "hours.md").write_text("# Hours\n\nOpen nine to five.\n")
    (target.var / KEY_FILE).write_text(SECRET.decode())
    (target.var / "rasa-auth.token").write_text("rasa-token-0123456789")


def exports(url: str) -> dict[str, str]:
    """The JSON export and the transcripts of both demo consultations, as text."""
    out = {}
    with session_scope(url) as session:
        for slug in (LIBRARY, PARK):
            consultation = repository.get_consultation(session, slug)
            assert consultation is not None
            for name, writer in (("json", write_json), ("transcripts", write_transcripts)):
                buffer = io.StringIO()
                writer(session, consultation.id, slug, buffer)
                out[f"{slug}.{name}"] = buffer.getvalue()
    return out


def tracker_rows(url: str) -> list[tuple[Any, ...]]:
    """Every Rasa event row, in order."""
    with session_scope(url) as session:
        return [tuple(row) for row in session.execute(
            text("SELECT id, sender_id, type_name, timestamp, data FROM events ORDER BY id"))]


def opened_contacts(url: str, key: bytes) -> list[int]:
    """The Telegram contacts' chat ids, opened with ``key``."""
    store = BridgeStore(url, key)
    with session_scope(url) as session:
        return [store.sealer.open_chat(ref) for ref in contacts(session).values()]


def revision(url: str) -> str:
    """The database's Alembic revision."""
    with session_scope(url) as session:
        return str(session.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def modes(root: Path) -> dict[str, int]:
    """Permission bits of every file and folder under ``root`` (``root`` itself too)."""
    found = {".": root.stat().st_mode & 0o777}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = path.stat().st_mode & 0o777
    return found

