"""Helpers of the calibration-from-reviews tests: questions asked through the real
knowledge service (real embedder, real index), logged as the dialogue logs them."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge.ingest import ingest
from bot.knowledge.service import KnowledgeService
from bot.store.db import session_scope
from bot.store.models import KnowledgeQuery

#: Questions about the ``docs`` fixture's documents (tests.unit.test_knowledge) with the
#: document that answers them (None: the documents do not).
QUESTIONS: list[tuple[str, str | None]] = [
    ("is northgate library open on sundays", "libraries/hours.md"),
    ("how much is the late fee", "libraries/faq.csv"),
    ("when is rhyme time for toddlers", "libraries/events.txt"),
    ("can I send a fax from the library", None),
    ("is there a skate park", None),
]


def ingested(url: str, var: Path, folder: Path, collection: str = "libraries") -> None:
    """``folder``'s documents in ``collection`` (the real ingest: embedded, indexed)."""
    with session_scope(url) as session:
        ingest(session, [folder], collection, var)


def ask(service: KnowledgeService, url: str, text: str, collections: list[str] | None, *,
        disputed: bool = False, forwarded: bool = False) -> int:
    """Ask ``text`` through the service (``collections`` None: all) and log it as the
    dialogue does; its query id."""
    answer = service.answer(text, collections)
    with session_scope(url) as session:
        row = KnowledgeQuery(
            participation_id=None, question_key=None, text=text, collections=collections or [],
            answered=answer.covered, top_score=answer.top_similarity,
            hits=[{"passage_id": h.passage.id, "title": h.passage.title,
                   "section": h.passage.section, "source": h.passage.url or h.passage.document,
                   "collection": h.passage.collection, "score": round(h.score, 4),
                   "similarity": round(h.similarity, 4)} for h in answer.hits],
            disputed=disputed, forwarded=forwarded)
        session.add(row)
        session.flush()
        return row.id


def asked_all(url: str, var: Path) -> dict[str, int]:
    """Every one of ``QUESTIONS`` asked in ``libraries``: the answerable ones disputed,
    the others passed on. Question -> query id."""
    service = KnowledgeService(var, database_url=url)
    return {text: ask(service, url, text, ["libraries"], disputed=source is not None,
                      forwarded=source is None) for text, source in QUESTIONS}
