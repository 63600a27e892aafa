"""Each collection's glossary in the app store, as search and the decision use it.

An admin sets a collection's glossary on the Knowledge page or with a ``glossary.yml``
next to its documents (read on ingest); it is stored as written, so every action server
on any machine uses the same one, and a change applies within ``CHECK_INTERVAL`` seconds
without a restart. The general glossary (``general-glossary.yml``) applies to a
collection unless its admin switched it off.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.knowledge.glossary import Glossary, GlossaryError, parse_yaml
from bot.knowledge.per_collection import CHECK_INTERVAL, PerCollection
from bot.store.models import KnowledgeGlossary

log = logging.getLogger(__name__)
GENERAL_FILE = Path(__file__).with_name("general-glossary.yml")


@lru_cache(maxsize=1)
def general() -> Glossary:
    """The general glossary of UK public-service words shipped with codesign."""
    return parse_yaml(GENERAL_FILE.read_text(encoding="utf-8"), GENERAL_FILE.name)


def save(session: Session, collection: str, text: str, use_general: bool = True) -> Glossary:
    """Store ``collection``'s glossary (YAML text) after checking it.

    Raises:
        GlossaryError: naming the line and the field, when the text cannot be used
            (nothing is stored then).
    """
    glossary = parse_yaml(text, "glossary")
    row = session.get(KnowledgeGlossary, collection)
    if row is None:
        row = KnowledgeGlossary(collection=collection)
        session.add(row)
    row.text, row.use_general = text, use_general
    session.flush()
    return glossary


def applying(row: KnowledgeGlossary | None) -> Glossary:
    """The glossary that applies to a collection whose stored row is ``row`` (None: it has
    none): its own, and the general one unless switched off. A stored text that does not
    parse (it was checked on save: only a hand edit gets there) counts as empty."""
    own = Glossary()
    if row is not None:
        try:
            own = parse_yaml(row.text, f"{row.collection} glossary")
        except GlossaryError as exc:
            log.warning("glossary of %s ignored: %s", row.collection, exc)
    return own.merged(general()) if row is None or row.use_general else own


def stored(session: Session, collection: str) -> KnowledgeGlossary | None:
    """The stored glossary row of ``collection``, if it has one."""
    return session.get(KnowledgeGlossary, collection)


def _applying_by_collection(session: Session) -> dict[str, Glossary]:
    return {row.collection: applying(row) for row in session.scalars(select(KnowledgeGlossary))}


class GlossaryBook(PerCollection[Glossary]):
    """The glossaries of every collection that has one stored (its glossary, with the
    general one when it applies; thread-safe), re-read from the store at most every
    ``check_interval`` seconds; without a store, the general glossary only."""

    def __init__(self, database_url: str | None, check_interval: float = CHECK_INTERVAL) -> None:
        super().__init__(database_url, _applying_by_collection, "glossaries", check_interval)

    def for_collections(self, collections: list[str] | None) -> Glossary:
        """The glossary that applies when searching ``collections`` (None: all)."""
        glossaries = self.current()
        names = list(glossaries) if collections is None else collections
        combined = Glossary()
        uses_general = collections is None or any(c not in glossaries for c in names)
        for name in names:
            if name in glossaries:
                combined = combined.merged(glossaries[name])
        return combined.merged(general()) if uses_general else combined
