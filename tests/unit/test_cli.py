"""Unit tests for the ``codesign`` command line (bot.cli), on a fresh SQLite database."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli.main import app
from bot.export import CSV_COLUMNS
from bot.store import repository as repo
from bot.store.db import session_scope
from bot.store.pseudonym import participant_key

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "consultations"

SMALL = """\
slug: {slug}
title: {title}
agency: Test Council
service: Testing
kind: co-design
summary: A small consultation.
outcome: We will publish what we heard.
{dates}questions:
  - id: colour
    type: single_choice
    text: Which colour should the benches be?
    options: [Red, Green, Blue]
  - id: extras
    type: multi_choice
    text: What else would you like?
    options: [Shade, Bins, Water]
"""

BAD = """\
slug: bad-one
title: A bad consultation
agency: Test Council
service: Testing
kind: co-design
summary: A bad one.
outcome: We will publish what we heard.
questions:
  - id: colour
    type: single_choice
    text: Which colour?
    options: [Red]
"""


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    return sqlite_url


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def write(folder: Path, slug: str = "benches", title: str = "New benches",
          dates: str = "") -> Path:
    path = folder / f"{slug}.yml"
    path.write_text(SMALL.format(slug=slug, title=title, dates=dates), encoding="utf-8")
    return path


def versions(url: str, slug: str) -> list[int]:
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, slug)
        return [v.number for v in consultation.versions] if consultation else []


# --------------------------------------------------------------------------- help


def test_help_lists_the_commands(db: str) -> None:
    result = run("--help")
    assert result.exit_code == 0, result.output
    commands = set(re.findall(r"^\W? +([a-z]+) {2,}\S", result.stdout, flags=re.MULTILINE))
    assert commands == {"consultations", "knowledge", "privacy", "export", "chat", "migrate",
                        "telegram", "users", "ops", "audit", "backup", "restore", "responses"}


def test_no_arguments_shows_help(db: str) -> None:
    result = run()
    assert "Usage:" in result.output
    assert "migrate" in result.output and "export" in result.output


def test_consultations_help_lists_its_commands(db: str) -> None:
    result = run("consultations", "--help")
    assert result.exit_code == 0, result.output
    commands = set(re.findall(r"^\W? +([a-z]+) {2,}\S", result.stdout, flags=re.MULTILINE))
    assert commands == {"validate", "launch", "list", "close"}


def test_migrate_creates_the_schema(db: str) -> None:
    result = run("migrate")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "database is up to date"
    assert Path(db.removeprefix("sqlite:///")).is_file()
    with session_scope(db) as session:
        assert repo.list_consultations(session) == []


def test_chat_quits_at_end_of_input(db: str) -> None:
    result = run("chat", "--url", "http://127.0.0.1:9", input="")
    assert result.exit_code == 0, result.output
    assert "Say hello to start" in result.stdout


# --------------------------------------------------------------------------- validate


def test_validate_the_demo_folder(db: str) -> None:
    result = run("consultations", "validate", str(DEMO))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        f"{DEMO / 'library-hours-2027.yml'}: OK (library-hours-2027, 8 questions)",
        f"{DEMO / 'park-redesign-2027.yml'}: OK (park-redesign-2027, 11 questions)",
    ]


def test_validate_a_bad_file_names_line_and_field(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD, encoding="utf-8")
    result = run("consultations", "validate", str(bad))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{bad}: line 12: questions[0].options: "
        "a single_choice question needs at least 2 options")
    assert "OK" not in result.stdout


def test_validate_reports_good_and_bad_files(db: str, tmp_path: Path) -> None:
    good = write(tmp_path)
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD, encoding="utf-8")
    result = run("consultations", "validate", str(good), str(bad))
    assert result.exit_code == 1
    assert f"{good}: OK (benches, 2 questions)" in result.stdout
    assert "line 12: questions[0].options: a single_choice question needs at least 2 options" \
        in result.stderr


def test_validate_does_not_touch_the_database(db: str) -> None:
    run("consultations", "validate", str(DEMO))
    assert not Path(db.removeprefix("sqlite:///")).exists()


# --------------------------------------------------------------------------- launch


def test_launch_twice_is_unchanged(db: str) -> None:
    first = run("consultations", "launch", str(DEMO))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == ["library-hours-2027: launched version 1",
                                         "park-redesign-2027: launched version 1"]
    second = run("consultations", "launch", str(DEMO))
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == ["library-hours-2027: unchanged (version 1)",
                                          "park-redesign-2027: unchanged (version 1)"]
    assert versions(db, "park-redesign-2027") == [1]


def test_launch_a_changed_file_makes_version_2(db: str, tmp_path: Path) -> None:
    path = tmp_path / "park.yml"
    shutil.copy(DEMO / "park-redesign-2027.yml", path)
    assert run("consultations", "launch", str(path)).exit_code == 0
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Redesigning Millbrook Park together", "title: Redesigning Millbrook Park"),
        encoding="utf-8")
    result = run("consultations", "launch", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "park-redesign-2027: launched version 2"
    assert versions(db, "park-redesign-2027") == [1, 2]


def test_launch_only_new_skips_existing(db: str, tmp_path: Path) -> None:
    existing = write(tmp_path)
    assert run("consultations", "launch", str(existing)).exit_code == 0
    write(tmp_path, title="New benches, changed")  # would be version 2
    fresh = write(tmp_path, slug="bins", title="More bins")
    result = run("consultations", "launch", "--only-new", str(existing), str(fresh))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["bins: launched version 1"]
    assert versions(db, "benches") == [1]
    assert versions(db, "bins") == [1]


def test_launch_with_a_bad_file_launches_nothing(db: str, tmp_path: Path) -> None:
    run("migrate")
    good = write(tmp_path)
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD, encoding="utf-8")
    result = run("consultations", "launch", str(good), str(bad))
    assert result.exit_code == 1
    assert "questions[0].options" in result.stderr
    assert "error: nothing was launched" in result.stderr
    assert versions(db, "benches") == []


def test_launch_reopens_a_closed_consultation(db: str, tmp_path: Path) -> None:
    path = write(tmp_path)
    run("consultations", "launch", str(path))
    assert run("consultations", "close", "benches").exit_code == 0
    result = run("consultations", "launch", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "benches: unchanged (version 1), reopened"


# --------------------------------------------------------------------------- list / close


def test_list_without_consultations(db: str) -> None:
    result = run("consultations", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("No consultations yet")
    assert json.loads(run("consultations", "list", "--json").stdout) == []


def _take_part(url: str, slug: str, statuses: list[str]) -> None:
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, slug)
        assert consultation is not None and consultation.current_version is not None
        for n, status in enumerate(statuses):
            participation = repo.start_participation(
                session, participant_key(b"k" * 16, "rest", str(n)),
                consultation.current_version.id, "rest")
            participation.status = status


def test_list_shows_status_version_and_counts(db: str, tmp_path: Path) -> None:
    run("consultations", "launch", str(write(tmp_path)))
    run("consultations", "launch", str(write(tmp_path, title="New benches v2")))
    run("consultations", "launch", str(write(tmp_path, slug="bins", title="More bins")))
    _take_part(db, "benches", ["completed", "active", "completed"])

    rows = json.loads(run("consultations", "list", "--json").stdout)
    assert rows == [
        {"slug": "benches", "title": "New benches v2", "status": "open", "version": 2,
         "opens": None, "closes": None, "participations": 3, "completed": 2},
        {"slug": "bins", "title": "More bins", "status": "open", "version": 1,
         "opens": None, "closes": None, "participations": 0, "completed": 0},
    ]

    table = run("consultations", "list")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["SLUG", "STATUS", "VER", "CLOSES", "TAKEN", "DONE", "TITLE"]
    assert lines[1].split() == ["benches", "open", "2", "-", "3", "2", "New", "benches", "v2"]
    assert lines[2].split() == ["bins", "open", "1", "-", "0", "0", "More", "bins"]


def test_list_status_follows_the_dates(db: str, tmp_path: Path) -> None:
    run("consultations", "launch",
        str(write(tmp_path, slug="future", dates="opens: 2999-01-01\n")),
        str(write(tmp_path, slug="past", dates="opens: 2000-01-01\ncloses: 2000-12-31\n")))
    rows = {r["slug"]: r for r in json.loads(run("consultations", "list", "--json").stdout)}
    assert rows["future"]["status"] == "scheduled"
    assert rows["future"]["opens"] == "2999-01-01"
    assert rows["past"]["status"] == "closed"  # its closing date has passed
    assert rows["past"]["closes"] == "2000-12-31"


def test_close_a_consultation(db: str, tmp_path: Path) -> None:
    run("consultations", "launch", str(write(tmp_path)))
    result = run("consultations", "close", "benches")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "benches: closed"
    rows = json.loads(run("consultations", "list", "--json").stdout)
    assert [(r["slug"], r["status"]) for r in rows] == [("benches", "closed")]


def test_close_an_unknown_slug_fails_clearly(db: str, tmp_path: Path) -> None:
    run("consultations", "launch", str(write(tmp_path)))
    result = run("consultations", "close", "benchez")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: no consultation 'benchez' (see `codesign consultations list`)")
    assert result.stdout == ""
    rows = json.loads(run("consultations", "list", "--json").stdout)
    assert rows[0]["status"] == "open"


# --------------------------------------------------------------------------- export


def _answered(url: str, slug: str) -> None:
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, slug)
        assert consultation is not None and consultation.current_version is not None
        version = consultation.current_version
        questions = repo.questions_by_key(session, version.id)
        for n, (colour, extras) in enumerate([("Red", ["Shade", "Water"]), ("Blue", None)]):
            participation = repo.start_participation(
                session, participant_key(b"k" * 16, "rest", f"sender-{n}"), version.id, "rest")
            repo.save_answer(session, participation.id, questions["colour"].id,
                             status="answered", value=colour, raw_text=None, message_id=None)
            if extras:
                repo.save_answer(session, participation.id, questions["extras"].id,
                                 status="answered", value=extras, raw_text=None,
                                 message_id=None)


def test_export_csv_to_a_file(db: str, tmp_path: Path) -> None:
    run("consultations", "launch", str(write(tmp_path)))
    _answered(db, "benches")
    output = tmp_path / "out" / "benches.csv"
    output.parent.mkdir()
    result = run("export", "benches", "--format", "csv", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "exported 3 answers"
    assert result.stdout == ""
    rows = list(csv.reader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert rows[0] == CSV_COLUMNS
    records = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [(r["question_id"], r["value"]) for r in records] == [
        ("colour", "Red"), ("extras", "Shade; Water"), ("colour", "Blue")]
    assert {r["consultation"] for r in records} == {"benches"}
    assert [p.name for p in output.parent.iterdir()] == ["benches.csv"]  # no .part left


def test_export_json_to_stdout(db: str, tmp_path: Path) -> None:
    run("consultations", "launch", str(write(tmp_path)))
    _answered(db, "benches")
    result = run("export", "benches")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "exported 2 participations"
    records = json.loads(result.stdout)
    assert [r["answers"] for r in records] == [
        {"colour": "Red", "extras": ["Shade", "Water"]},
        {"colour": "Blue", "extras": None},
    ]


def test_export_unknown_slug_fails(db: str, tmp_path: Path) -> None:
    run("consultations", "launch", str(write(tmp_path)))
    output = tmp_path / "nothing.csv"
    result = run("export", "no-such-thing", "--format", "csv", "--output", str(output))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: no consultation 'no-such-thing' (see `codesign consultations list`)")
    assert not output.exists()
    assert not output.with_name("nothing.csv.part").exists()


def test_export_rejects_an_unknown_format(db: str) -> None:
    result = run("export", "benches", "--format", "pdf")
    assert result.exit_code == 2


def test_export_xlsx_needs_a_file_and_transcripts_stream(db: str, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    run("consultations", "launch", str(write(tmp_path)))
    _answered(db, "benches")
    refused = run("export", "benches", "--format", "xlsx")
    assert refused.exit_code == 1 and "--output" in refused.stderr
    output = tmp_path / "benches.xlsx"
    result = run("export", "benches", "--format", "xlsx", "--output", str(output))
    assert result.exit_code == 0 and result.stderr.strip() == "exported 3 answers"
    rows = list(load_workbook(output, read_only=True)["answers"].iter_rows(values_only=True))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == 4
    lines = run("export", "benches", "--format", "transcripts").stdout.splitlines()
    assert [json.loads(line)["answers"]["colour"] for line in lines] == ["Red", "Blue"]
