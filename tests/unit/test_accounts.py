"""Staff accounts: password hashing, sign-in with slow-down, API tokens, the users CLI."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.accounts.passwords import hash_password, verify_password
from bot.accounts.tokens import issue_token, revoke_tokens, user_for_token
from bot.accounts.users import (
    FREE_ATTEMPTS,
    AccountError,
    authenticate,
    create_user,
    lock_after,
    set_password,
)
from bot.devtools.stack import ROOT
from bot.store.db import migrate, session_scope
from bot.store.review_models import ApiToken, User

GOOD = "correct horse battery"


@pytest.fixture()
def url(sqlite_url: str) -> str:
    migrate(sqlite_url)
    return sqlite_url


def test_passwords_are_salted_argon2id_hashes() -> None:
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, GOOD) and not verify_password(first, GOOD + "!")
    assert not verify_password("not a hash", GOOD)


@pytest.mark.parametrize(("email", "role", "password", "problem"), [
    ("not-an-email", "admin", GOOD, "not an e-mail"),
    ("a@example.org", "boss", GOOD, "role must be one of"),
    ("a@example.org", "admin", "short", "at least 12"),
    ("a@example.org", "admin", "aaaaaaaaaaaaaa", "too simple"),
])
def test_bad_accounts_are_refused_with_a_reason(url: str, email: str, role: str,
                                                 password: str, problem: str) -> None:
    with session_scope(url) as session, pytest.raises(AccountError, match=problem):
        create_user(session, email, role, password)


def test_duplicate_emails_are_refused_whatever_the_case(url: str) -> None:
    with session_scope(url) as session:
        create_user(session, "Ann@Example.org", "admin", GOOD)
    with session_scope(url) as session, pytest.raises(AccountError, match="already exists"):
        create_user(session, " ann@example.ORG ", "reviewer", GOOD)


def test_sign_in_and_failed_logins_are_slowed_down(url: str) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with session_scope(url) as session:
        create_user(session, "rev@example.org", "reviewer", GOOD)
    for attempt in range(1, FREE_ATTEMPTS + 1):
        with session_scope(url) as session:
            result = authenticate(session, "rev@example.org", "wrong password!", now)
            assert result.user is None
            assert (result.locked_for is None) == (attempt < FREE_ATTEMPTS)
    with session_scope(url) as session:  # locked: even the right password is refused
        locked = authenticate(session, "rev@example.org", GOOD, now + timedelta(seconds=1))
        assert locked.user is None and locked.locked_for is not None
    with session_scope(url) as session:  # after the lock, the right password works again
        ok = authenticate(session, "REV@example.org", GOOD, now + timedelta(minutes=1))
        assert ok.user is not None and ok.user.failed_logins == 0
    assert lock_after(FREE_ATTEMPTS - 1) == timedelta(0)
    assert lock_after(FREE_ATTEMPTS + 1) == 2 * lock_after(FREE_ATTEMPTS)
    assert lock_after(100) == timedelta(minutes=15)


def test_unknown_and_disabled_users_cannot_sign_in(url: str) -> None:
    with session_scope(url) as session:
        user = create_user(session, "gone@example.org", "reviewer", GOOD)
        user.active = False
    with session_scope(url) as session:
        assert authenticate(session, "gone@example.org", GOOD).user is None
        assert authenticate(session, "nobody@example.org", GOOD).user is None
        assert authenticate(session, "not an email", GOOD).user is None


def test_set_password_replaces_it_and_unlocks(url: str) -> None:
    with session_scope(url) as session:
        user = create_user(session, "x@example.org", "admin", GOOD)
        user.failed_logins, user.locked_until = 9, datetime.now(UTC) + timedelta(hours=1)
        set_password(session, user, "another good passphrase")
    with session_scope(url) as session:
        assert authenticate(session, "x@example.org", "another good passphrase").user
        assert authenticate(session, "x@example.org", GOOD).user is None


def test_api_tokens_are_stored_hashed_and_can_be_revoked(url: str) -> None:
    with session_scope(url) as session:
        user = create_user(session, "api@example.org", "reviewer", GOOD)
        token = issue_token(session, user, "R scripts")
    with session_scope(url) as session:
        assert token not in {row.token_hash for row in session.scalars(select(ApiToken))}
        found = user_for_token(session, token)
        assert found is not None and found.email == "api@example.org"
        assert user_for_token(session, token + "x") is None
        assert user_for_token(session, "garbage") is None
        assert revoke_tokens(session, found) == 1
    with session_scope(url) as session:
        assert user_for_token(session, token) is None


def codesign(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / ".venv/bin/codesign"), "users", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin",
                               "CODESIGN_SECRET_KEY": "test-secret-key-0123456789abcdef"})


def test_users_cli_creates_lists_issues_tokens_and_disables(url: str) -> None:
    made = codesign(url, "create", "boss@example.org", "--role", "admin", "--password-stdin",
                    stdin=GOOD + "\n")
    assert made.returncode == 0, made.stderr
    assert "created admin boss@example.org" in made.stdout
    weak = codesign(url, "create", "w@example.org", "--password-stdin", stdin="short\n")
    assert weak.returncode == 1 and "at least 12" in weak.stderr
    no_tty = codesign(url, "create", "t@example.org")
    assert no_tty.returncode == 1 and "--password-stdin" in no_tty.stderr
    listed = codesign(url, "list")
    assert "boss@example.org" in listed.stdout and "admin" in listed.stdout
    token = codesign(url, "token", "boss@example.org", "--name", "analysis").stdout.strip()
    assert token.startswith("cdsn_")
    disabled = codesign(url, "disable", "boss@example.org")
    assert "revoked 1 API token" in disabled.stdout
    missing = codesign(url, "disable", "nobody@example.org")
    assert missing.returncode == 1 and "no user nobody@example.org" in missing.stderr
    with session_scope(url) as session:
        user = session.scalar(select(User))
        assert user is not None and not user.active
        assert user_for_token(session, token) is None
