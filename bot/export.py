"""Exports of a consultation's answers (JSON per participation, CSV per answer).

Both stream: rows are read in batches and written as they come, so memory stays flat
for large consultations. Only pseudonymous participant ids leave the store.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.consultations import flow
from bot.store.models import Answer, ConsultationVersion, Participation, Question

CSV_COLUMNS = [
    "consultation", "version", "participation_id", "participant", "channel", "status",
    "question_id", "question_position", "question_type", "question_text", "answer_status",
    "value", "raw_text", "answered_at", "updated_at", "quote_consent",
]
BATCH = 500


def _participations(session: Session, consultation_id: int) -> Iterator[Participation]:
    query = (select(Participation)
             .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
             .where(ConsultationVersion.consultation_id == consultation_id)
             .order_by(Participation.id)
             .execution_options(yield_per=BATCH))
    yield from session.scalars(query)


def _answers_of(session: Session, participation_ids: list[int]) -> dict[int, list[tuple[Question,
                                                                                      Answer]]]:
    rows = session.execute(select(Question, Answer).join(Answer, Answer.question_id == Question.id)
                           .where(Answer.participation_id.in_(participation_ids)))
    grouped: dict[int, list[tuple[Question, Answer]]] = {}
    for question, answer in rows:
        grouped.setdefault(answer.participation_id, []).append((question, answer))
    return grouped


def _batched(session: Session, consultation_id: int) -> Iterator[
        tuple[Participation, list[tuple[Question, Answer]]]]:
    batch: list[Participation] = []

    def flush() -> Iterator[tuple[Participation, list[tuple[Question, Answer]]]]:
        grouped = _answers_of(session, [p.id for p in batch])
        for participation in batch:
            yield participation, sorted(grouped.get(participation.id, []),
                                        key=lambda qa: qa[0].position)

    for participation in _participations(session, consultation_id):
        batch.append(participation)
        if len(batch) >= BATCH:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def _visible(participation: Participation, pairs: list[tuple[Question, Answer]]
             ) -> list[tuple[Question, Answer]]:
    """Drop answers whose question a later change of branch has hidden."""
    definition = participation.version.definition
    values = {q.key: (flow.SKIPPED if a.status == "skipped" else a.value) for q, a in pairs}
    shown = {q["id"] for q in flow.visible_questions(definition, values)}
    return [(q, a) for q, a in pairs if q.key in shown]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def write_json(session: Session, consultation_id: int, slug: str, out: TextIO) -> int:
    """Write a JSON array, one record per participation; returns the record count."""
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


def write_csv(session: Session, consultation_id: int, slug: str, out: TextIO) -> int:
    """Write CSV, one row per answer with stable columns; returns the row count."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    count = 0
    for participation, pairs in _batched(session, consultation_id):
        for question, answer in _visible(participation, pairs):
            value = answer.value
            writer.writerow({
                "consultation": slug,
                "version": participation.version.number,
                "participation_id": participation.id,
                "participant": participation.participant_id,
                "channel": participation.channel,
                "status": participation.status,
                "question_id": question.key,
                "question_position": question.position + 1,
                "question_type": question.type,
                "question_text": question.text,
                "answer_status": answer.status,
                "value": "; ".join(value) if isinstance(value, list) else
                ("" if value is None else value),
                "raw_text": answer.raw_text or "",
                "answered_at": _iso(answer.answered_at),
                "updated_at": _iso(answer.updated_at),
                "quote_consent": "" if participation.quote_consent is None else
                str(participation.quote_consent).lower(),
            })
            count += 1
    return count
