"""Importing responses taken on paper or by phone from a CSV or XLSX file.

One row per response, one column per question id (the header is row 1). Choice answers
are written as the option's text (any case) or its number (1 for the first); a multiple
choice lists them separated by ``;``; a scale takes its number (or a label's text). A
blank cell is a skipped question, refused when the question is required and asked given
the branching; a question that the branching does not ask must be left blank. Every
problem is found before anything is stored, each named by its row and column.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl.utils import column_index_from_string, get_column_letter
from sqlalchemy.orm import Session

from bot.consultations import flow
from bot.consultations.answers import normalise
from bot.review import assisted
from bot.review.assisted import ANSWERED, SKIPPED, Entry
from bot.store import repository as repo
from bot.store.models import Consultation, Participation

SUFFIXES = (".csv", ".xlsx")
MAX_OPEN = 5000
#: Problems listed at most (a wrong file can have thousands); the count is always given.
MAX_LISTED = 200


class ImportFileError(Exception):
    """The file cannot be read at all (missing, wrong type, not UTF-8, not a workbook)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file, where it is (spreadsheet row, header = row 1)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class Checked:
    """What a file holds once checked: the responses (row number and answers) and the
    problems; it may be stored only when there is no problem."""

    responses: list[tuple[int, dict[str, Entry]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    blank_rows: int = 0

    def counts(self, definition: dict[str, Any]) -> list[tuple[str, int, int, int]]:
        """Per question: id, answered, skipped, not asked (branching)."""
        result = []
        for question in definition["questions"]:
            seen = Counter(entries[question["id"]].status if question["id"] in entries
                           else "not asked" for _, entries in self.responses)
            result.append((question["id"], seen[ANSWERED], seen[SKIPPED], seen["not asked"]))
        return result


Cell = str | int | float | bool | date | datetime | None


def read_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    """The rows of a CSV (UTF-8, comma separated) or XLSX file (its first sheet), with
    their spreadsheet row numbers.

    Raises:
        ImportFileError: when the file cannot be read as such.
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError(f"{path.name}: use a .csv or .xlsx file")
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    if suffix == ".csv":
        return _csv_rows(path)
    return _xlsx_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path.name} is not UTF-8 text: save it as “CSV UTF-8”") \
            from exc
    except OSError as exc:
        raise ImportFileError(f"cannot read {path.name}: {exc}") from exc
    try:
        rows = list(csv.reader(text.splitlines(keepends=True)))
    except csv.Error as exc:
        raise ImportFileError(f"{path.name} is not a valid CSV file: {exc}") from exc
    return iter([(number, list(row)) for number, row in enumerate(rows, 1)])


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, ...
        raise ImportFileError(f"{path.name} is not an Excel workbook (.xlsx): {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = [(number, list(row)) for number, row in
                enumerate(sheet.iter_rows(values_only=True), 1)]
    finally:
        workbook.close()
    return iter(rows)


def _text(cell: Cell) -> str:
    """A cell as text: whole numbers without ``.0``, dates as YYYY-MM-DD."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == datetime.min.time() \
            else cell.isoformat(sep=" ")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def _choices_hint(options: list[str]) -> str:
    listed = "; ".join(f"{n} = {option}" for n, option in enumerate(options, 1))
    return listed if len(listed) <= 300 else listed[:299] + "…"


def _option(options: list[str], text: str) -> int | None:
    """The index of the option written as its number or its text (any case)."""
    if re.fullmatch(r"\d{1,3}", text):
        number = int(text)
        return number - 1 if 1 <= number <= len(options) else None
    wanted = " ".join(text.split()).casefold()
    for index, option in enumerate(options):
        if option.casefold() == wanted:
            return index
    return None


def parse_cell(question: dict[str, Any], cell: Cell) -> Entry | str | None:
    """A cell's answer: an ``Entry``, an error message, or None when blank."""
    text = _text(cell).strip()
    if not text:
        return None
    kind = question["type"]
    if kind == "open":
        cleaned = " ".join(text.split())
        if len(cleaned) > MAX_OPEN:
            return f"is longer than {MAX_OPEN} characters"
        return Entry(ANSWERED, cleaned, text)
    if kind == "single_choice":
        index = _option(question["options"], text)
        if index is None:
            hint = _choices_hint(question["options"])
            return f"“{_short(text)}” is not one of the options ({hint})"
        option = question["options"][index]
        return Entry(ANSWERED, option, option)
    if kind == "multi_choice":
        return _multi(question, text)
    return _scale(question, text)


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _multi(question: dict[str, Any], text: str) -> Entry | str:
    options: list[str] = question["options"]
    whole = _option(options, text)
    parts = [text] if whole is not None else [p for p in text.split(";") if p.strip()]
    chosen: set[int] = set()
    for part in parts:
        index = _option(options, part.strip())
        if index is None:
            return (f"“{_short(part.strip())}” is not one of the options "
                    f"({_choices_hint(options)}); separate several with ;")
        chosen.add(index)
    limit = question.get("max_choices")
    if limit and len(chosen) > limit:
        return f"choose at most {limit} options (found {len(chosen)})"
    values = [options[i] for i in sorted(chosen)]
    return Entry(ANSWERED, values, ", ".join(values))


def _scale(question: dict[str, Any], text: str) -> Entry | str:
    low, high = question["min"], question["max"]
    number: int | None = None
    if re.fullmatch(r"-?\d{1,3}", text):
        number = int(text)
    else:
        labels = {normalise(label): int(point) for point, label in question["labels"].items()}
        number = labels.get(normalise(text))
    if number is None or not low <= number <= high:
        return f"“{_short(text)}” is not a number from {low} to {high}"
    return Entry(ANSWERED, number, str(number))


def _asked_when(definition: dict[str, Any], question: dict[str, Any]) -> str:
    condition = question["show_if"]
    values = " or ".join(str(v) for v in condition["in"])
    return f"{condition['question']} is {values}"


def check(definition: dict[str, Any], rows: Iterator[tuple[int, list[Cell]]]) -> Checked:
    """Check every row of a file against a consultation's questions and branching."""
    checked = Checked()
    questions = {q["id"]: q for q in definition["questions"]}
    try:
        header_row, header = next(rows)
    except StopIteration:
        checked.problems.append(Problem(1, "", "the file is empty: row 1 must name the "
                                               "question ids"))
        return checked
    columns: dict[int, str] = {}
    named: dict[str, int] = {}
    ignored: set[int] = set()
    for index, cell in enumerate(header):
        name = _text(cell).strip()
        letter = get_column_letter(index + 1)
        if not name:
            ignored.add(index)
            continue
        if name not in questions:
            checked.problems.append(Problem(header_row, f"{letter} ({_short(name)})",
                                            "no question has this id (the questions are "
                                            f"{', '.join(questions)})"))
        elif name in named:
            checked.problems.append(Problem(header_row, f"{letter} ({name})",
                                            f"{name} is already column "
                                            f"{get_column_letter(named[name] + 1)}"))
        else:
            columns[index] = name
            named[name] = index
    for question in definition["questions"]:
        if question["id"] not in named and assisted.is_required(question) and \
                not question.get("show_if"):
            checked.problems.append(Problem(header_row, question["id"],
                                            "the column of this required question is "
                                            "missing"))
    for number, row in rows:
        if all(not _text(cell).strip() for cell in row):
            checked.blank_rows += 1
            continue
        _check_row(definition, columns, ignored | set(range(len(header), len(row))), number,
                   row, checked)
    return checked


def _check_row(definition: dict[str, Any], columns: dict[int, str], unnamed: set[int],
               number: int, row: list[Cell], checked: Checked) -> None:
    """Check one row; ``unnamed``: the columns without a question id in row 1."""
    entries: dict[str, Entry] = {}
    cells: dict[str, tuple[str, Cell]] = {}
    found: list[Problem] = []
    for index, cell in enumerate(row):
        letter = get_column_letter(index + 1)
        if index in unnamed:
            if _text(cell).strip():
                found.append(Problem(number, letter, "has a value, but the column has no "
                                                     "question id in row 1"))
            continue
        if index not in columns:  # an unknown or repeated id: said once, for row 1
            continue
        qid = columns[index]
        cells[qid] = (f"{letter} ({qid})", cell)
    questions = definition["questions"]
    unsure: set[str] = set()  # wrong, or asked or not depending on a wrong answer
    for question in questions:
        where, cell = cells.get(question["id"], (question["id"], None))
        parsed = parse_cell(question, cell)
        if isinstance(parsed, str):
            found.append(Problem(number, where, parsed))
            unsure.add(question["id"])
        elif parsed is not None:
            entries[question["id"]] = parsed
        if question.get("show_if") and question["show_if"]["question"] in unsure:
            unsure.add(question["id"])
    asked = {q["id"] for q in flow.visible_questions(definition, assisted.values_of(entries))}
    response: dict[str, Entry] = {}
    for question in questions:
        qid = question["id"]
        where = cells.get(qid, (qid, None))[0]
        if qid in unsure:
            continue
        if qid not in asked:
            if qid in entries:
                found.append(Problem(number, where, "must be blank: this question is only "
                                                    "asked when "
                                                    f"{_asked_when(definition, question)}"))
            continue
        if qid in entries:
            response[qid] = entries[qid]
        elif assisted.is_required(question):
            found.append(Problem(number, where, "needs an answer: the question is required"))
        else:
            response[qid] = Entry(SKIPPED)
    if found:
        checked.problems.extend(sorted(found, key=lambda p: _column_order(p.column)))
    else:
        checked.responses.append((number, response))


def _column_order(column: str) -> tuple[int, str]:
    """Sorts a row's problems by column (A, B, …, AA), then those without a column."""
    letters = column.split(" ", 1)[0]
    if letters.isalpha() and letters.isupper() and len(letters) <= 3:
        return column_index_from_string(letters), ""
    return 100_000, column


def store(session: Session, consultation: Consultation, channel: str, checked: Checked,
          on_stored: Callable[[int], None] | None = None) -> list[Participation]:
    """Store every response of a checked file (not committed: the caller commits once,
    with its audit entry, so that either all are stored or none).

    Raises:
        ValueError: when the file has problems, or a response is refused
            (``assisted.store_response``).
    """
    if checked.problems:
        raise ValueError(f"{len(checked.problems)} problems: nothing stored")
    stored = []
    for done, (_row, entries) in enumerate(checked.responses, 1):
        stored.append(assisted.store_response(session, consultation, channel, entries,
                                              assisted.new_participant_id(),
                                              count_opening=False))
        if on_stored is not None:
            on_stored(done)
    repo.count_opening(session, consultation.id, channel, count=len(stored))
    session.flush()
    return stored
