"""Each collection's thresholds of the "not covered" decision, kept in the app store.

An admin sets them from reviewed questions (``codesign knowledge calibrate --from-reviews
--apply`` or the button on the Knowledge gaps page); they are stored per collection, so
every action server on any machine uses the same ones, and a change applies within
``CHECK_INTERVAL`` seconds without a restart (``ThresholdBook``, as ``GlossaryBook`` does
for glossaries). A collection without stored thresholds uses the defaults, which the
``CODESIGN_ANSWER_*`` variables override (``Thresholds.from_env``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.knowledge.answers import Thresholds
from bot.knowledge.per_collection import CHECK_INTERVAL, PerCollection
from bot.store.models import KnowledgeThreshold, utcnow

if TYPE_CHECKING:
    from bot.knowledge.search import Hit

log = logging.getLogger(__name__)
#: Seconds the thresholds read from the store are reused.


def stored(session: Session, collection: str) -> KnowledgeThreshold | None:
    """The stored thresholds row of ``collection``, if it has one."""
    return session.get(KnowledgeThreshold, collection)


def of_row(row: KnowledgeThreshold, default: Thresholds) -> Thresholds:
    """The thresholds of a stored row (the 'closest passage' one from ``default``)."""
    return replace(default, similarity=row.similarity, word_match=row.word_match,
                   offered_match=row.offered_match)


def for_collection(session: Session, collection: str, default: Thresholds) -> Thresholds:
    """The thresholds ``collection`` uses: its stored ones, else ``default``."""
    row = stored(session, collection)
    return default if row is None else of_row(row, default)


def save(session: Session, collection: str, thresholds: Thresholds, by: str) -> None:
    """Store ``thresholds`` as ``collection``'s (replacing any), set ``by`` someone."""
    row = stored(session, collection)
    if row is None:
        row = KnowledgeThreshold(collection=collection)
        session.add(row)
    row.similarity, row.word_match = thresholds.similarity, thresholds.word_match
    row.offered_match, row.set_by, row.set_at = thresholds.offered_match, by[:254], utcnow()
    session.flush()


def reset(session: Session, collection: str) -> bool:
    """Forget ``collection``'s stored thresholds (it uses the defaults again); False when
    it had none."""
    row = stored(session, collection)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


class ThresholdBook(PerCollection[Thresholds]):
    """The stored thresholds of every collection (thread-safe), re-read from the store at
    most every ``check_interval`` seconds; without a store, the defaults only."""

    def __init__(self, database_url: str | None, default: Thresholds,
                 check_interval: float = CHECK_INTERVAL) -> None:
        super().__init__(database_url, self._read, "thresholds", check_interval)
        self.default = default

    def _read(self, session: Session) -> dict[str, Thresholds]:
        rows: dict[str, Thresholds] = {}
        for row in session.scalars(select(KnowledgeThreshold)):
            try:
                rows[row.collection] = of_row(row, self.default)
            except ValueError as exc:  # only a hand edit stores such values
                log.warning("thresholds of %s ignored: %s", row.collection, exc)
        return rows

    def for_hits(self, hits: list[Hit]) -> Thresholds:
        """The thresholds deciding a question whose search found ``hits``: those of the
        best hit's collection (stored ones, else the defaults).

        A question searching several collections is judged by the passages it would
        cite, and those come first from the best hit's collection; its thresholds were
        calibrated on questions about those very documents (labels are kept per
        collection), so they are the ones that say whether that passage answers.
        """
        return self.for_collection(hits[0].passage.collection if hits else None)

    def for_collection(self, collection: str | None) -> Thresholds:
        """The thresholds of ``collection`` (None: the defaults)."""
        if collection is None:
            return self.default
        return self.current().get(collection, self.default)
