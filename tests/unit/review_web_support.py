"""Helpers of the review-area web tests: a seeded store, users, signing in, CSRF tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.accounts.users import create_user
from bot.config import Settings
from bot.dialogue.engine import ConversationEngine
from bot.store import repository
from bot.store.db import migrate, session_scope
from bot.store.models import Answer, KnowledgeQuery, Participation, Question, TranscriptEntry
from bot.store.review_models import Tag, Theme, ThemeMember
from bot.web import WebSettings, create_app
from tests.unit.test_engine import LIBRARY, LIBRARY_FILE, SECRET, Citizen, at_reasons, launch

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LONG = "x" * 5000
XSS = f"Opening times {SCRIPT} {IMG} {LONG}"
OPEN_KEY = "hours_reasons"
ADMIN = ("admin@council.example", "admin-password-123")
REVIEWER = ("reviewer@council.example", "reviewer-password-123")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Seeded:
    """Ids of what ``seed`` stored."""

    url: str
    consultation_id: int
    answer_id: int
    participation_id: int
    theme_id: int
    tag_id: int


def seed(url: str) -> Seeded:
    """The library consultation with three participations through the real engine; one
    open answer, message, service question, theme and tag carry hostile text."""
    migrate(url)
    launch(url, LIBRARY_FILE)
    engine = ConversationEngine(Settings(database_url=url, secret_key=SECRET))
    for sender, channel, text in (("a", "rest", "Studying after work"),
                                  ("b", "telegram", "Borrowing books for my children"),
                                  ("c", "web", "Quiet space to read the newspapers")):
        citizen = Citizen(engine, sender, channel)
        at_reasons(citizen)
        citizen.say(text)
    with session_scope(url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        answer = session.scalars(select(Answer).join(Question).join(Participation)
                                 .where(Question.key == OPEN_KEY,
                                        Participation.channel == "web")).one()
        answer.raw_text, answer.value = XSS, XSS
        session.add(TranscriptEntry(participation_id=answer.participation_id, direction="in",
                                    text=XSS))
        session.add(KnowledgeQuery(participation_id=answer.participation_id, question_key=None,
                                   text=XSS, collections=[], answered=False, hits=[]))
        tag = Tag(consultation_id=consultation.id, name=f"tag {SCRIPT}", description=IMG)
        theme = Theme(consultation_id=consultation.id, question_key=OPEN_KEY,
                      label=f"theme {IMG}", keywords=["opening", SCRIPT])
        session.add_all([tag, theme])
        session.flush()
        session.add(ThemeMember(theme_id=theme.id, answer_id=answer.id, rank=0))
        create_user(session, ADMIN[0], "admin", ADMIN[1])
        create_user(session, REVIEWER[0], "reviewer", REVIEWER[1])
        return Seeded(url, consultation.id, answer.id, answer.participation_id, theme.id,
                      tag.id)


def make_app(url: str, data_dir: Path | None = None) -> FastAPI:
    """The web app on this store (with its data folder, e.g. the knowledge index, there)."""
    return create_app(WebSettings(database_url=url, rasa_public_url="http://rasa.example:5005",
                                  secret="web-secret-for-tests-0123456789", data_dir=data_dir))


def csrf_of(client: TestClient, path: str = "/review/login") -> str:
    """The CSRF token of the client's session, as a page's forms carry it."""
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: TestClient, email: str, password: str, next_path: str = "/review") -> Any:
    """Sign in through the form (without following the redirect)."""
    token = csrf_of(client)
    return client.post("/review/login", data={"email": email, "password": password,
                                              "csrf_token": token, "next": next_path},
                       follow_redirects=False)


def signed_in(app: FastAPI, who: tuple[str, str]) -> TestClient:
    """A client signed in as ``who`` (e-mail, password)."""
    client = TestClient(app)
    response = login(client, *who)
    assert response.status_code == 303, response.text
    return client


def to_login(response: Any) -> bool:
    """Whether ``response`` sends the browser to the sign-in page."""
    return (response.status_code == 303
            and response.headers["location"].startswith("/review/login"))
