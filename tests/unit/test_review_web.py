"""The review area's access rules: signing in and out, the slow-down, CSRF, roles, every
route of the app, and hostile citizen text shown as text (FastAPI TestClient, SQLite)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from bot.accounts.tokens import issue_token
from bot.accounts.users import FREE_ATTEMPTS
from bot.store.db import session_scope
from bot.store.review_models import User
from bot.web import auth
from bot.web.review_area import SESSION_COOKIE
from bot.web.routes import themes as theme_routes
from tests.unit.review_web_support import (
    ADMIN,
    IMG,
    LONG,
    OPEN_KEY,
    REVIEWER,
    SCRIPT,
    Seeded,
    csrf_of,
    login,
    to_login,
)
from tests.unit.test_engine import LIBRARY

C = f"/review/c/{LIBRARY}"


# ------------------------------------------------------------------------ signing in
def test_login_page_is_open_and_review_pages_send_anonymous_browsers_there(
        anonymous: TestClient) -> None:
    page = anonymous.get("/review/login")
    assert page.status_code == 200
    assert '<label for="email">' in page.text and 'type="password"' in page.text
    response = anonymous.get(f"{C}/q/{OPEN_KEY}?page=2", follow_redirects=False)
    assert to_login(response)
    assert response.headers["location"] == (
        f"/review/login?next=/review/c/{LIBRARY}/q/{OPEN_KEY}%3Fpage%3D2")
    api_like = anonymous.get("/review", headers={"Accept": "application/json"},
                             follow_redirects=False)
    assert api_like.status_code == 401 and api_like.json()["detail"]


def test_login_sets_a_signed_http_only_lax_cookie_and_returns_to_next(
        anonymous: TestClient) -> None:
    response = login(anonymous, *REVIEWER, next_path=f"{C}/transcripts")
    assert response.status_code == 303 and response.headers["location"] == f"{C}/transcripts"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # https_only is off in these tests
    assert REVIEWER[0] not in cookie  # only the user's id, signed
    page = anonymous.get("/review")
    assert page.status_code == 200 and REVIEWER[0] in page.text


def test_https_only_marks_the_cookie_secure(seeded: Seeded) -> None:
    from bot.web import WebSettings, create_app

    app = create_app(WebSettings(database_url=seeded.url, secret="s" * 32, https_only=True))
    with TestClient(app, base_url="https://testserver") as client:
        response = login(client, *REVIEWER)
    assert "secure" in response.headers["set-cookie"].lower()


def test_a_tampered_cookie_is_not_a_session(anonymous: TestClient) -> None:
    login(anonymous, *ADMIN)
    value = anonymous.cookies[SESSION_COOKIE]
    anonymous.cookies.clear()
    assert anonymous.get("/review", headers={"Cookie": f"{SESSION_COOKIE}={value}"},
                         follow_redirects=False).status_code == 200
    tampered = value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB")
    assert to_login(anonymous.get("/review", headers={"Cookie": f"{SESSION_COOKIE}={tampered}"},
                                  follow_redirects=False))


def test_next_cannot_leave_the_review_area(anonymous: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example", "/\\evil", "/c/x"):
        response = login(anonymous, *REVIEWER, next_path=target)
        assert response.headers["location"] == "/review"
        anonymous.cookies.clear()


def test_logout_ends_the_session(reviewer: TestClient) -> None:
    token = csrf_of(reviewer, "/review")
    response = reviewer.post("/review/logout", data={"csrf_token": token},
                             follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/review/login"
    assert to_login(reviewer.get("/review", follow_redirects=False))


def test_logout_needs_the_csrf_token(reviewer: TestClient) -> None:
    assert reviewer.post("/review/logout", data={}).status_code == 403
    assert reviewer.get("/review").status_code == 200  # still signed in


def test_wrong_password_and_unknown_email_get_the_same_answer(anonymous: TestClient) -> None:
    wrong = login(anonymous, REVIEWER[0], "not-the-password-1")
    unknown = login(anonymous, "nobody@council.example", "not-the-password-1")
    assert wrong.status_code == unknown.status_code == 400
    message = "The e-mail address or password is not right."
    assert message in wrong.text and message in unknown.text
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "") or \
        to_login(anonymous.get("/review", follow_redirects=False))


@pytest.mark.parametrize("email", [REVIEWER[0], "nobody@council.example"])
def test_repeated_failures_are_slowed_down_alike(anonymous: TestClient, email: str) -> None:
    for _ in range(FREE_ATTEMPTS - 1):
        assert login(anonymous, email, "wrong-password-000").status_code == 400
    slowed = login(anonymous, email, "wrong-password-000")
    assert slowed.status_code == 429
    assert re.search(r"Please try again in \d+ seconds?\.", slowed.text), slowed.text
    assert int(slowed.headers["Retry-After"]) >= 1
    if email == REVIEWER[0]:  # even the right password waits until the lock ends
        refused = login(anonymous, *REVIEWER)
        assert refused.status_code == 429 and "try again in" in refused.text


def test_sessions_end_after_the_idle_limit(reviewer: TestClient,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert reviewer.get("/review").status_code == 200
    now = auth.clock()
    monkeypatch.setattr(auth, "clock", lambda: now + 59 * 60)  # within the hour: extended
    assert reviewer.get("/review").status_code == 200
    monkeypatch.setattr(auth, "clock", lambda: now + 59 * 60 + 61 * 60)
    assert to_login(reviewer.get("/review", follow_redirects=False))


def test_a_disabled_account_is_signed_out(reviewer: TestClient, seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        user = session.query(User).filter_by(email=REVIEWER[0]).one()
        user.active = False
    assert to_login(reviewer.get("/review", follow_redirects=False))


# ------------------------------------------------------------------------------ CSRF
def test_login_form_without_or_with_a_wrong_csrf_token_is_refused(
        anonymous: TestClient) -> None:
    csrf_of(anonymous)
    data = {"email": REVIEWER[0], "password": REVIEWER[1]}
    assert anonymous.post("/review/login", data=data).status_code == 403
    refused = anonymous.post("/review/login", data={**data, "csrf_token": "forged"})
    assert refused.status_code == 403 and "did not come from this site" in refused.text


def test_review_forms_need_the_sessions_csrf_token(reviewer: TestClient, admin: TestClient,
                                                   seeded: Seeded) -> None:
    form = {"tag": str(seeded.tag_id), "note": "checked", "reviewed": "yes"}
    url = f"{C}/answers/{seeded.answer_id}"
    assert reviewer.post(url, data=form).status_code == 403
    assert reviewer.post(url, data={**form, "csrf_token": "x" * 43}).status_code == 403
    # Another user's valid token is still the wrong one for this session.
    other = csrf_of(admin, "/review")
    assert reviewer.post(url, data={**form, "csrf_token": other}).status_code == 403
    page = reviewer.get(f"{C}/q/{OPEN_KEY}").text
    assert "checked</textarea>" not in page  # nothing was saved
    ok = reviewer.post(url, data={**form, "csrf_token": csrf_of(reviewer, "/review")},
                       follow_redirects=False)
    assert ok.status_code == 303
    assert "checked</textarea>" in reviewer.get(f"{C}/q/{OPEN_KEY}").text
    # The header works too (for scripts).
    assert reviewer.post(f"{C}/tags", data={"name": "via header"},
                         headers={"X-CSRF-Token": csrf_of(reviewer, "/review")},
                         follow_redirects=False).status_code == 303


# ------------------------------------------------------------------------------ roles
def test_reviewers_are_refused_admin_pages(reviewer: TestClient, admin: TestClient) -> None:
    token = csrf_of(reviewer, "/review")
    assert reviewer.get(f"{C}/edit").status_code == 403
    assert reviewer.get("/review/admin/consultations/new").status_code == 403
    closed = reviewer.post(f"{C}/close", data={"csrf_token": token})
    assert closed.status_code == 403 and "Only admins" in closed.text
    assert "Edit the questions" not in reviewer.get(C).text
    assert admin.get(f"{C}/edit").status_code == 200
    assert "Edit the questions" in admin.get(C).text


# ------------------------------------------------------------------- every route, both
#: Open to everyone: the public pages, the chat's static files, health and signing in.
PUBLIC = {("/", "GET"), ("/c/{slug}", "GET"), ("/c/{slug}/privacy", "GET"),
          ("/accessibility", "GET"),
          ("/health", "GET"), ("/review/login", "GET"), ("/review/login", "POST")}
PUBLIC_MOUNTS = {"/static", "/static/vendor/socket.io", "/static/vendor/swagger-ui"}


def _path(template: str, seeded: Seeded) -> str:
    values = {"slug": LIBRARY, "key": OPEN_KEY, "answer_id": str(seeded.answer_id),
              "theme_id": str(seeded.theme_id), "participation_id": str(seeded.participation_id),
              "job_id": "no-such-job", "kind": "csv"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "1"), template)


def _admin_gates() -> set[Any]:
    """The dependencies that let admins only: the pages' and the JSON API's."""
    gates: set[Any] = {auth.require_admin}
    try:
        from bot.web.api_auth import api_admin
    except ImportError:  # pragma: no cover - the API is optional for these rules
        return gates
    return gates | {api_admin}


def _needs_admin(dependant: Any) -> bool:
    """Whether an admin-only gate is among the dependencies (at any depth)."""
    return dependant is not None and any(
        d.call in _admin_gates() or _needs_admin(d) for d in dependant.dependencies)


def _routes(app: FastAPI) -> list[tuple[str, str, bool]]:
    """(path, method, admin only) of every route, including those of included routers
    (with the routers' dependencies); fails on a mount nobody reviewed."""
    found = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"unreviewed mount {route.path}"
            continue
        methods = route.methods or set()
        admin_only = isinstance(route.original_route, APIRoute) and _needs_admin(
            route.dependant)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            found.append((route.path or "", method, admin_only))
    # Sign out last: it ends the session the other requests use.
    return sorted(found, key=lambda r: r[0] == "/review/logout")


def _call(client: TestClient, method: str, path: str, token: str | None = None,
          headers: dict[str, str] | None = None) -> Any:
    data = {"csrf_token": token} if token else {}
    if method == "GET":
        return client.get(path, headers=headers, follow_redirects=False)
    return client.request(method, path, data=data, headers=headers, follow_redirects=False)


def test_every_route_follows_the_access_rules(app: FastAPI, anonymous: TestClient,
                                              reviewer: TestClient, seeded: Seeded,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(theme_routes, "recompute_themes", lambda *a, **k: 0)
    with session_scope(seeded.url) as session:
        user = session.query(User).filter_by(email=REVIEWER[0]).one()
        bearer = {"Authorization": f"Bearer {issue_token(session, user, 'route test')}"}
    routes = _routes(app)
    assert len(routes) > 20
    checked: list[str] = []
    for template, method, admin_only in routes:
        path = _path(template, seeded)
        where = f"{method} {template}"
        public = (template, method) in PUBLIC
        # A valid (anonymous) CSRF token: only the sign-in decides.
        response = _call(anonymous, method, path, csrf_of(anonymous))
        if public:
            assert response.status_code not in (401, 403) and not to_login(response), where
        else:
            assert to_login(response) or response.status_code == 401, \
                f"{where} is open to anonymous users ({response.status_code})"
        token = csrf_of(reviewer, "/review")
        response = _call(reviewer, method, path, token, bearer)
        if template == "/review/logout":  # signed out: back to the sign-in page
            assert response.status_code == 303, where
            assert to_login(reviewer.get("/review", follow_redirects=False)), where
        elif admin_only:
            assert response.status_code == 403, f"{where}: reviewers must get 403"
        else:
            assert response.status_code not in (401, 403) and not to_login(response), \
                f"{where} refused a reviewer ({response.status_code})"
        checked.append(where)
    assert f"POST {C.replace(LIBRARY, '{slug}')}/close" in checked
    for mount in PUBLIC_MOUNTS - {"/static/vendor/socket.io", "/static/vendor/swagger-ui"}:
        assert anonymous.get(f"{mount}/site.css").status_code == 200


def test_a_new_unprotected_route_fails_the_rules(app: FastAPI) -> None:
    """The rule check above would catch this route: anonymous users get its page."""
    @app.get("/review/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "data"}

    with TestClient(app) as client:
        response = client.get("/review/forgotten", follow_redirects=False)
    assert not (to_login(response) or response.status_code == 401)
    assert ("/review/forgotten", "GET", False) in _routes(app)


# ------------------------------------------------------------------------------- XSS
def _escaped_everywhere(page: str, where: str) -> None:
    assert SCRIPT not in page and IMG not in page, where
    assert "<img" not in page, where
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, where


@pytest.mark.parametrize("path", [
    f"{C}/q/{OPEN_KEY}", f"{C}/q/{OPEN_KEY}?q=opening", "TRANSCRIPT",
    f"{C}/q/{OPEN_KEY}/themes", "/review/gaps", f"{C}/gaps", C])
def test_hostile_citizen_text_is_shown_as_text(admin: TestClient, seeded: Seeded,
                                               path: str) -> None:
    if path == "TRANSCRIPT":
        path = f"{C}/transcripts/{seeded.participation_id}"
    page = admin.get(path)
    assert page.status_code == 200
    _escaped_everywhere(page.text, path)
    if path != C:  # the consultation page shows the tag, not the answer
        assert LONG in page.text  # the long string is there (and wraps: see the CSS)
        assert "citizen-text" in page.text


def test_long_unbroken_strings_wrap(anonymous: TestClient) -> None:
    css = anonymous.get("/static/review.css").text
    assert "overflow-wrap: anywhere" in css


def test_pages_have_no_inline_script_or_style(admin: TestClient, seeded: Seeded) -> None:
    from tests.unit.test_web_pages import parse

    for path in ("/review", C, f"{C}/q/{OPEN_KEY}", f"{C}/q/{OPEN_KEY}/themes",
                 f"{C}/transcripts", f"{C}/transcripts/{seeded.participation_id}",
                 f"{C}/edit", "/review/gaps", "/review/login"):
        page = parse(admin.get(path).text)
        assert not page.inline_code and page.style_attributes == 0, path
        assert page.event_handlers == 0, path




def test_citizens_get_no_cookie(anonymous: TestClient) -> None:
    for path in ("/", f"/c/{LIBRARY}", f"/c/{LIBRARY}/privacy", "/health"):
        response = anonymous.get(path)
        assert response.status_code == 200, path
        assert "set-cookie" not in response.headers, path
