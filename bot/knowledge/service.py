"""The knowledge base as the dialogue uses it: answer a citizen's service question."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge.answers import Coverage, GroundedAnswer, Thresholds, compose, judge
from bot.knowledge.collection_thresholds import ThresholdBook
from bot.knowledge.embedder import embed
from bot.knowledge.glossaries import GlossaryBook
from bot.knowledge.grounding import TermGrounder, content_terms
from bot.knowledge.search import KnowledgeSearcher

DEFAULT_K = 5
#: The longest question embedded in one batch with its new words (about 50 tokens).
JOINT_EMBED_CHARS = 200


class KnowledgeService:
    """Answers service questions from the live index under ``var``."""

    def __init__(self, var: Path, thresholds: Thresholds | None = None,
                 database_url: str | None = None) -> None:
        """Answer from the index under ``var``.

        Args:
            var: the local data folder holding the index generations.
            thresholds: when the documents count as answering, for collections without
                thresholds of their own in the store (default: from the environment,
                ``Thresholds.from_env``).
            database_url: the app store; with it the local index follows the database's
                latest generation and is built from the stored passages when missing
                (action servers on several machines; ``KnowledgeSearcher``).
        """
        self.searcher = KnowledgeSearcher(var, database_url)
        self.glossaries = GlossaryBook(database_url)
        self.grounder = TermGrounder()
        self.thresholds = thresholds or Thresholds.from_env()
        self.collection_thresholds = ThresholdBook(database_url, self.thresholds)

    def answer(self, question: str, collections: list[str] | None) -> GroundedAnswer:
        """A sourced answer, searching ``collections`` (None: every collection)."""
        if collections is not None and not collections:
            return compose(question, [], Coverage(False))
        glossary = self.glossaries.for_collections(collections)
        searched = glossary.expand(question)
        # One model call embeds the question and those of its content words not seen
        # before (the grounding check needs them; the index's own words are cached). A
        # batch is padded to its longest text, so a long question is embedded on its own:
        # 2,000 characters with 32 new words padded to 256 tokens each took 4 s.
        fresh = self.grounder.uncached(content_terms(searched))
        if len(searched) <= JOINT_EMBED_CHARS:
            vectors = embed([searched, *fresh])
            query, words = vectors[0], vectors[1:]
        else:
            query, words = embed([searched])[0], embed(fresh)
        self.grounder.remember(fresh, words)
        hits = self.searcher.search(searched, collections, DEFAULT_K, "hybrid", query)
        return compose(searched, hits, judge(question, hits, self.grounder,
                                             self.collection_thresholds.for_hits(hits), glossary))

    def warm_up(self) -> None:
        """Load the model and the live index now, not on the first question.

        With a database URL the local index is first brought up to date with the
        database (built from the stored passages on a machine that has none yet).
        """
        from bot.knowledge.embedder import warm_up

        warm_up()
        self.grounder.learn(f"{p.title} {p.section or ''} {p.text}"
                            for collection in self.searcher.collections().values()
                            for p in collection.passages)
