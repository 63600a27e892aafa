"""The API docs page (Swagger UI from npm, schema behind the login) and personal API tokens
in the browser: list, create (shown once), revoke; CSRF, ownership, escaping, headers."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.accounts.tokens import issue_token, list_tokens, revoke_token, user_for_token
from bot.store import repository
from bot.store.db import session_scope
from bot.store.review_models import ApiToken, User
from bot.web import WebSettings, swagger_ui
from bot.web.app import create_app
from bot.web.routes import tokens as tokens_routes
from tests.unit.review_web_support import (
    ADMIN,
    CSRF_RE,
    REVIEWER,
    SCRIPT,
    Seeded,
    csrf_of,
    make_app,
    seed,
    signed_in,
    to_login,
)
from tests.unit.test_accounts import codesign
from tests.unit.test_engine import _Today

TOKENS = "/review/account/tokens"
DOCS = "/review/api/docs"
SCHEMA = "/review/api/openapi.json"
TOKEN_RE = re.compile(r"cdsn_[A-Za-z0-9_-]{20,}")


FORM_ID_RE = re.compile(r'name="form_id" value="([^"]+)"')


def form_of(client: TestClient, page: Any = None) -> dict[str, str]:
    """The hidden fields of the new-token form on a page (by default, a fresh one)."""
    text = (page if page is not None else client.get(TOKENS)).text
    csrf, form_id = CSRF_RE.search(text), FORM_ID_RE.search(text)
    assert csrf and form_id, text
    return {"csrf_token": csrf.group(1), "form_id": form_id.group(1)}


def make_token(client: TestClient, name: str) -> tuple[str, Any]:
    """Create a token through the form; (the token, the answer)."""
    response = client.post(TOKENS, data={"name": name, **form_of(client)})
    assert response.status_code == 200, response.text
    found = TOKEN_RE.findall(response.text)
    assert len(found) == 1, "the new token is shown exactly once"
    return found[0], response


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_id(url: str, name: str) -> int:
    with session_scope(url) as session:
        return session.scalars(select(ApiToken.id).where(ApiToken.name == name)).one()


# ------------------------------------------------------------------------ access
@pytest.mark.parametrize(("method", "path"), [
    ("GET", DOCS), ("GET", SCHEMA), ("GET", TOKENS), ("POST", TOKENS),
    ("POST", f"{TOKENS}/1/revoke")])
def test_anonymous_users_are_sent_to_sign_in(anonymous: TestClient, method: str,
                                             path: str) -> None:
    data = {"csrf_token": csrf_of(anonymous), "name": "x"} if method == "POST" else None
    response = anonymous.request(method, path, data=data, follow_redirects=False)
    assert to_login(response), (method, path, response.status_code)
    if method == "GET":
        assert response.headers["location"].endswith(path)
    assert anonymous.get(SCHEMA, headers={"Accept": "application/json"}).status_code == 401


# ------------------------------------------------------------------------ docs
def test_reviewers_get_the_docs_page_with_swagger_ui_from_npm(reviewer: TestClient) -> None:
    page = reviewer.get(DOCS)
    assert page.status_code == 200
    text = page.text
    assert "<h1>The JSON API</h1>" in text and "How to use the API" in text
    assert 'href="/review/account/tokens"' in text  # where to get a token
    assert "http://testserver/api/v1" in text and "curl -H" in text
    assert 'data-schema-url="/review/api/openapi.json"' in text
    # Our own initialiser and the npm package's files, versioned; no CDN, no inline script.
    for src in re.findall(r'<script src="([^"]+)"', text):
        assert src.startswith("/static/"), src
        assert reviewer.get(src).status_code == 200, src
    assert f'{swagger_ui.PREFIX}/swagger-ui-bundle.js?v=' in text
    assert f'{swagger_ui.PREFIX}/swagger-ui.css?v=' in text
    assert "/static/api-docs.js?v=" in text
    assert not re.search(r"<script(?![^>]*\bsrc=)", text), "no inline script"
    assert "https://" not in text
    # The nav links to both new pages.
    assert '<a href="/review/api/docs">API docs</a>' in text
    assert '<a href="/review/account/tokens">API tokens</a>' in text


def test_only_the_docs_page_allows_data_images(reviewer: TestClient) -> None:
    docs = reviewer.get(DOCS).headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in docs.split("; ")}
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in docs
    for other in ("/review", TOKENS):
        policy = reviewer.get(other).headers["content-security-policy"]
        assert "data:" not in policy and "img-src 'self';" in policy


def test_the_schema_is_the_apis_with_the_bearer_scheme(reviewer: TestClient, admin: TestClient,
                                                       seeded: Seeded) -> None:
    response = reviewer.get(SCHEMA, headers={"Accept": "application/json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "codesign API"
    assert "/api/v1/consultations" in schema["paths"] and "/api/v1/me" in schema["paths"]
    assert all(path.startswith("/api/v1/") for path in schema["paths"])  # no HTML pages
    scheme = schema["components"]["securitySchemes"]["ApiToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert operation["security"] == [{"ApiToken": []}], (method, path)
    assert admin.get(SCHEMA).json() == schema
    # The same as the token-protected copy under /api/v1.
    with session_scope(seeded.url) as session:
        user = session.scalars(select(User).where(User.email == REVIEWER[0])).one()
        token = issue_token(session, user, "schema")
    assert reviewer.get("/api/v1/openapi.json", headers=bearer(token)).json() == schema


def test_the_app_explains_a_missing_swagger_ui(seeded: Seeded, tmp_path: Any) -> None:
    modules = tmp_path / "node_modules"
    (modules / "socket.io-client" / "dist").mkdir(parents=True)
    (modules / "socket.io-client" / "dist" / "socket.io.min.js").write_text("//")
    settings = WebSettings(database_url=seeded.url, node_modules=modules,
                           secret="web-secret-for-tests-0123456789")
    with pytest.raises(RuntimeError, match=r"swagger-ui-dist/swagger-ui-bundle\.js is missing"):
        create_app(settings)


# ------------------------------------------------------------------------ tokens
def test_a_new_token_is_shown_once_and_works_until_revoked(reviewer: TestClient,
                                                           seeded: Seeded) -> None:
    empty = reviewer.get(TOKENS)
    assert empty.status_code == 200 and "You have no API tokens yet." in empty.text
    assert '<label for="token-name">' in empty.text
    token, shown = make_token(reviewer, "R scripts")
    assert shown.headers["cache-control"] == "no-store"
    assert "Copy it now and store it safely" in shown.text
    assert 'id="new-token"' in shown.text and "autofocus" in shown.text
    assert "set-cookie" not in shown.headers or token not in shown.headers["set-cookie"]

    me = reviewer.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json() == {"email": REVIEWER[0], "role": "reviewer"}

    listed = reviewer.get(TOKENS)
    assert "R scripts" in listed.text and token not in listed.text
    assert not TOKEN_RE.search(listed.text)
    assert ">live<" in listed.text and "never" not in listed.text  # it has been used
    ident = token_id(seeded.url, "R scripts")
    response = reviewer.post(f"{TOKENS}/{ident}/revoke",
                             data={"csrf_token": csrf_of(reviewer, TOKENS)},
                             follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == TOKENS
    after = reviewer.get(TOKENS)
    assert "Revoked the token “R scripts”" in after.text and ">revoked<" in after.text
    assert f"/tokens/{ident}/revoke" not in after.text  # no button for a revoked token
    refused = reviewer.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401


def test_token_forms_need_the_csrf_token(reviewer: TestClient, seeded: Seeded) -> None:
    refused = reviewer.post(TOKENS, data={"name": "no csrf"})
    assert refused.status_code == 403 and not TOKEN_RE.search(refused.text)
    wrong = reviewer.post(TOKENS, data={"name": "bad csrf", "csrf_token": "forged"})
    assert wrong.status_code == 403
    token, _ = make_token(reviewer, "kept")
    ident = token_id(seeded.url, "kept")
    assert reviewer.post(f"{TOKENS}/{ident}/revoke").status_code == 403
    assert reviewer.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with session_scope(seeded.url) as session:
        names = set(session.scalars(select(ApiToken.name)))
    assert names == {"kept"}


def names_of_tokens(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(ApiToken.name).order_by(ApiToken.id)))


def test_a_form_sent_again_makes_no_second_token(reviewer: TestClient, seeded: Seeded) -> None:
    form = {"name": "Stata", **form_of(reviewer)}
    first = reviewer.post(TOKENS, data=form)
    assert first.status_code == 200 and len(TOKEN_RE.findall(first.text)) == 1
    assert names_of_tokens(seeded.url) == ["Stata"]
    assert "This form was already sent" not in first.text
    # The answer's own form is a fresh one.
    assert form_of(reviewer, first)["form_id"] != form["form_id"]

    # Reloading the answer sends the same form again: nothing is made, and it says why.
    again = reviewer.post(TOKENS, data=form)
    assert again.status_code == 409
    assert not TOKEN_RE.search(again.text)
    assert ("This form was already sent: the token “Stata” was made and is shown only once. "
            "If you did not copy it, revoke it and make a new one.") in again.text
    assert 'role="alert"' in again.text and again.headers["cache-control"] == "no-store"
    assert 'aria-invalid="true"' not in again.text  # nothing wrong with a field
    assert names_of_tokens(seeded.url) == ["Stata"]
    # ... however often, and whatever the name now says.
    assert reviewer.post(TOKENS, data={**form, "name": "other"}).status_code == 409
    assert names_of_tokens(seeded.url) == ["Stata"]

    # A fresh form (the page's own, or a new page's) makes another token.
    second, _ = make_token(reviewer, "Stata")
    third = reviewer.post(TOKENS, data={"name": "SPSS", **form_of(reviewer, again)})
    assert third.status_code == 200 and TOKEN_RE.search(third.text)
    assert names_of_tokens(seeded.url) == ["Stata", "Stata", "SPSS"]
    assert second not in again.text + third.text
    # The session keeps form ids and token numbers only, never a token.
    assert reviewer.get("/api/v1/me", headers=bearer(second)).status_code == 200
    cookie = reviewer.cookies.get("codesign_session") or ""
    assert cookie and not TOKEN_RE.search(cookie)


def test_a_form_without_a_form_id_makes_no_token(reviewer: TestClient, seeded: Seeded) -> None:
    for form_id in (None, "", "short", "x" * 65, "not/allowed+chars-0123456789"):
        data = {"name": "R", "csrf_token": csrf_of(reviewer, TOKENS)}
        if form_id is not None:
            data["form_id"] = form_id
        refused = reviewer.post(TOKENS, data=data)
        assert refused.status_code == 400, form_id
        assert "older copy of the page" in refused.text and not TOKEN_RE.search(refused.text)
        assert 'value="R"' in refused.text  # the name is kept for the fresh form
    assert names_of_tokens(seeded.url) == []


def test_a_form_sent_twice_at_the_same_moment_makes_one_token(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A double click: two requests with the same session cookie and form id, both past
    the "already sent?" check before either makes its token (SQLite and PostgreSQL)."""
    monkeypatch.setattr(repository, "date", _Today)
    url = seed(database_url).url
    app = make_app(url, tmp_path / "var")
    client = signed_in(app, REVIEWER)
    form = {"name": "double click", **form_of(client)}
    both_checked = threading.Barrier(2, timeout=30)
    issue = tokens_routes.issue_token

    def issue_when_both_have_checked(*args: Any, **kwargs: Any) -> str:
        both_checked.wait()  # each request has found the form unused
        return issue(*args, **kwargs)

    monkeypatch.setattr(tokens_routes, "issue_token", issue_when_both_have_checked)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: client.post(TOKENS, data=form), range(2)))
    monkeypatch.setattr(tokens_routes, "issue_token", issue)
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    made, told = sorted(answers, key=lambda answer: answer.status_code)
    assert len(TOKEN_RE.findall(made.text)) == 1 and not TOKEN_RE.search(told.text)
    assert "This form was already sent: the token “double click” was made" in told.text
    assert told.headers["cache-control"] == "no-store"
    assert names_of_tokens(url) == ["double click"]
    (token,) = TOKEN_RE.findall(made.text)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    # The form id is spent for good: sent again later, from any browser of any account
    # (only its owner is told the token's name).
    assert client.post(TOKENS, data=form).status_code == 409
    other = signed_in(app, ADMIN)
    refused = other.post(TOKENS, data={**form_of(other), "form_id": form["form_id"],
                                        "name": "mine"})
    assert refused.status_code == 409 and "a token was made" in refused.text
    assert "double click" not in refused.text and not TOKEN_RE.search(refused.text)
    assert names_of_tokens(url) == ["double click"]


def test_the_resent_message_survives_a_revoked_token(reviewer: TestClient,
                                                     seeded: Seeded) -> None:
    form = {"name": "notebook", **form_of(reviewer)}
    assert reviewer.post(TOKENS, data=form).status_code == 200
    ident = token_id(seeded.url, "notebook")
    reviewer.post(f"{TOKENS}/{ident}/revoke", data={"csrf_token": csrf_of(reviewer, TOKENS)})
    again = reviewer.post(TOKENS, data=form)
    assert again.status_code == 409 and "the token “notebook” was made" in again.text
    assert names_of_tokens(seeded.url) == ["notebook"]


def test_nobody_sees_or_revokes_someone_elses_token(reviewer: TestClient, admin: TestClient,
                                                    seeded: Seeded) -> None:
    theirs, _ = make_token(admin, "admin's pipeline")
    ident = token_id(seeded.url, "admin's pipeline")
    assert "pipeline" not in reviewer.get(TOKENS).text
    response = reviewer.post(f"{TOKENS}/{ident}/revoke",
                             data={"csrf_token": csrf_of(reviewer, TOKENS)})
    assert response.status_code == 404
    missing = reviewer.post(f"{TOKENS}/999999/revoke",
                            data={"csrf_token": csrf_of(reviewer, TOKENS)})
    assert missing.status_code == 404
    assert admin.get("/api/v1/me", headers=bearer(theirs)).json()["email"] == ADMIN[0]
    assert "pipeline" in admin.get(TOKENS).text


def test_token_names_are_escaped_and_checked(reviewer: TestClient) -> None:
    _, shown = make_token(reviewer, f"evil {SCRIPT}")
    assert SCRIPT not in shown.text
    assert "evil &lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    listed = reviewer.get(TOKENS)
    assert SCRIPT not in listed.text and "&lt;script&gt;" in listed.text
    blank = reviewer.post(TOKENS, data={"name": "   ", **form_of(reviewer)})
    assert blank.status_code == 400 and 'role="alert"' in blank.text
    assert 'aria-invalid="true"' in blank.text and not TOKEN_RE.search(blank.text)
    long = reviewer.post(TOKENS, data={"name": "n" * 101, **form_of(reviewer)})
    assert long.status_code == 400 and "longer than 100" in long.text


def test_token_functions_keep_to_their_owner(seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        owner = session.scalars(select(User).where(User.email == REVIEWER[0])).one()
        other = session.scalars(select(User).where(User.email == ADMIN[0])).one()
        issue_token(session, owner, "first")
        issue_token(session, owner, "second")
        issue_token(session, other, "other")
        session.flush()
        assert [t.name for t in list_tokens(session, owner)] == ["second", "first"]
        theirs = list_tokens(session, other)[0]
        assert revoke_token(session, owner, theirs.id) is None and not theirs.revoked
        mine = list_tokens(session, owner)[0]
        revoked = revoke_token(session, owner, mine.id)
        assert revoked is mine and mine.revoked
        assert revoke_token(session, owner, mine.id) is mine  # again: no change, no error
        assert revoke_token(session, owner, 987654) is None


def test_the_cli_lists_and_revokes_one_token(seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        owner = session.scalars(select(User).where(User.email == REVIEWER[0])).one()
        other = session.scalars(select(User).where(User.email == ADMIN[0])).one()
        token = issue_token(session, owner, f"notebook {SCRIPT}")
        issue_token(session, other, "other")
    ident = token_id(seeded.url, f"notebook {SCRIPT}")
    theirs = token_id(seeded.url, "other")
    listed = codesign(seeded.url, "tokens", REVIEWER[0])
    assert listed.returncode == 0, listed.stderr
    assert f"notebook {SCRIPT}" in listed.stdout and "live" in listed.stdout
    assert token not in listed.stdout and "other" not in listed.stdout
    refused = codesign(seeded.url, "revoke-token", REVIEWER[0], str(theirs))
    assert refused.returncode == 1 and f"no API token {theirs}" in refused.stderr
    done = codesign(seeded.url, "revoke-token", REVIEWER[0], str(ident))
    assert done.returncode == 0 and f"revoked the token {ident}" in done.stdout
    assert "revoked" in codesign(seeded.url, "tokens", REVIEWER[0]).stdout
    with session_scope(seeded.url) as session:
        assert user_for_token(session, token) is None
        kept = session.get(ApiToken, theirs)
        assert kept is not None and not kept.revoked
