"""Knowledge gaps: the service questions the documents could not answer, grouped.

A gap is a question the bot declined, or one it answered but the citizen said the answer
did not answer ("That didn't answer it").

Similar questions ("can I send a fax?", "is there a fax machine?") are grouped by
average-linkage clustering of their MiniLM embeddings under a cosine-distance cut, so the
agency sees each missing topic once, with how often it was asked. The embeddings are
centred first: the questions all share the service's topic ("the park"), which would
otherwise pull unrelated questions together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from bot.review.gap_words import question_words, unanswered

# Questions closer than this (cosine distance, centred vectors) to the group's others are
# one gap; centring needs a few questions to find the shared topic.
GROUP_DISTANCE = 0.65
CENTRE_FROM = 5
EXAMPLES = 3


@dataclass(frozen=True)
class Gap:
    """A group of unanswered questions about one topic."""

    questions: list[str]
    count: int
    forwarded: int
    last_asked: datetime
    #: How many of them the bot answered but the citizen said the answer missed.
    disputed: int = 0

    @property
    def label(self) -> str:
        """The most typical question of the group."""
        return self.questions[0]


def group_questions(texts: list[str], vectors: np.ndarray | None = None,
                    distance: float = GROUP_DISTANCE) -> list[list[int]]:
    """Indexes of ``texts`` grouped by meaning, largest group first, most central first."""
    if not texts:
        return []
    if len(texts) == 1:
        return [[0]]
    if vectors is None:
        from bot.knowledge.embedder import embed

        vectors = embed(texts)
    from sklearn.cluster import AgglomerativeClustering

    from bot.review.themes import centred

    if len(texts) >= CENTRE_FROM:
        vectors = centred(vectors)
    labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                     distance_threshold=distance).fit_predict(vectors)
    groups = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        centre = vectors[members].mean(axis=0)
        groups.append([int(i) for i in members[np.argsort(-(vectors[members] @ centre))]])
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def knowledge_gaps(session: Session, consultation_id: int | None = None,
                   limit: int = 2000, word: str | None = None) -> list[Gap]:
    """Unanswered service questions (latest ``limit``), grouped; all when no consultation.

    Unanswered: declined by the bot, or answered but disputed by the citizen. With
    ``word`` (a gap word, ``bot.review.gap_words``), only the questions asking with it.
    """
    rows = unanswered(session, consultation_id, limit)
    if word:
        rows = [row for row in rows if word in question_words(row.text)]
    texts = [" ".join(row.text.split()) for row in rows]
    gaps = []
    for group in group_questions(texts):
        examples: dict[str, str] = {}  # one example per distinct wording, most central first
        for i in group:
            examples.setdefault(texts[i].casefold(), texts[i])
        gaps.append(Gap(list(examples.values())[:EXAMPLES], len(group),
                        sum(rows[i].forwarded for i in group),
                        max(rows[i].asked_at for i in group),
                        sum(rows[i].disputed for i in group)))
    return gaps
