"""Exports of a consultation's answers (JSON per participation, CSV per answer).

Both stream: rows are read in batches and written as they come, so memory stays flat
for large consultations. Only pseudonymous participant ids leave the store.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, Protocol, TextIO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.consultations import flow
from bot.store.models import Answer, ConsultationVersion, Participation, Question

CSV_COLUMNS = [
    "consultation", "version", "participation_id", "participant", "channel", "status",
    "question_id", "question_position", "question_type", "question_text", "answer_status",
    "value", "raw_text", "answered_at", "updated_at", "quote_consent", "tags", "weight",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500


def _participations(session: Session, consultation_id: int) -> Iterator[Participation]:
    query = (select(Participation)
             .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
             .where(ConsultationVersion.consultation_id == consultation_id)
             .order_by(Participation.id)
             .execution_options(yield_per=BATCH))
    yield from session.scalars(query)


class StoredAnswer(Protocol):
    """The columns of an answer the exports read (plain rows: no ORM objects to build)."""

    id: int
    participation_id: int
    question_id: int
    status: str
    value: Any
    raw_text: str | None
    answered_at: datetime
    updated_at: datetime


ANSWER_COLUMNS = (Answer.id, Answer.participation_id, Answer.question_id, Answer.status,
                  Answer.value, Answer.raw_text, Answer.answered_at, Answer.updated_at)


def _answers_of(session: Session, participation_ids: list[int], questions: dict[int, Question]
                ) -> dict[int, list[tuple[Question, StoredAnswer]]]:
    rows = session.execute(select(*ANSWER_COLUMNS)
                           .where(Answer.participation_id.in_(participation_ids)))
    grouped: dict[int, list[tuple[Question, StoredAnswer]]] = {}
    for row in rows:
        answer = cast(StoredAnswer, row)
        question = questions.get(answer.question_id) or session.get(Question, answer.question_id)
        assert question is not None  # answers.question_id is a foreign key
        grouped.setdefault(answer.participation_id, []).append((question, answer))
    return grouped


Batch = list[tuple[Participation, list[tuple[Question, StoredAnswer]]]]


def _batches(session: Session, consultation_id: int) -> Iterator[Batch]:
    """Participations with their answers (in question order), ``BATCH`` at a time."""
    questions = {q.id: q for q in session.scalars(
        select(Question).join(ConsultationVersion, Question.version_id == ConsultationVersion.id)
        .where(ConsultationVersion.consultation_id == consultation_id))}
    batch: list[Participation] = []

    def flush() -> Batch:
        grouped = _answers_of(session, [p.id for p in batch], questions)
        return [(participation, sorted(grouped.get(participation.id, []),
                                       key=lambda qa: qa[0].position))
                for participation in batch]

    for participation in _participations(session, consultation_id):
        batch.append(participation)
        if len(batch) >= BATCH:
            yield flush()
            batch = []
    if batch:
        yield flush()


def _batched(session: Session, consultation_id: int) -> Iterator[
        tuple[Participation, list[tuple[Question, StoredAnswer]]]]:
    for batch in _batches(session, consultation_id):
        yield from batch


def _visible(participation: Participation, pairs: list[tuple[Question, StoredAnswer]]
             ) -> list[tuple[Question, StoredAnswer]]:
    """Drop answers whose question a later change of branch has hidden."""
    definition = participation.version.definition
    values = {q.key: (flow.SKIPPED if a.status == "skipped" else a.value) for q, a in pairs}
    shown = {q["id"] for q in flow.visible_questions(definition, values)}
    return [(q, a) for q, a in pairs if q.key in shown]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _weights(session: Session, consultation_id: int) -> dict[int, float] | None:
    """Each participation's weight to the population, or None when there is none to
    weight by (``bot.review.participants``; imported here, as it brings pandas)."""
    from bot.review.participants import weights_of

    return weights_of(session, consultation_id)


def write_json(session: Session, consultation_id: int, slug: str, out: TextIO) -> int:
    """Write a JSON array, one record per participation; returns the record count.
    ``weight`` is the participation's weight to the population (null when none)."""
    weights = _weights(session, consultation_id)
    out.write("[")
    count = 0
    for participation, pairs in _batched(session, consultation_id):
        record = {
            "consultation": slug,
            "version": participation.version.number,
            "participation_id": participation.id,
            "participant": participation.participant_id,
            "channel": participation.channel,
            "status": participation.status,
            "started_at": _iso(participation.started_at),
            "finished_at": _iso(participation.finished_at),
            "quote_consent": participation.quote_consent,
            "weight": round(weights[participation.id], 6) if weights else None,
        }
        answers: dict[str, Any] = {q["id"]: None for q in
                                   participation.version.definition["questions"]}
        for question, answer in _visible(participation, pairs):
            answers[question.key] = None if answer.status == "skipped" else answer.value
        record["answers"] = answers
        out.write(("," if count else "") + "\n  " + json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_participants(session: Session, consultation_id: int, slug: str,
                       out: TextIO) -> int:
    """Write the "Who took part" figures as JSON (``bot.review.participants.as_json``,
    with the consultation's slug); returns the number of participations."""
    from bot.review.participants import as_json, who_took_part

    figures = who_took_part(session, consultation_id)
    if figures is None:
        raise ValueError(f"no consultation {slug}")
    out.write(json.dumps({"consultation": slug, **as_json(figures)}, indent=2,
                         ensure_ascii=False) + "\n")
    return figures.participants


def spreadsheet_cell(value: Any) -> Any:
    """A citizen's text made safe for spreadsheets: a leading = + - @ would run as a formula
    in Excel or LibreOffice (CSV injection), so such text gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def answer_rows(session: Session, consultation_id: int, slug: str) -> Iterator[dict[str, Any]]:
    """One dict per visible answer, keyed by ``CSV_COLUMNS`` (streams in batches);
    ``weight`` is empty when the consultation has no population to weight to."""
    weights = _weights(session, consultation_id)
    for batch in _batches(session, consultation_id):
        shown = [(participation, _visible(participation, pairs)) for participation, pairs in batch]
        tags = _tags_of(session, [participation.id for participation, _ in batch])
        for participation, visible in shown:
            common = {  # the same on every row of a participation: read once
                "consultation": slug,
                "version": participation.version.number,
                "participation_id": participation.id,
                "participant": participation.participant_id,
                "channel": participation.channel,
                "status": participation.status,
                "quote_consent": "" if participation.quote_consent is None else
                str(participation.quote_consent).lower(),
                "weight": round(weights[participation.id], 6) if weights else "",
            }
            for question, answer in visible:
                value = answer.value
                yield {
                    **common,
                    "question_id": question.key,
                    "question_position": question.position + 1,
                    "question_type": question.type,
                    "question_text": question.text,
                    "answer_status": answer.status,
                    "value": spreadsheet_cell("; ".join(value) if isinstance(value, list)
                                              else ("" if value is None else value)),
                    "raw_text": spreadsheet_cell(answer.raw_text or ""),
                    "answered_at": _iso(answer.answered_at),
                    "updated_at": _iso(answer.updated_at),
                    "tags": "; ".join(tags.get(answer.id, [])),
                }


def _tags_of(session: Session, participation_ids: list[int]) -> dict[int, list[str]]:
    """The tag names of every answer of these participations, by answer id.

    Selected by participation (a batch of ``BATCH`` ids, like the answers) rather than by
    answer id: an ``IN`` list of a different length each time is a different SQL string,
    and SQLite keeps up to 128 such prepared statements per connection, thousands of
    parameters each (the export's memory grew with the data until this changed).
    """
    from bot.store.review_models import AnswerTag, Tag

    tags: dict[int, list[str]] = {}
    if participation_ids:
        for answer_id, name in session.execute(
                select(AnswerTag.answer_id, Tag.name).join(Tag, AnswerTag.tag_id == Tag.id)
                .join(Answer, AnswerTag.answer_id == Answer.id)
                .where(Answer.participation_id.in_(participation_ids)).order_by(Tag.name)):
            tags.setdefault(answer_id, []).append(name)
    return tags


def write_csv(session: Session, consultation_id: int, slug: str, out: TextIO) -> int:
    """Write CSV, one row per answer with stable columns; returns the row count."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    count = 0
    for row in answer_rows(session, consultation_id, slug):
        writer.writerow(row)
        count += 1
    return count


def write_xlsx(session: Session, consultation_id: int, slug: str, out: BinaryIO) -> int:
    """Write an Excel workbook with the CSV's rows and columns; returns the row count.

    openpyxl's write-only mode keeps memory flat; every cell is written as a string or a
    number, never as a formula.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title="answers")
    sheet.append(CSV_COLUMNS)
    count = 0
    for row in answer_rows(session, consultation_id, slug):
        cells = []
        for column in CSV_COLUMNS:
            cell = WriteOnlyCell(sheet, value=row[column])
            if isinstance(row[column], str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    book.save(out)
    return count


def write_transcripts(session: Session, consultation_id: int, slug: str, out: TextIO) -> int:
    """Write JSON Lines, one conversation per participation; returns the line count.

    Each line holds the messages in order (with the buttons offered), the service
    questions asked with the passages shown, and the answers given.
    """
    from bot.store.models import KnowledgeQuery, TranscriptEntry

    count = 0
    for participation, pairs in _batched(session, consultation_id):
        entries = session.scalars(select(TranscriptEntry)
                                  .where(TranscriptEntry.participation_id == participation.id)
                                  .order_by(TranscriptEntry.id))
        queries = session.scalars(select(KnowledgeQuery)
                                  .where(KnowledgeQuery.participation_id == participation.id)
                                  .order_by(KnowledgeQuery.id))
        record = {
            "consultation": slug, "version": participation.version.number,
            "participation_id": participation.id, "participant": participation.participant_id,
            "channel": participation.channel, "status": participation.status,
            "quote_consent": participation.quote_consent,
            "started_at": _iso(participation.started_at),
            "finished_at": _iso(participation.finished_at),
            "messages": [{"from": "citizen" if e.direction == "in" else "bot", "text": e.text,
                          "buttons": [b.get("title") for b in e.buttons or []],
                          "at": _iso(e.created_at)} for e in entries],
            "service_questions": [{"question": q.text, "answered": q.answered,
                                   "disputed": q.disputed,
                                   "during": q.question_key,
                                   "shown": [h.get("title") for h in q.hits] if q.answered
                                   else [], "at": _iso(q.asked_at)} for q in queries],
            "answers": {q.key: None if a.status == "skipped" else a.value
                        for q, a in _visible(participation, pairs)},
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
