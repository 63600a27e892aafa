"""The public pages of the web app (FastAPI TestClient, real SQLite store)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.consultations.schema import parse_consultation
from bot.store import repository as repo
from bot.store.db import migrate, session_scope
from bot.web import WebSettings, create_app

RASA = "http://rasa.example.org:5005"


def consultation_yaml(slug: str, title: str, *, summary: str = "Tell us what you think.",
                      agency: str = "Riverside Borough Council", extra: str = "") -> str:
    return f"""
slug: {slug}
title: {title!r}
agency: {agency!r}
service: Libraries
kind: co-design
summary: {summary!r}
outcome: We will publish what we heard.
privacy:
  retention_days: 180
  quotes: never
  contact: privacy@riverside.example
{extra}
questions:
  - id: visits
    type: single_choice
    text: How often do you visit?
    options: [Often, Rarely]
"""


def launch(url: str, text: str) -> None:
    definition = parse_consultation(text)
    with session_scope(url) as session:
        repo.launch_consultation(session, definition, text)


@pytest.fixture
def store(sqlite_url: str) -> str:
    """A migrated store with open, closed, expired and not-yet-open consultations."""
    migrate(sqlite_url)
    launch(sqlite_url, consultation_yaml("library-hours", "Library opening hours",
                                         extra="closes: 2999-12-31"))
    launch(sqlite_url, consultation_yaml("park-design", "Park design",
                                         agency="Millbrook Parks Trust"))
    launch(sqlite_url, consultation_yaml("bins-review", "Bin collection review"))
    with session_scope(sqlite_url) as session:
        repo.close_consultation(session, "bins-review")
    launch(sqlite_url, consultation_yaml("old-survey", "An expired survey",
                                         extra="opens: 2000-01-01\ncloses: 2000-02-01"))
    launch(sqlite_url, consultation_yaml("future-plan", "A future plan",
                                         extra="opens: 2999-01-01"))
    return sqlite_url


@pytest.fixture
def client(store: str) -> Iterator[TestClient]:
    with TestClient(create_app(WebSettings(database_url=store, rasa_public_url=RASA))) as test:
        yield test


class _Scripts(HTMLParser):
    """Collects <script> tags and whether any inline code or style attributes appear."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str | None] = []
        self.inline_code = False
        self.style_attributes = 0
        self.event_handlers = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.style_attributes += "style" in names
        self.event_handlers += sum(name.startswith("on") for name in names)
        if tag == "script":
            self.sources.append(names.get("src"))
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_code = True


def words(html: str) -> str:
    """The page with runs of whitespace (template line breaks) as single spaces."""
    return " ".join(html.split())


def parse(html: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(html)
    return parser


def test_home_lists_only_open_consultations(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = words(response.text)
    for shown in ("Library opening hours", "Park design"):
        assert shown in page
    for hidden in ("Bin collection review", "An expired survey", "A future plan"):
        assert hidden not in page
    assert "Millbrook Parks Trust and Riverside Borough Council are asking" in page
    assert '<time datetime="2999-12-31">31 December 2999</time>' in page
    assert 'href="/c/library-hours"' in page and 'href="/c/library-hours/privacy"' in page
    # The chat widget mounts with Rasa's public URL and starts no consultation.
    assert f'data-socket-url="{RASA}"' in page and "data-consultation" not in page


def test_home_without_open_consultations(sqlite_url: str) -> None:
    migrate(sqlite_url)
    with TestClient(create_app(WebSettings(database_url=sqlite_url))) as test:
        response = test.get("/")
    assert response.status_code == 200
    assert "No consultation is open right now" in response.text


def test_consultation_page_starts_the_chat_and_names_the_agency(client: TestClient) -> None:
    response = client.get("/c/park-design")
    assert response.status_code == 200
    page = words(response.text)
    assert "<h1>Park design</h1>" in page
    assert "This consultation is run by <strong>Millbrook Parks Trust</strong>" in page
    assert "We keep them for 180 days" in page
    assert 'href="/c/park-design/privacy"' in page
    assert 'data-consultation="park-design"' in page and 'data-open="true"' in page
    assert 'data-privacy-url="/c/park-design/privacy"' in page


@pytest.mark.parametrize(("path", "message"), [
    ("/c/no-such-thing", "We could not find a consultation at this address"),
    ("/c/Bad_Slug!", "We could not find a consultation at this address"),
    ("/c/bins-review", "“Bin collection review” is not open for answers"),
    ("/c/old-survey", "“An expired survey” is not open for answers"),
    ("/c/future-plan", "“A future plan” is not open for answers"),
    ("/no/such/page", "There is no page at this address"),
    ("/c/no-such-thing/privacy", "We could not find a consultation at this address"),
])
def test_unknown_or_closed_is_a_clear_404_page(client: TestClient, path: str,
                                               message: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert message in words(response.text)
    assert 'href="/"' in response.text  # a way back to the open consultations
    assert "data-codesign-chat" not in response.text


def test_consultation_text_is_escaped(store: str) -> None:
    launch(store, consultation_yaml(
        "markup-test", '<script>alert("x")</script> & <b>bold</b>',
        summary='Say "hi" <img src=x onerror=alert(1)>', agency="A & B <Council>"))
    with TestClient(create_app(WebSettings(database_url=store))) as test:
        pages = [test.get(path).text for path in
                 ("/", "/c/markup-test", "/c/markup-test/privacy")]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "<b>bold</b>" not in page and "<Council>" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" \
            in page
        assert "A &amp; B &lt;Council&gt;" in page
        scripts = parse(page)
        assert not scripts.inline_code and scripts.event_handlers == 0


def test_security_headers(client: TestClient) -> None:
    for path in ("/", "/c/park-design", "/c/park-design/privacy", "/c/nope",
                 "/static/chat.js", "/health"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'"  # no inline scripts, no CDN
        assert directives["style-src"] == "'self'"
        assert directives["connect-src"].split() == [
            "'self'", "http://rasa.example.org:5005", "ws://rasa.example.org:5005"]
        assert directives["frame-ancestors"] == "'none'"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    for path in ("/", "/c/park-design", "/c/park-design/privacy", "/c/nope"):
        scripts = parse(client.get(path).text)
        assert not scripts.inline_code, path
        assert scripts.style_attributes == 0 and scripts.event_handlers == 0, path
        assert all(src and src.startswith("/static/") for src in scripts.sources), path


def test_privacy_notice(client: TestClient) -> None:
    response = client.get("/c/park-design/privacy")
    assert response.status_code == 200
    page = words(response.text)
    assert "<strong>Millbrook Parks Trust</strong> (Libraries) runs this consultation" in page
    assert "We store your answers and this conversation under a pseudonymous code" in page
    assert "deleted automatically 180 days after your last message" in page
    assert "Your words will not be quoted in reports." in page  # quotes: never
    assert '<a href="mailto:privacy@riverside.example">' in page
    assert 'href="/c/park-design">Back to the consultation' in page


def test_privacy_notice_stays_readable_after_closing(client: TestClient) -> None:
    response = client.get("/c/bins-review/privacy")
    assert response.status_code == 200
    assert "(not open for answers at the moment)" in response.text


def test_static_files_and_vendor_build(client: TestClient) -> None:
    page = client.get("/").text
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert any(u.startswith("/static/vendor/socket.io/socket.io.min.js?v=") for u in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    unversioned = client.get("/static/chat.js")
    assert unversioned.headers["cache-control"] == "no-cache"  # embedded on other sites
    assert unversioned.headers["access-control-allow-origin"] == "*"  # SRI needs CORS
    assert "access-control-allow-origin" not in client.get("/").headers
    assert "Socket.IO v4" in client.get("/static/vendor/socket.io/socket.io.min.js").text
    missing = client.get("/static/nope.js")
    assert missing.status_code == 404 and "cache-control" not in missing.headers
    assert client.get("/").headers["cache-control"] == "no-cache"


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_no_api_docs_are_published(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404


def test_missing_front_end_packages_fail_at_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="npm ci"):
        create_app(WebSettings(database_url="sqlite://", node_modules=tmp_path))


def test_text_is_compressed(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    script = client.get("/static/vendor/socket.io/socket.io.min.js",
                        headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-encoding"] == "gzip"
    assert int(script.headers["content-length"]) < 20_000  # 47 KB uncompressed


def test_api_clients_get_json_errors(client: TestClient) -> None:
    response = client.get("/c/no-such-thing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"detail": "We could not find a consultation at this address. "
                                         "Please check the link."}
