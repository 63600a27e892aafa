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
    active_admins,
    authenticate,
    change_own_password,
    change_role,
    create_user,
    find_user,
    is_last_active_admin,
    live_token_counts,
    lock_after,
    locked_until,
    set_active,
    set_password,
    unlock,
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


def test_find_user_normalises_the_email(url: str) -> None:
    with session_scope(url) as session:
        made = create_user(session, "Ann@Example.org", "reviewer", GOOD)
        assert find_user(session, "  ANN@example.org ") is made
        assert find_user(session, "bob@example.org") is None
        with pytest.raises(AccountError, match="not an e-mail") as problem:
            find_user(session, "ann")
        assert problem.value.field == "email"


def test_roles_change_but_never_leave_no_active_admin(url: str) -> None:
    with session_scope(url) as session:
        boss = create_user(session, "boss@example.org", "admin", GOOD)
        rev = create_user(session, "rev@example.org", "reviewer", GOOD)
        assert is_last_active_admin(session, boss) and not is_last_active_admin(session, rev)
        with pytest.raises(AccountError, match="last active admin") as problem:
            change_role(session, boss, "reviewer")
        assert problem.value.field == "role"
        with pytest.raises(AccountError, match="role must be one of"):
            change_role(session, rev, "boss")
        assert change_role(session, rev, "admin", by=boss.id)
        assert not change_role(session, rev, "admin", by=boss.id)  # already: no change
        assert active_admins(session) == 2
        with pytest.raises(AccountError, match="cannot change your own role"):
            change_role(session, boss, "reviewer", by=boss.id)
        assert change_role(session, boss, "reviewer", by=rev.id)
        with pytest.raises(AccountError, match="last active admin"):
            change_role(session, rev, "reviewer", by=boss.id)
        assert (boss.role, rev.role) == ("reviewer", "admin")


def test_disabling_revokes_tokens_and_keeps_an_admin(url: str) -> None:
    with session_scope(url) as session:
        boss = create_user(session, "boss@example.org", "admin", GOOD)
        other = create_user(session, "other@example.org", "admin", GOOD)
        token = issue_token(session, other, "scripts")
        issue_token(session, other, "more")
        assert live_token_counts(session) == {other.id: 2}
        with pytest.raises(AccountError, match="cannot disable your own account"):
            set_active(session, boss, False, by=boss.id)
        assert set_active(session, other, False, by=boss.id) == 2
        assert not other.active and live_token_counts(session) == {}
        assert user_for_token(session, token) is None
        with pytest.raises(AccountError, match="last active admin"):
            set_active(session, boss, False, by=other.id)
        assert boss.active
        assert set_active(session, other, True) == 0 and other.active
        assert user_for_token(session, token) is None  # tokens stay revoked
        # The CLI may disable the last admin (it can always create a new one).
        set_active(session, other, False)
        assert set_active(session, boss, False, keep_an_admin=False) == 0
        assert active_admins(session) == 0


def test_a_disabled_admin_does_not_count_as_an_active_one(url: str) -> None:
    with session_scope(url) as session:
        boss = create_user(session, "boss@example.org", "admin", GOOD)
        gone = create_user(session, "gone@example.org", "admin", GOOD)
        gone.active = False
        with pytest.raises(AccountError, match="last active admin"):
            change_role(session, boss, "reviewer", by=gone.id)
        assert change_role(session, gone, "reviewer", by=boss.id)  # demoting a disabled one


def test_unlock_lifts_the_lock_of_failed_sign_ins(url: str) -> None:
    now = datetime.now(UTC)
    with session_scope(url) as session:
        user = create_user(session, "x@example.org", "reviewer", GOOD)
        user.failed_logins, user.locked_until = 7, now + timedelta(minutes=5)
        assert locked_until(user, now) == now + timedelta(minutes=5)
        assert locked_until(user, now + timedelta(minutes=6)) is None
    with session_scope(url) as session:
        user = session.scalars(select(User)).one()
        assert authenticate(session, "x@example.org", GOOD).user is None
        unlock(user)
        assert locked_until(user) is None and user.failed_logins == 0
    with session_scope(url) as session:
        assert authenticate(session, "x@example.org", GOOD).user is not None


NEW = "a brand new passphrase"


@pytest.mark.parametrize(("current", "new", "repeated", "field", "problem"), [
    ("", NEW, NEW, "current", "type your current password"),
    (GOOD, NEW, NEW + "x", "repeated", "not the same"),
    (GOOD, "short", "short", "new", "at least 12"),
    ("wrong password!!", NEW, NEW, "current", "current password is not right"),
    (GOOD, GOOD, GOOD, "new", "must be different"),
])
def test_changing_ones_own_password_is_refused_with_a_reason(
        url: str, current: str, new: str, repeated: str, field: str, problem: str) -> None:
    with session_scope(url) as session:
        create_user(session, "me@example.org", "reviewer", GOOD)
    with session_scope(url) as session:
        me = session.scalars(select(User)).one()
        with pytest.raises(AccountError, match=problem) as refused:
            change_own_password(session, me, current, new, repeated)
        assert refused.value.field == field
    with session_scope(url) as session:  # nothing changed
        assert authenticate(session, "me@example.org", GOOD).user is not None


def test_changing_ones_own_password_works_and_wrong_guesses_are_slowed_down(url: str) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    with session_scope(url) as session:
        me = create_user(session, "me@example.org", "reviewer", GOOD)
        for attempt in range(1, FREE_ATTEMPTS + 1):
            with pytest.raises(AccountError, match="not right") as wrong:
                change_own_password(session, me, "guess number one", NEW, NEW, now)
            assert ("please wait" in str(wrong.value)) == (attempt == FREE_ATTEMPTS)
        with pytest.raises(AccountError, match="try again in 2 seconds"):
            change_own_password(session, me, GOOD, NEW, NEW, now)  # even the right one
        later = now + timedelta(seconds=3)
        change_own_password(session, me, GOOD, NEW, NEW, later)
        assert me.failed_logins == 0 and me.locked_until is None
    with session_scope(url) as session:
        assert authenticate(session, "me@example.org", NEW).user is not None
        assert authenticate(session, "me@example.org", GOOD).user is None


def test_passwords_longer_than_sign_in_reads_are_refused(url: str) -> None:
    with session_scope(url) as session, pytest.raises(AccountError, match="at most 1024"):
        create_user(session, "long@example.org", "reviewer", "ab1-" * 300)


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
    assert "no active admin is left" in disabled.stderr  # allowed, with a warning
    missing = codesign(url, "disable", "nobody@example.org")
    assert missing.returncode == 1 and "no user nobody@example.org" in missing.stderr
    with session_scope(url) as session:
        user = session.scalar(select(User))
        assert user is not None and not user.active
        assert user_for_token(session, token) is None
