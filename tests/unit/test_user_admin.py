"""Managing staff accounts in the browser: the admins' users pages (list, add, role,
disable/enable, reset password, unlock, guard rails) and everyone's own password change
(FastAPI TestClient, SQLite)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.accounts.passwords import verify_password
from bot.accounts.tokens import issue_token, user_for_token
from bot.accounts.users import live_token_counts
from bot.store.db import session_scope
from bot.store.review_models import User
from tests.unit.review_web_support import (
    ADMIN,
    IMG,
    REVIEWER,
    SCRIPT,
    Seeded,
    csrf_of,
    login,
    signed_in,
)

USERS = "/review/admin/users"
ACCOUNT = "/review/account/password"
NEW_PASSWORD = "a fresh passphrase 42"


def user_id(seeded: Seeded, email: str) -> int:
    with session_scope(seeded.url) as session:
        return session.query(User).filter_by(email=email).one().id


def stored(seeded: Seeded, email: str) -> dict[str, Any]:
    """A plain copy of a user's row."""
    with session_scope(seeded.url) as session:
        user = session.query(User).filter_by(email=email).one()
        return {"role": user.role, "active": user.active, "failed": user.failed_logins,
                "locked_until": user.locked_until, "hash": user.password_hash}


def post(client: TestClient, path: str, **form: str) -> Any:
    """A form sent with the session's CSRF token (redirects not followed)."""
    return client.post(path, data={**form, "csrf_token": csrf_of(client, "/review")},
                       follow_redirects=False)


def can_sign_in(app: FastAPI, email: str, password: str) -> bool:
    with TestClient(app) as client:
        return bool(login(client, email, password).status_code == 303)


def flashed(client: TestClient, response: Any) -> str:
    """The page a form's redirect leads to (where its flash message is shown)."""
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"]).text


class _Form(HTMLParser):
    """Ids, label targets, visible inputs and aria-describedby references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.inputs: list[dict[str, str]] = []
        self.described_by: list[str] = []
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "label":
            self.in_label += 1
            if "for" in values:
                self.label_for.add(values["for"])
        if tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.inputs.append({**values, "wrapped": "yes" if self.in_label else ""})
        self.described_by += values.get("aria-describedby", "").split()

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


def assert_accessible_form(html: str) -> None:
    """Every field has a label; every aria-describedby points at something on the page."""
    page = _Form()
    page.feed(html)
    for field in page.inputs:
        assert field["wrapped"] or field.get("id") in page.label_for, field
    assert set(page.described_by) <= page.ids, set(page.described_by) - page.ids


# ---------------------------------------------------------------------------- listing
def test_admins_see_every_user_in_an_accessible_table(admin: TestClient,
                                                      seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        rev = session.query(User).filter_by(email=REVIEWER[0]).one()
        issue_token(session, rev, "R scripts")
        issue_token(session, rev, "notebook")
        rev.locked_until = datetime.now(UTC) + timedelta(minutes=5)
    page = admin.get(USERS)
    assert page.status_code == 200
    html = page.text
    assert "<caption>" in html and '<th scope="col">Role</th>' in html
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r'<tr>\s*<th scope="row"[^>]*><a href="/review/admin/users/\d+">([^<]+)</a>.*?</tr>',
        html, flags=re.DOTALL)}
    assert set(rows) == {ADMIN[0], REVIEWER[0]}
    assert "(you)" in rows[ADMIN[0]] and "(you)" not in rows[REVIEWER[0]]
    assert "<td>reviewer</td>" in rows[REVIEWER[0]] and "<td>active</td>" in rows[REVIEWER[0]]
    assert re.search(r'<td class="num">2</td>', rows[REVIEWER[0]])
    assert "until <time" in rows[REVIEWER[0]]
    assert re.search(r"<time[^>]*>\d{4}-\d\d-\d\d", rows[ADMIN[0]])  # signed in just now
    assert 'href="/review/admin/users"' in html  # the nav link
    assert_accessible_form(html)


def test_the_nav_shows_users_to_admins_and_change_password_to_everyone(
        admin: TestClient, reviewer: TestClient) -> None:
    admin_page, reviewer_page = admin.get("/review").text, reviewer.get("/review").text
    assert f'href="{USERS}"' in admin_page and f'href="{USERS}"' not in reviewer_page
    assert f'href="{ACCOUNT}"' in admin_page and f'href="{ACCOUNT}"' in reviewer_page


# ----------------------------------------------------------------------------- adding
def test_an_admin_adds_a_user_who_can_then_sign_in(admin: TestClient, app: FastAPI,
                                                   seeded: Seeded) -> None:
    response = post(admin, USERS, email="  New.Person@Council.EXAMPLE ", role="reviewer",
                    password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert response.headers["location"] == USERS
    page = flashed(admin, response)
    assert "Added new.person@council.example as reviewer." in page
    assert "new.person@council.example</a>" in page
    assert stored(seeded, "new.person@council.example")["role"] == "reviewer"
    assert can_sign_in(app, "new.person@council.example", NEW_PASSWORD)


@pytest.mark.parametrize(("form", "message", "field"), [
    ({"email": "not an address"}, "Not an e-mail address: &#39;not an address&#39;.",
     "new-email"),
    ({"password": "short", "password_again": "short"},
     "The password must have at least 12 characters.", "new-password"),
    ({"password": "aaaaaaaaaaaaaaaa", "password_again": "aaaaaaaaaaaaaaaa"},
     "The password is too simple", "new-password"),
    ({"password_again": NEW_PASSWORD + "!"}, "The two passwords are not the same.",
     "new-password-again"),
    ({"email": " ADMIN@council.example"},
     f"A user with e-mail {ADMIN[0]} already exists.", "new-email"),
    ({"role": "boss"}, "Role must be one of admin, reviewer, not &#39;boss&#39;.", None),
])
def test_bad_new_users_are_explained_on_the_same_page(admin: TestClient, seeded: Seeded,
                                                      form: dict[str, str], message: str,
                                                      field: str | None) -> None:
    sent = {"email": "someone@council.example", "role": "admin", "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD, **form}
    page = post(admin, USERS, **sent)
    assert page.status_code == 400
    assert message in page.text
    assert '<p class="flash flash-error" role="alert" id="add-error">' in page.text
    assert "<title>Error: Users" in page.text
    typed = sent["email"].replace("'", "&#39;")
    assert f'value="{typed}"' in page.text  # what was typed is kept ...
    assert sent["password"] not in page.text  # ... but never the password
    if field:
        tag = re.search(rf'<input id="{field}"[^>]*>', page.text)
        assert tag and 'aria-invalid="true"' in tag.group(0), field
        assert "add-error" in tag.group(0)
    if sent["role"] == "admin":  # the chosen role stays chosen
        assert re.search(r'value="admin" checked', page.text)
    assert_accessible_form(page.text)
    with session_scope(seeded.url) as session:
        assert session.query(User).count() == 2  # nothing added


def test_hostile_email_like_text_is_shown_as_text(admin: TestClient, seeded: Seeded) -> None:
    hostile = f"{SCRIPT}@x.example"  # a valid-looking address, shown as text
    made = post(admin, USERS, email=hostile, role="reviewer", password=NEW_PASSWORD,
                password_again=NEW_PASSWORD)
    pages = [flashed(admin, made), admin.get(f"{USERS}/{user_id(seeded, hostile)}").text]
    refused = post(admin, USERS, email=IMG, role="reviewer", password=NEW_PASSWORD,
                   password_again=NEW_PASSWORD)
    assert refused.status_code == 400
    pages.append(refused.text)
    for page in pages:
        assert SCRIPT not in page and IMG not in page and "<img" not in page
        assert "&lt;script&gt;" in page or "&lt;img" in page


# ------------------------------------------------------------------ changing a user
def test_an_admin_changes_a_role_and_it_takes_effect_at_once(
        admin: TestClient, reviewer: TestClient, seeded: Seeded) -> None:
    assert reviewer.get(USERS).status_code == 403
    target = f"{USERS}/{user_id(seeded, REVIEWER[0])}"
    page = flashed(admin, post(admin, f"{target}/role", role="admin"))
    assert f"{REVIEWER[0]} is now admin." in page
    assert stored(seeded, REVIEWER[0])["role"] == "admin"
    assert reviewer.get(USERS).status_code == 200  # no new sign-in needed
    again = flashed(admin, post(admin, f"{target}/role", role="admin"))
    assert "was already admin: nothing changed." in again
    back = flashed(admin, post(admin, f"{target}/role", role="reviewer"))
    assert f"{REVIEWER[0]} is now reviewer." in back
    assert reviewer.get(USERS).status_code == 403


def test_disabling_signs_out_revokes_tokens_and_enabling_lets_in_again(
        admin: TestClient, reviewer: TestClient, app: FastAPI, seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        rev = session.query(User).filter_by(email=REVIEWER[0]).one()
        token = issue_token(session, rev, "scripts")
    target = f"{USERS}/{user_id(seeded, REVIEWER[0])}"
    assert "Disable reviewer@council.example" in admin.get(target).text
    page = flashed(admin, post(admin, f"{target}/disable"))
    assert f"Disabled {REVIEWER[0]}: they can no longer sign in. Revoked 1 API token." in page
    assert "Enable reviewer@council.example" in page
    assert stored(seeded, REVIEWER[0])["active"] is False
    with session_scope(seeded.url) as session:
        assert user_for_token(session, token) is None and live_token_counts(session) == {}
    signed_out = reviewer.get("/review", follow_redirects=False)
    assert signed_out.status_code == 303 and "/review/login" in signed_out.headers["location"]
    assert not can_sign_in(app, *REVIEWER)
    assert "<td>disabled</td>" in admin.get(USERS).text
    page = flashed(admin, post(admin, f"{target}/enable"))
    assert f"Enabled {REVIEWER[0]}: they can sign in again." in page
    assert can_sign_in(app, *REVIEWER)
    with session_scope(seeded.url) as session:
        assert user_for_token(session, token) is None  # old tokens stay revoked


def signed_out(client: TestClient) -> bool:
    """Whether the browser's session has ended (review pages send it to sign in)."""
    response = client.get("/review", follow_redirects=False)
    return bool(response.status_code == 303
                and response.headers["location"].startswith("/review/login"))


def test_resetting_a_password_replaces_it_and_lifts_the_lock(
        admin: TestClient, reviewer: TestClient, app: FastAPI, seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        rev = session.query(User).filter_by(email=REVIEWER[0]).one()
        rev.failed_logins, rev.locked_until = 8, datetime.now(UTC) + timedelta(minutes=10)
    target = f"{USERS}/{user_id(seeded, REVIEWER[0])}"
    weak = post(admin, f"{target}/password", password="short", password_again="short")
    assert weak.status_code == 400
    assert "The password must have at least 12 characters." in weak.text
    tag = re.search(r'<input id="reset-password"[^>]*>', weak.text)
    assert tag and "user-error" in tag.group(0) and 'aria-invalid="true"' in tag.group(0)
    assert_accessible_form(weak.text)
    differ = post(admin, f"{target}/password", password=NEW_PASSWORD,
                  password_again=NEW_PASSWORD + "x")
    assert differ.status_code == 400 and "The two passwords are not the same." in differ.text
    assert stored(seeded, REVIEWER[0])["failed"] == 8  # nothing changed yet
    page = flashed(admin, post(admin, f"{target}/password", password=NEW_PASSWORD,
                               password_again=NEW_PASSWORD))
    assert f"Set a new password for {REVIEWER[0]} and lifted the sign-in lock." in page
    assert signed_out(reviewer)  # whoever knew the old password is out
    assert not signed_out(admin)
    assert can_sign_in(app, REVIEWER[0], NEW_PASSWORD)
    assert not can_sign_in(app, *REVIEWER)


def test_unlocking_lets_a_locked_out_user_sign_in(admin: TestClient, app: FastAPI,
                                                  seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        rev = session.query(User).filter_by(email=REVIEWER[0]).one()
        rev.failed_logins, rev.locked_until = 9, datetime.now(UTC) + timedelta(minutes=15)
    target = f"{USERS}/{user_id(seeded, REVIEWER[0])}"
    with TestClient(app) as client:
        assert login(client, *REVIEWER).status_code == 429
    details = admin.get(target).text
    assert "Sign-in is refused until" in details and "9 failed attempts" in details
    page = flashed(admin, post(admin, f"{target}/unlock"))
    assert f"Unlocked {REVIEWER[0]}: they can sign in again at once." in page
    assert stored(seeded, REVIEWER[0])["locked_until"] is None
    assert can_sign_in(app, *REVIEWER)


def test_an_unknown_user_is_not_found(admin: TestClient) -> None:
    assert admin.get(f"{USERS}/9999").status_code == 404
    assert post(admin, f"{USERS}/9999/disable").status_code == 404
    assert admin.get(f"{USERS}/99999999999999999999").status_code == 404


# --------------------------------------------------------------------- guard rails
def test_the_last_admin_cannot_be_demoted_or_disabled(admin: TestClient,
                                                      seeded: Seeded) -> None:
    me = f"{USERS}/{user_id(seeded, ADMIN[0])}"
    own = admin.get(me).text
    assert "This is your own account" in own
    assert f'action="{me}/disable"' not in own and f'action="{me}/role"' not in own
    for action, form in (("role", {"role": "reviewer"}), ("disable", {})):
        refused = post(admin, f"{me}/{action}", **form)
        assert refused.status_code == 400, action
        verb = "demoted" if action == "role" else "disabled"
        assert (f"The last active admin ({ADMIN[0]}) cannot be {verb}: nobody would be left "
                "to manage users (make another user an admin first)." in refused.text), action
        assert 'role="alert"' in refused.text
    assert stored(seeded, ADMIN[0]) | {"hash": ""} == {
        "role": "admin", "active": True, "failed": 0, "locked_until": None, "hash": ""}


def test_an_admin_cannot_demote_or_disable_themselves(admin: TestClient, app: FastAPI,
                                                      seeded: Seeded) -> None:
    other = f"{USERS}/{user_id(seeded, REVIEWER[0])}"
    assert post(admin, f"{other}/role", role="admin").status_code == 303  # two admins now
    me = f"{USERS}/{user_id(seeded, ADMIN[0])}"
    demote = post(admin, f"{me}/role", role="reviewer")
    assert demote.status_code == 400
    assert "You cannot change your own role: ask another admin." in demote.text
    disable = post(admin, f"{me}/disable")
    assert disable.status_code == 400
    assert "You cannot disable your own account: ask another admin." in disable.text
    own_reset = post(admin, f"{me}/password", password=NEW_PASSWORD,
                     password_again=NEW_PASSWORD)
    assert own_reset.headers["location"] == ACCOUNT  # it asks for the current password
    assert "it asks for your current one" in admin.get(ACCOUNT).text
    mine = stored(seeded, ADMIN[0])
    assert mine["role"] == "admin" and mine["active"] is True
    assert can_sign_in(app, *ADMIN)


# ---------------------------------------------------------------------- access rules
def _users_routes(seeded: Seeded) -> list[tuple[str, str]]:
    target = f"{USERS}/{user_id(seeded, REVIEWER[0])}"
    return [("GET", USERS), ("POST", USERS), ("GET", target)] + [
        ("POST", f"{target}/{action}")
        for action in ("role", "disable", "enable", "password", "unlock")]


def test_reviewers_get_403_on_every_users_route(reviewer: TestClient,
                                                seeded: Seeded) -> None:
    before = stored(seeded, REVIEWER[0])
    for method, path in _users_routes(seeded):
        form = {"csrf_token": csrf_of(reviewer, "/review"), "role": "admin",
                "email": "sneaky@council.example", "password": NEW_PASSWORD,
                "password_again": NEW_PASSWORD}
        response = (reviewer.get(path) if method == "GET"
                    else reviewer.post(path, data=form, follow_redirects=False))
        assert response.status_code == 403, (method, path)
        assert "Only admins" in response.text
    assert stored(seeded, REVIEWER[0]) == before


def test_anonymous_browsers_are_sent_to_sign_in(anonymous: TestClient,
                                                seeded: Seeded) -> None:
    for method, path in [*_users_routes(seeded), ("GET", ACCOUNT), ("POST", ACCOUNT)]:
        form = {"csrf_token": csrf_of(anonymous)}
        response = (anonymous.get(path, follow_redirects=False) if method == "GET"
                    else anonymous.post(path, data=form, follow_redirects=False))
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/review/login"), (method, path)


def test_forms_without_the_csrf_token_are_refused(admin: TestClient, reviewer: TestClient,
                                                  app: FastAPI, seeded: Seeded) -> None:
    target = f"{USERS}/{user_id(seeded, REVIEWER[0])}"
    csrf_of(admin, "/review")
    refused = [
        admin.post(USERS, data={"email": "x@council.example", "role": "admin",
                                "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}),
        admin.post(f"{target}/role", data={"role": "admin"}),
        admin.post(f"{target}/disable", data={"csrf_token": "forged"}),
        admin.post(f"{target}/password", data={"password": NEW_PASSWORD,
                                               "password_again": NEW_PASSWORD}),
        reviewer.post(ACCOUNT, data={"current": REVIEWER[1], "new": NEW_PASSWORD,
                                     "repeated": NEW_PASSWORD}),
    ]
    for response in refused:
        assert response.status_code == 403 and "did not come from this site" in response.text
    assert stored(seeded, REVIEWER[0])["role"] == "reviewer"
    assert stored(seeded, REVIEWER[0])["active"] is True
    assert can_sign_in(app, *REVIEWER)
    with session_scope(seeded.url) as session:
        assert session.query(User).count() == 2


# --------------------------------------------------------------- one's own password
def test_changing_ones_own_password_needs_the_current_one(reviewer: TestClient,
                                                          app: FastAPI) -> None:
    page = reviewer.get(ACCOUNT)
    assert page.status_code == 200 and "<h1>Change your password</h1>" in page.text
    assert 'autocomplete="current-password"' in page.text
    assert_accessible_form(page.text)
    wrong = post(reviewer, ACCOUNT, current="not my password", new=NEW_PASSWORD,
                 repeated=NEW_PASSWORD)
    assert wrong.status_code == 400
    assert "The current password is not right." in wrong.text
    tag = re.search(r'<input id="current-password"[^>]*>', wrong.text)
    assert tag and 'aria-describedby="password-error"' in tag.group(0)
    assert "not my password" not in wrong.text and NEW_PASSWORD not in wrong.text
    assert_accessible_form(wrong.text)
    mismatch = post(reviewer, ACCOUNT, current=REVIEWER[1], new=NEW_PASSWORD,
                    repeated=NEW_PASSWORD + "!")
    assert mismatch.status_code == 400
    assert "The two new passwords are not the same." in mismatch.text
    weak = post(reviewer, ACCOUNT, current=REVIEWER[1], new="short", repeated="short")
    assert weak.status_code == 400 and "at least 12 characters" in weak.text
    assert can_sign_in(app, *REVIEWER)  # nothing changed
    elsewhere = signed_in(app, REVIEWER)
    done = post(reviewer, ACCOUNT, current=REVIEWER[1], new=NEW_PASSWORD,
                repeated=NEW_PASSWORD)
    assert done.headers["location"] == "/review"
    assert "Your password has been changed" in flashed(reviewer, done)
    assert not signed_out(reviewer)  # this session goes on
    assert signed_out(elsewhere)  # one signed in with the old password ends
    assert can_sign_in(app, REVIEWER[0], NEW_PASSWORD)
    assert not can_sign_in(app, *REVIEWER)


def test_changes_are_stored_before_the_redirect_is_sent(app: FastAPI, seeded: Seeded) -> None:
    """A browser follows a redirect at once: what a form changed must be in the store when
    the response starts, not only after it (a password just changed that still looked old
    would end the session that changed it; an added user would be missing from the list)."""
    seen: list[tuple[str, int, dict[str, Any]]] = []

    async def watching(scope: Any, receive: Any, send: Any) -> None:
        async def spy(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["method"] == "POST":
                with session_scope(seeded.url) as session:
                    users = {u.email: u.password_hash for u in session.query(User)}
                seen.append((scope["path"], message["status"], users))
            await send(message)
        await app(scope, receive, spy)

    browser = TestClient(watching)
    assert login(browser, *ADMIN).status_code == 303
    post(browser, USERS, email="new@council.example", role="reviewer",
         password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    post(browser, ACCOUNT, current=ADMIN[1], new=NEW_PASSWORD + "!", repeated=NEW_PASSWORD + "!")
    _login, (added, status, users), (changed, status_2, after) = seen
    assert (added, status) == (USERS, 303) and "new@council.example" in users
    assert (changed, status_2) == (ACCOUNT, 303)
    assert verify_password(after[ADMIN[0]], NEW_PASSWORD + "!")
    assert not signed_out(browser)  # the next page sees the new password: still signed in


def test_an_admin_changes_their_own_password_too(admin: TestClient, app: FastAPI) -> None:
    done = post(admin, ACCOUNT, current=ADMIN[1], new=NEW_PASSWORD, repeated=NEW_PASSWORD)
    assert done.status_code == 303
    assert can_sign_in(app, ADMIN[0], NEW_PASSWORD)


def test_new_pages_have_no_inline_script_or_style(admin: TestClient, seeded: Seeded) -> None:
    from tests.unit.test_web_pages import parse

    for path in (USERS, f"{USERS}/{user_id(seeded, REVIEWER[0])}",
                 f"{USERS}/{user_id(seeded, ADMIN[0])}", ACCOUNT):
        page = parse(admin.get(path).text)
        assert not page.inline_code and page.style_attributes == 0, path
        assert page.event_handlers == 0, path
