"""The audit trail: recording, the append-only table (SQLite and PostgreSQL refuse UPDATE,
DELETE and TRUNCATE), filters and pages, the CSV and JSON downloads, and the CLI's
hooks and ``codesign audit list``."""

from __future__ import annotations

import csv
import getpass
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner, Result

from bot.audit.download import write_csv, write_json
from bot.audit.query import AuditFilter, entries, page, parse_action
from bot.audit.trail import LABELS, Action, Actor, record
from bot.cli.main import app as cli_app
from bot.store.audit_models import AuditEntry
from bot.store.db import engine_for, migrate, session_scope

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


def add(url: str, action: Action, target: str, actor: str = "a@council.example",
        at: datetime = DAY, **detail: str | int) -> None:
    """An entry at a chosen time (the app itself always records the present)."""
    with session_scope(url) as session:
        entry = record(session, Actor(actor, 7), action, target, **detail)
        entry.at = at


def stored(url: str) -> list[tuple[str, str, str]]:
    with session_scope(url) as session:
        return [(e.actor, e.action, e.target) for e in
                session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# ----------------------------------------------------------------------------- recording
def test_every_action_has_a_label_and_a_dotted_name() -> None:
    assert set(LABELS) == set(Action)
    assert all("." in action.value and len(action.value) <= 40 for action in Action)
    assert parse_action("user.create") is Action.USER_CREATE
    assert parse_action("user.delete") is None and parse_action("") is None


def test_record_keeps_small_clean_facts_and_refuses_anything_else(sqlite_url: str) -> None:
    migrate(sqlite_url)
    with session_scope(sqlite_url) as session:
        record(session, Actor.staff(type("U", (), {"id": 3, "email": "x@c.example"})()),
               Action.SIGN_IN_FAILED, "evil\x00\x1b[31m@x\u202e" + "y" * 400,
               note="a\nb" * 200, locked=True, count=2, share=0.5, none=None)
        with pytest.raises(ValueError):
            record(session, Actor.cli(), "user.delete")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            record(session, Actor.cli(), Action.EXPORT, "x", rows=[1, 2])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            record(session, Actor.cli(), Action.EXPORT, "x", **{f"k{n}": n for n in range(13)})
    with session_scope(sqlite_url) as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.actor_id, entry.action) == ("x@c.example", 3,
                                                            "auth.sign_in_failed")
    assert entry.target.startswith("evil[31m@x") and len(entry.target) == 300
    assert all(ch.isprintable() for ch in entry.target)
    assert entry.detail is not None
    assert len(entry.detail["note"]) == 200 and "\n" not in entry.detail["note"]
    assert {k: entry.detail[k] for k in ("locked", "count", "share", "none")} == {
        "locked": True, "count": 2, "share": 0.5, "none": None}
    assert Actor.cli().name == f"cli:{getpass.getuser()}" and Actor.system().name == "system"


def test_the_table_is_append_only_in_the_database(database_url: str) -> None:
    migrate(database_url)
    add(database_url, Action.USER_CREATE, "someone@council.example")
    for statement in (update(AuditEntry).values(target="rewritten"), delete(AuditEntry)):
        with pytest.raises(DBAPIError, match="append-only"), \
                session_scope(database_url) as session:
            session.execute(statement)
    with pytest.raises(DBAPIError, match="append-only"), session_scope(database_url) as session:
        session.delete(session.scalars(select(AuditEntry)).one())  # the ORM way too
    if engine_for(database_url).dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), \
                engine_for(database_url).begin() as connection:
            connection.execute(text("TRUNCATE audit_entries"))
    assert stored(database_url) == [("a@council.example", "user.create",
                                     "someone@council.example")]


# ----------------------------------------------------------------------------- reading
def test_filters_and_pages(database_url: str) -> None:
    migrate(database_url)
    add(database_url, Action.SIGN_IN, "", "Admin@Council.example", DAY - timedelta(days=2))
    add(database_url, Action.EXPORT, "library-hours-2027", "admin@council.example",
        DAY - timedelta(days=1), format="csv")
    add(database_url, Action.EXPORT, "park_100%", "cli:ops", DAY)
    add(database_url, Action.USER_ROLE, "r@council.example", "admin@council.example",
        DAY + timedelta(hours=11, minutes=59), role="admin")
    add(database_url, Action.SIGN_IN_FAILED, "nobody@x", "anonymous", DAY + timedelta(days=1))

    def targets(**chosen: object) -> list[str]:
        with session_scope(database_url) as session:
            rows, total = page(session, AuditFilter(**chosen))  # type: ignore[arg-type]
            assert total == len(rows)
            return [row.target for row in rows]

    assert targets() == ["nobody@x", "r@council.example", "park_100%", "library-hours-2027", ""]
    assert targets(action=Action.EXPORT) == ["park_100%", "library-hours-2027"]
    assert targets(who="ADMIN@") == ["r@council.example", "library-hours-2027", ""]
    assert targets(who="cli:") == ["park_100%"]
    assert targets(target="100%") == ["park_100%"]  # % is a character, not a wildcard
    assert targets(target="_") == ["park_100%"]
    assert targets(since=DAY.date(), until=DAY.date()) == ["r@council.example", "park_100%"]
    assert targets(since=DAY.date() + timedelta(days=1)) == ["nobody@x"]
    assert targets(until=DAY.date() - timedelta(days=2)) == [""]
    with session_scope(database_url) as session:
        first, total = page(session, AuditFilter(), 1, size=2)
        third, _ = page(session, AuditFilter(), 3, size=2)
    assert total == 5 and [r.target for r in first] == ["nobody@x", "r@council.example"]
    assert [r.target for r in third] == [""]
    assert AuditFilter(action=Action.EXPORT, since=date(2027, 3, 1), who="a").as_query() == {
        "action": "export.download", "who": "a", "since": "2027-03-01"}


def test_every_entry_is_read_once_in_batches_even_at_the_same_moment(sqlite_url: str) -> None:
    migrate(sqlite_url)
    for n in range(7):
        add(sqlite_url, Action.EXPORT, f"c{n}", at=DAY if n < 5 else DAY + timedelta(hours=1))
    with session_scope(sqlite_url) as session:
        seen = [e.target for e in entries(session, AuditFilter(), batch=2)]
        assert [e.target for e in entries(session, AuditFilter(target="c6"), batch=2)] == ["c6"]
    assert seen == ["c6", "c5", "c4", "c3", "c2", "c1", "c0"]


def test_downloads_are_complete_and_safe_in_spreadsheets(sqlite_url: str) -> None:
    migrate(sqlite_url)
    add(sqlite_url, Action.SIGN_IN_FAILED, "=HYPERLINK(\"http://x\")", "anonymous",
        locked=False)  # type: ignore[arg-type]
    add(sqlite_url, Action.EXPORT, "library-hours-2027", at=DAY + timedelta(minutes=1),
        format="csv", via="web")
    out, as_json, empty = io.StringIO(), io.StringIO(), io.StringIO()
    with session_scope(sqlite_url) as session:
        assert write_csv(session, AuditFilter(), out) == 2
        assert write_json(session, AuditFilter(action=Action.SIGN_IN_FAILED), as_json) == 1
        assert write_json(session, AuditFilter(who="nobody"), empty) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["action"] for r in rows] == ["export.download", "auth.sign_in_failed"]
    assert rows[0]["at"] == "2027-03-10T12:01:00+00:00" and rows[0]["actor_id"] == "7"
    assert json.loads(rows[0]["detail"]) == {"format": "csv", "via": "web"}
    assert rows[1]["target"] == "'=HYPERLINK(\"http://x\")"  # never run as a formula
    [only] = json.loads(as_json.getvalue())
    assert only["target"] == "=HYPERLINK(\"http://x\")"  # JSON keeps the text as it was
    assert only["detail"] == {"locked": False} and only["actor"] == "anonymous"
    assert json.loads(empty.getvalue()) == []


# ----------------------------------------------------------------------------- the CLI
@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CODESIGN_VAR_DIR", str(tmp_path / "var"))
    return sqlite_url


def run(*args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli_app, list(args), input=input)
    return result


def test_cli_commands_are_recorded_and_listed(db: str, tmp_path: Path) -> None:
    me = f"cli:{getpass.getuser()}"
    library = str(ROOT / "consultations" / "library-hours-2027.yml")
    steps = [
        (["users", "create", "boss@council.example", "--role", "admin", "--password-stdin"],
         "a long enough password 1\n"),
        (["users", "set-password", "boss@council.example", "--password-stdin"],
         "another long password 2\n"),
        (["users", "token", "boss@council.example", "--name", "nightly report"], None),
        (["users", "revoke-token", "boss@council.example", "1"], None),
        (["users", "disable", "boss@council.example"], None),
        (["consultations", "launch", library], None),
        (["consultations", "close", "library-hours-2027"], None),
        (["export", "library-hours-2027", "--format", "csv"], None),
        (["privacy", "purge"], None),
        (["privacy", "purge", "--dry-run"], None),  # counts only: not recorded
        (["consultations", "close", "no-such-consultation"], None),  # failed: not recorded
    ]
    for args, stdin in steps:
        result = run(*args, input=stdin)
        assert result.exit_code == (1 if "no-such-consultation" in args else 0), \
            (args, result.output)
    listed = run("audit", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert {row["actor"] for row in rows} == {me}
    assert [(row["action"], row["target"]) for row in reversed(rows)] == [
        ("user.create", "boss@council.example"),
        ("user.password_reset", "boss@council.example"),
        ("token.create", "nightly report"),
        ("token.revoke", "nightly report"),
        ("user.disable", "boss@council.example"),
        ("consultation.launch", "library-hours-2027"),
        ("consultation.close", "library-hours-2027"),
        ("export.download", "library-hours-2027"),
        ("privacy.purge", "retention"),
    ]
    assert rows[1]["detail"] == {"format": "csv", "via": "cli"}
    assert rows[3]["detail"] == {"new_version": True, "version": 1}
    assert "cdsn_" not in listed.stdout  # the token itself is never recorded
    assert "long enough password" not in listed.stdout
    assert "another long password" not in listed.stdout
    only = run("audit", "list", "--action", "user.create")
    assert only.exit_code == 0 and "boss@council.example" in only.stdout
    assert len(only.stdout.strip().splitlines()) == 1
    assert run("audit", "list", "--since", "2999-01-01").stdout.strip() == \
        "No audit entry matches."
    bad = run("audit", "list", "--action", "user.delete")
    assert bad.exit_code == 2 and "user.create" in bad.output  # the choices are listed
    bad_day = run("audit", "list", "--since", "10/03/2027")
    assert bad_day.exit_code == 2 and "%Y-%m-%d" in bad_day.output
    assert "audit" in run("--help").stdout
