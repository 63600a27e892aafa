"""The accessibility statement page (FastAPI TestClient, real SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.store import repository as repo
from bot.store.db import migrate, session_scope
from bot.web import WebSettings, create_app
from bot.web.routes.public import LAST_TESTED, STATEMENT_PREPARED
from tests.unit.test_web_pages import consultation_yaml, launch

HOSTILE = '<script>alert("x")</script> 01632 960 001'


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    """Two open consultations (one with a hostile contact line) and a closed one."""
    migrate(sqlite_url)
    launch(sqlite_url, consultation_yaml("library-hours", "Library <b>opening</b> hours"))
    hostile = consultation_yaml("park-design", "Park design", agency="Millbrook Parks Trust")
    launch(sqlite_url, hostile.replace("contact: privacy@riverside.example",
                                       f"contact: {HOSTILE!r}"))
    launch(sqlite_url, consultation_yaml("bins-review", "Bin collection review").replace(
        "contact: privacy@riverside.example", "contact: bins@riverside.example"))
    with session_scope(sqlite_url) as session:
        repo.close_consultation(session, "bins-review")
    with TestClient(create_app(WebSettings(database_url=sqlite_url))) as test:
        yield test


def test_statement_page_lists_each_open_consultation_contact(client: TestClient) -> None:
    response = client.get("/accessibility")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Accessibility statement for" in html
    for heading in ("Feedback and contact information", "Enforcement procedure",
                    "Compliance status", "Non-accessible content",
                    "Preparation of this accessibility statement"):
        assert heading in html
    assert "partially compliant" in html and "WCAG" in html
    assert "Swagger UI" in html and "third-party" in html
    assert "Equality Advisory and Support Service" in html
    assert "by phone, on paper or\n  in large print" in html
    assert "test_keyboard_only" in html
    # Each open consultation with its contact; the closed one is not listed.
    assert '<a href="mailto:privacy@riverside.example">privacy@riverside.example</a>' in html
    assert "Millbrook Parks Trust" in html
    assert "bins@riverside.example" not in html
    assert STATEMENT_PREPARED.isoformat() in html and LAST_TESTED.isoformat() in html


def test_statement_escapes_what_agencies_wrote(client: TestClient) -> None:
    html = client.get("/accessibility").text
    assert "<script>alert" not in html and "<b>opening</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 01632 960 001" in html
    assert "Library &lt;b&gt;opening&lt;/b&gt; hours" in html
    assert 'href="mailto:&lt;script' not in html  # a contact with spaces is not a link


def test_statement_linked_from_every_footer_and_the_chat(client: TestClient) -> None:
    link = '<a href="/accessibility">Accessibility statement</a>'
    for path in ("/", "/c/library-hours", "/c/library-hours/privacy", "/accessibility",
                 "/review/login"):
        response = client.get(path)
        assert response.status_code == 200, path
        footer = response.text.split("<footer", 1)[1]
        assert link in footer, path
    not_found = client.get("/c/no-such-thing")
    assert not_found.status_code == 404 and link in not_found.text.split("<footer", 1)[1]
    assert 'data-accessibility-url="/accessibility"' in client.get("/c/library-hours").text


def test_statement_without_open_consultations_gives_the_general_route(
        sqlite_url: str) -> None:
    migrate(sqlite_url)
    with TestClient(create_app(WebSettings(database_url=sqlite_url))) as client:
        html = client.get("/accessibility").text
    assert "if you cannot find a contact" in html
    assert "mailto:" not in html
