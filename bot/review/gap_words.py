"""Words the documents don't use: the words of unanswered questions that no passage of the
searched collection contains and its glossary does not map.

A resident asks about "bins" where the documents say "refuse collection": the question is
declined, and the word "bins" is the gap. For each collection, this lists such words with
how many unanswered questions (declined, or disputed by the citizen) used them, a few
examples and when they were last asked, so an admin can map the word to a document term
(the collection's glossary) or mark it "not something we do" (``KnowledgeGapWord``).

A word counts as used by the documents when it, a plural or other ending of it
(``grounding.mentioned``) is a word of a passage's title, section or text. A question
that searched every collection (no list stored) is counted for the collections of the
passages it was shown, else for every collection with documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from bot.knowledge.glossaries import applying
from bot.knowledge.grounding import content_terms, mentioned, present_forms
from bot.knowledge.question_focus import asked_part
from bot.knowledge.text import folded, words
from bot.store.models import (
    ConsultationVersion,
    KnowledgeDocument,
    KnowledgeGapWord,
    KnowledgeGlossary,
    KnowledgePassage,
    KnowledgeQuery,
    Participation,
)

EXAMPLES = 3
NOT_OFFERED = "not_offered"
#: The latest unanswered questions read (as ``gaps.knowledge_gaps``).
LIMIT = 2000


@dataclass
class GapWord:
    """A word of unanswered questions that a collection's documents do not use."""

    collection: str
    word: str
    count: int = 0
    examples: list[str] = field(default_factory=list)
    last_asked: datetime | None = None
    #: Set when an admin marked it "not something we do".
    marked_by: str | None = None
    marked_at: datetime | None = None


@dataclass
class CollectionGapWords:
    """A collection's words to act on (most asked first), and those marked "not
    something we do"."""

    collection: str
    words: list[GapWord] = field(default_factory=list)
    not_offered: list[GapWord] = field(default_factory=list)


def question_words(text: str) -> list[str]:
    """The content words of what a question asks (as the 'not covered' check sees them)."""
    return content_terms(asked_part(text))


def normalised_word(value: str) -> str | None:
    """``value`` as a gap word (one content word, lower case, accents folded), or None."""
    terms = content_terms(value.strip()[:80])
    return terms[0] if len(terms) == 1 and len(words(value)) == 1 else None


def document_words(session: Session, collection: str) -> set[str]:
    """The words (and stems) of every passage's title, section and text in ``collection``
    (one query)."""
    rows = session.execute(
        select(KnowledgeDocument.title, KnowledgePassage.section, KnowledgePassage.text)
        .join(KnowledgePassage, KnowledgePassage.document_id == KnowledgeDocument.id)
        .where(KnowledgeDocument.collection == collection))
    return present_forms(folded(w) for row in rows for text in row for w in words(text or ""))


def uses(present: set[str], phrase: str) -> bool:
    """Whether every content word of ``phrase`` is among the documents' words."""
    terms = content_terms(phrase)
    return bool(terms) and all(mentioned(t, present) for t in terms)


def mapped_words(row: KnowledgeGlossary | None) -> set[str]:
    """The words (and stems) of the resident phrases of a collection's glossary, the
    general glossary's included when it applies (no stored glossary, or switched on)."""
    return present_forms(w for entry in applying(row).entries
                         for w in content_terms(entry.resident))


def unanswered(session: Session, consultation_id: int | None = None,
               limit: int = LIMIT) -> list[KnowledgeQuery]:
    """The latest ``limit`` declined or disputed questions, most recent first (one query)."""
    return latest_queries(session, or_(KnowledgeQuery.answered.is_(False),
                                       KnowledgeQuery.disputed.is_(True)),
                          consultation_id, limit)


def latest_queries(session: Session, condition: ColumnElement[bool],
                   consultation_id: int | None, limit: int) -> list[KnowledgeQuery]:
    """The latest ``limit`` logged service questions meeting ``condition`` (asked during
    ``consultation_id``, or anywhere), most recent first (one query)."""
    query = select(KnowledgeQuery).where(condition)
    if consultation_id is not None:
        query = query.join(Participation,
                           KnowledgeQuery.participation_id == Participation.id).join(
            ConsultationVersion, Participation.version_id == ConsultationVersion.id).where(
            ConsultationVersion.consultation_id == consultation_id)
    return list(session.scalars(query.order_by(KnowledgeQuery.asked_at.desc(),
                                               KnowledgeQuery.id.desc()).limit(limit)))


def _searched(row: KnowledgeQuery, stored: list[str]) -> list[str]:
    """The collections a question searched (see the module's docstring)."""
    named = [str(c) for c in row.collections or [] if c]
    if named:
        return list(dict.fromkeys(named))
    shown = [str(hit["collection"]) for hit in row.hits or []
             if isinstance(hit, dict) and hit.get("collection")]
    return list(dict.fromkeys(shown)) or stored


def _sorted(found: Iterable[GapWord]) -> list[GapWord]:
    return sorted(found, key=lambda g: (-g.count, -(g.last_asked.timestamp()
                                                    if g.last_asked else 0), g.word))


def gap_words(session: Session, consultation_id: int | None = None,
              limit: int = LIMIT) -> list[CollectionGapWords]:
    """Per collection (by name), the words of unanswered questions its documents do not
    use and its glossary does not map, with the marked ones apart.

    Args:
        session: the app store.
        consultation_id: only questions asked in this consultation; None for all.
        limit: how many of the latest unanswered questions are read.
    """
    rows = unanswered(session, consultation_id, limit)
    stored = list(session.scalars(select(KnowledgeDocument.collection).distinct()
                                  .order_by(KnowledgeDocument.collection)))
    glossaries = {g.collection: g for g in session.scalars(select(KnowledgeGlossary))}
    marks = {(m.collection, m.word): m for m in session.scalars(
        select(KnowledgeGapWord).where(KnowledgeGapWord.status == NOT_OFFERED))}
    known: dict[str, tuple[set[str], set[str]]] = {}  # collection -> (documents, glossary)
    found: dict[tuple[str, str], GapWord] = {}
    for row in rows:  # most recent first
        asked = question_words(row.text)
        if not asked:
            continue
        text = " ".join(row.text.split())
        for collection in _searched(row, stored):
            if collection not in known:
                known[collection] = (document_words(session, collection),
                                     mapped_words(glossaries.get(collection)))
            present, mapped = known[collection]
            for word in asked:
                if mentioned(word, present) or mentioned(word, mapped):
                    continue
                gap = found.setdefault((collection, word), GapWord(collection, word))
                gap.count += 1
                if gap.last_asked is None:
                    gap.last_asked = row.asked_at
                if len(gap.examples) < EXAMPLES and all(
                        e.casefold() != text.casefold() for e in gap.examples):
                    gap.examples.append(text)
    result: dict[str, CollectionGapWords] = {}
    for (collection, word), gap in found.items():
        listing = result.setdefault(collection, CollectionGapWords(collection))
        mark = marks.get((collection, word))
        if mark is None:
            listing.words.append(gap)
        else:
            gap.marked_by, gap.marked_at = mark.marked_by, mark.marked_at
            listing.not_offered.append(gap)
    if consultation_id is None:  # every mark, so that each can be undone
        for (collection, word), mark in marks.items():
            if (collection, word) not in found:
                result.setdefault(collection, CollectionGapWords(collection)).not_offered \
                    .append(GapWord(collection, word, marked_by=mark.marked_by,
                                    marked_at=mark.marked_at))
    for listing in result.values():
        listing.words = _sorted(listing.words)
        listing.not_offered = _sorted(listing.not_offered)
    return [result[name] for name in sorted(result)]


def mark_not_offered(session: Session, collection: str, word: str, by: str) -> bool:
    """Mark ``word`` of ``collection`` "not something we do"; False when it already was."""
    if session.scalar(select(KnowledgeGapWord.id).where(
            KnowledgeGapWord.collection == collection, KnowledgeGapWord.word == word)):
        return False
    session.add(KnowledgeGapWord(collection=collection, word=word, status=NOT_OFFERED,
                                 marked_by=by[:254]))
    session.flush()
    return True


def unmark(session: Session, collection: str, word: str) -> bool:
    """Undo the mark of ``word`` of ``collection``; False when it had none."""
    mark = session.scalar(select(KnowledgeGapWord).where(
        KnowledgeGapWord.collection == collection, KnowledgeGapWord.word == word))
    if mark is None:
        return False
    session.delete(mark)
    session.flush()
    return True
