"""``codesign responses import``: responses taken on paper or by phone, from CSV and XLSX
files, checked against the questions and branching before anything is stored."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from bot import export
from bot.cli.main import app
from bot.review import response_import, stats
from bot.store import repository
from bot.store.audit_models import AuditEntry
from bot.store.db import migrate, session_scope
from bot.store.models import Answer, Participant, Participation
from tests.unit.test_engine import LIBRARY, LIBRARY_FILE, _Today, launch

HEADER = ["visits", "barriers", "preferred_times", "evenings", "trade_off", "services",
          "hours_reasons", "anything_else"]
GOOD = [
    # A branch taken (rarely: barriers asked), choices by text in any case and by number.
    ["rarely or never", "No bus after 6pm", "Evenings (after 6pm); saturdays", "5",
     "Sunday afternoon opening", "1;3", "Reading", ""],
    ["1", "", "2", "", "3", "Borrowing books", "Homework", "More chairs"],
    ["Monthly", "", "4;5", "4", "keep the current hours", "2", "Printing", ""],
]


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setattr(repository, "date", _Today)
    migrate(sqlite_url)
    launch(sqlite_url, LIBRARY_FILE)
    yield sqlite_url


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def write_csv(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append([None if cell == "" else cell for cell in row])
    workbook.save(path)
    return path


def counts(url: str) -> dict[str, int]:
    with session_scope(url) as session:
        return {
            "participations": session.scalar(select(func.count(Participation.id))) or 0,
            "answers": session.scalar(select(func.count(Answer.id))) or 0,
            "participants": session.scalar(select(func.count(Participant.id))) or 0,
            "audit": session.scalar(select(func.count(AuditEntry.id))
                                    .where(AuditEntry.action == "responses.import")) or 0,
        }


NOTHING = {"participations": 0, "answers": 0, "participants": 0, "audit": 0}


def test_help_explains_the_format() -> None:
    result = run("responses", "import", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for part in ("one column per question id", "separated by ;", "header = row 1",
                 "--dry-run", "--channel", "must be blank"):
        assert part in text, part


def test_a_bad_row_stores_nothing_and_every_problem_names_row_and_column(
        db: str, tmp_path: Path) -> None:
    rows = [*GOOD,
            # Row 5: barriers filled though visits is weekly; a required trade_off blank;
            # an unknown option; too many services; a scale out of range.
            ["Weekly or more", "Too far", "Sundays", "9", "", "1;2;3;4", "x", ""],
            # Row 6: an option that is not one.
            ["Sometimes", "", "1", "", "1", "1", "x", ""]]
    path = write_csv(tmp_path / "bad.csv", rows)
    result = run("responses", "import", LIBRARY, str(path), "--channel", "paper")
    assert result.exit_code == 1, result.output
    out = result.output
    assert "bad.csv: 5 problems; nothing was stored." in out
    assert out.index("column B (barriers)") < out.index("column D (evenings)")
    assert "row 5, column B (barriers): must be blank: this question is only asked when " \
           "visits is A few times a year or Rarely or never" in out
    assert "row 5, column D (evenings): “9” is not a number from 1 to 5" in out
    assert "row 5, column E (trade_off): needs an answer: the question is required" in out
    assert "row 5, column F (services): choose at most 3 options (found 4)" in out
    assert "row 6, column A (visits): “Sometimes” is not one of the options (1 = Weekly or " \
           "more; 2 = Monthly;" in out
    assert "row 2" not in out and "row 3" not in out and "row 4" not in out
    assert counts(db) == NOTHING


def test_unknown_and_missing_columns_are_errors(db: str, tmp_path: Path) -> None:
    header = ["visits", "colour", "preferred_times", "trade_off", "services",
              "hours_reasons", "hours_reasons"]
    path = write_csv(tmp_path / "cols.csv", [["1", "red", "1", "1", "1", "x", "y", "extra"]],
                     header)
    result = run("responses", "import", LIBRARY, str(path), "--channel", "phone")
    assert result.exit_code == 1
    assert "row 1, column B (colour): no question has this id" in result.output
    assert "row 1, column G (hours_reasons): hours_reasons is already column F" \
        in result.output
    assert "row 2, column H: has a value, but the column has no question id in row 1" \
        in result.output
    assert counts(db) == NOTHING


def test_dry_run_shows_what_would_be_stored_and_stores_nothing(db: str,
                                                               tmp_path: Path) -> None:
    path = write_csv(tmp_path / "good.csv", [*GOOD, [""] * 8])
    result = run("responses", "import", LIBRARY, str(path), "--channel", "phone",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert "Would store 3 responses, channel phone: phone 3." in lines
    assert "(1 blank row ignored.)" in lines
    assert "barriers 1 0 2" in lines  # answered once, asked of one only
    assert "evenings 2 1 0" in lines and "anything_else 1 2 0" in lines
    assert "Dry run: nothing was stored." in lines
    assert counts(db) == NOTHING


def test_a_good_csv_is_stored_in_full_and_counts_in_the_figures(db: str,
                                                                tmp_path: Path) -> None:
    path = write_csv(tmp_path / "good.csv", GOOD)
    result = run("responses", "import", LIBRARY, str(path), "--channel", "paper")
    assert result.exit_code == 0, result.output
    assert "Stored 3 paper responses in library-hours-2027" in result.output
    assert counts(db) == {"participations": 3, "answers": 3 * 7 + 1, "participants": 3,
                          "audit": 1}
    with session_scope(db) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        funnel = stats.funnel(session, consultation.id)
        assert (funnel.opened, funnel.consented, funnel.completed) == (3, 3, 3)
        questions = stats.current_questions(session, consultation.id)
        results = stats.question_results(session, consultation.id, questions)
        assert dict(results["visits"].counts) == {"Weekly or more": 1, "Monthly": 1,
                                                  "A few times a year": 0,
                                                  "Rarely or never": 1}
        assert dict(results["preferred_times"].counts)["Saturdays"] == 2
        assert (results["evenings"].answered, results["evenings"].skipped) == (2, 1)
        assert stats.overview(session)[0].channels == {"paper": 3}
        participations = list(session.scalars(select(Participation)))
        assert {p.channel for p in participations} == {"paper"}
        assert {p.status for p in participations} == {"completed"}
        assert len({p.participant_id for p in participations}) == 3
        out = io.StringIO()
        export.write_csv(session, consultation.id, LIBRARY, out)
        exported = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert {row["channel"] for row in exported} == {"paper"}
        first = {row["question_id"]: row for row in exported
                 if row["participation_id"] == str(participations[0].id)}
        assert first["preferred_times"]["value"] == "Evenings (after 6pm); Saturdays"
        assert first["barriers"]["raw_text"] == "No bus after 6pm"
        [entry] = session.scalars(select(AuditEntry)
                                  .where(AuditEntry.action == "responses.import")).all()
        assert entry.target == LIBRARY and entry.actor.startswith("cli:")
        assert entry.detail == {"channel": "paper", "count": 3}


def test_a_good_xlsx_is_stored(db: str, tmp_path: Path) -> None:
    rows = [[int(c) if c.isdigit() and i in (0, 3, 4) else c for i, c in enumerate(row)]
            for row in GOOD]
    rows[1][0] = 1.0  # Excel gives whole numbers as floats
    path = write_xlsx(tmp_path / "good.xlsx", rows)
    result = run("responses", "import", LIBRARY, str(path), "--channel", "phone")
    assert result.exit_code == 0, result.output
    assert "Stored 3 phone responses" in result.output
    assert counts(db)["participations"] == 3
    with session_scope(db) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        questions = stats.current_questions(session, consultation.id)
        results = stats.question_results(session, consultation.id, questions)
        assert dict(results["visits"].counts)["Weekly or more"] == 1  # 1.0: the first
        assert dict(results["evenings"].counts) == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
        assert dict(results["trade_off"].counts)["Earlier morning opening"] == 1
        assert {p.channel for p in session.scalars(select(Participation))} == {"phone"}


def test_a_bad_xlsx_row_names_its_row(db: str, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "bad.xlsx", [*GOOD, ["2", "", "", "", "1", "1", "x", ""]])
    result = run("responses", "import", LIBRARY, str(path), "--channel", "paper")
    assert result.exit_code == 1
    assert "row 5, column C (preferred_times): needs an answer" in result.output
    assert counts(db) == NOTHING


def test_files_that_cannot_be_read_or_closed_consultations(db: str, tmp_path: Path) -> None:
    wrong = tmp_path / "answers.txt"
    wrong.write_text("visits\n1\n")
    result = run("responses", "import", LIBRARY, str(wrong), "--channel", "paper")
    assert result.exit_code == 1 and "use a .csv or .xlsx file" in result.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes("visits\nCaf\xe9\n".encode("latin-1"))
    result = run("responses", "import", LIBRARY, str(latin), "--channel", "paper")
    assert result.exit_code == 1 and "is not UTF-8 text" in result.output
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook")
    result = run("responses", "import", LIBRARY, str(fake), "--channel", "paper")
    assert result.exit_code == 1 and "is not an Excel workbook" in result.output
    result = run("responses", "import", "no-such-thing", str(wrong), "--channel", "paper")
    assert result.exit_code == 1 and "no consultation 'no-such-thing'" in result.output
    with session_scope(db) as session:
        repository.close_consultation(session, LIBRARY)
    path = write_csv(tmp_path / "good.csv", GOOD)
    result = run("responses", "import", LIBRARY, str(path), "--channel", "paper")
    assert result.exit_code == 1 and "closed to new answers" in result.output
    assert counts(db) == NOTHING


def test_cells_are_read_as_the_format_says() -> None:
    single = {"id": "s", "type": "single_choice", "options": ["Red", "Green"],
              "required": True}
    multi = {"id": "m", "type": "multi_choice", "options": ["A; B", "C", "D"],
             "required": True, "max_choices": 2}
    scale = {"id": "n", "type": "scale", "min": 0, "max": 10, "labels": {"0": "Never"},
             "required": True}
    parse = response_import.parse_cell
    assert parse(single, "  GREEN ").value == "Green"  # type: ignore[union-attr]
    assert parse(single, 2.0).value == "Green"  # type: ignore[union-attr]
    assert isinstance(parse(single, "3"), str) and isinstance(parse(single, "Gren"), str)
    assert parse(multi, "a; b").value == ["A; B"]  # type: ignore[union-attr]
    assert parse(multi, "3;c").value == ["C", "D"]  # type: ignore[union-attr]
    assert parse(multi, "1;2;3") == "choose at most 2 options (found 3)"
    assert parse(scale, "never").value == 0  # type: ignore[union-attr]
    assert parse(scale, 10).value == 10  # type: ignore[union-attr]
    assert isinstance(parse(scale, "4.5"), str)
    assert parse(scale, None) is None and parse(single, "  ") is None
