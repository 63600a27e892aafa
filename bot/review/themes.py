"""Grouping open answers into themes: MiniLM embeddings, spectral clustering, keywords.

Answers to one question share its topic, so the embeddings are centred first (the
common direction removed) to bring out how they differ. Spectral clustering on the
nearest-neighbour graph (scikit-learn) then groups them; the number of themes is chosen
by the silhouette score (cosine) over a range of k, so a reviewer gets a sensible first
cut without tuning anything, and can then rename, merge or split themes.
Each theme is labelled with its most distinctive words (class-based TF-IDF: frequent in
the theme, rare in the others) and shows the answers closest to its centre as quotes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.knowledge.grounding import STOPWORDS
from bot.knowledge.text import words

MAX_THEMES = 12
MIN_ANSWERS = 4
NEIGHBOURS = 10
LOBPCG_FROM = 2000  # arpack is exact but slow on big graphs
# Larger sets are clustered on a sample of this size; the other answers join the nearest
# theme (keeps 5,000 answers well under a minute on 2 cores).
SAMPLE = 1500
SILHOUETTE_SAMPLE = 2000
LABEL_WORDS = 3
QUOTES = 3
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Theme:
    """One group of answers.

    Attributes:
        label: the distinctive keywords, joined ("toilets · open · clean").
        keywords: the same keywords as a list.
        members: indexes (into the input list) of the theme's answers, closest first.
        quotes: indexes of the most representative answers.
    """

    label: str
    keywords: list[str]
    members: list[int]
    quotes: list[int]

    @property
    def size(self) -> int:
        return len(self.members)


def _terms(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 2 and not w.isdigit()]


def keywords_by_cluster(texts: list[str], labels: np.ndarray, top: int = LABEL_WORDS
                        ) -> dict[int, list[str]]:
    """The most distinctive words of each cluster (class-based TF-IDF)."""
    clusters = sorted({int(c) for c in labels})
    counts: dict[int, dict[str, int]] = {c: {} for c in clusters}
    for text, cluster in zip(texts, labels, strict=True):
        for term in set(_terms(text)):
            bucket = counts[int(cluster)]
            bucket[term] = bucket.get(term, 0) + 1
    spread: dict[str, int] = {}
    for bucket in counts.values():
        for term in bucket:
            spread[term] = spread.get(term, 0) + 1
    result = {}
    for cluster, bucket in counts.items():
        size = max(int((labels == cluster).sum()), 1)
        scored = sorted(bucket, key=lambda t: (-(bucket[t] / size)
                                               * np.log(1 + len(clusters) / spread[t]), t))
        result[cluster] = [t for t in scored if bucket[t] > 1 or size < 3][:top]
    return result


def centred(vectors: np.ndarray) -> np.ndarray:
    """The vectors minus their mean, normalised again (the shared topic removed)."""
    shifted = vectors - vectors.mean(axis=0)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.asarray(shifted / np.where(norms == 0, 1, norms), dtype=np.float32)


def spectral_coordinates(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """Spectral embedding of the symmetric nearest-neighbour graph of ``vectors``."""
    from sklearn.manifold import spectral_embedding
    from sklearn.neighbors import kneighbors_graph

    graph = kneighbors_graph(vectors, n_neighbors=min(NEIGHBOURS, len(vectors) - 1),
                             metric="cosine", include_self=False)
    graph = 0.5 * (graph + graph.T)
    solver = "lobpcg" if len(vectors) > LOBPCG_FROM else "arpack"
    return np.asarray(spectral_embedding(graph, n_components=dimensions, random_state=0,
                                         eigen_solver=solver, drop_first=False))


def cluster_labels(vectors: np.ndarray, themes: int | None = None,
            progress: Progress | None = None) -> np.ndarray:
    """Cluster labels for (centred) ``vectors``: ``themes`` groups, or the best silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = len(vectors)
    upper = themes or max(2, min(MAX_THEMES, n // 3))
    coordinates = spectral_coordinates(vectors, upper)
    candidates = [themes] if themes else list(range(2, upper + 1))
    best: tuple[float, np.ndarray] | None = None
    for done, k in enumerate(candidates, 1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(coordinates[:, :k])
        score = 0.0 if themes else float(silhouette_score(
            vectors, labels, metric="cosine", sample_size=min(n, SILHOUETTE_SAMPLE),
            random_state=0))
        if best is None or score > best[0]:
            best = (score, labels)
        if progress:
            progress(f"tried {k} themes", done / len(candidates))
    assert best is not None
    return best[1]


def _labels_at_scale(vectors: np.ndarray, themes: int | None,
                     progress: Progress | None) -> np.ndarray:
    """Cluster a sample of at most ``SAMPLE`` answers; the rest join the nearest theme."""
    if len(vectors) <= SAMPLE:
        return cluster_labels(vectors, themes, progress)
    sample = np.random.default_rng(0).choice(len(vectors), SAMPLE, replace=False)
    sample_labels = cluster_labels(vectors[sample], themes, progress)
    clusters = np.unique(sample_labels)
    centres = np.stack([vectors[sample[sample_labels == c]].mean(axis=0) for c in clusters])
    return np.asarray(clusters[np.argmax(vectors @ centres.T, axis=1)])


def find_themes(texts: list[str], vectors: np.ndarray | None = None, *,
                themes: int | None = None, progress: Progress | None = None) -> list[Theme]:
    """Group ``texts`` into themes, largest first.

    Args:
        texts: the open answers.
        vectors: their normalised embeddings (computed with the MiniLM model when None).
        themes: a fixed number of themes, at least 1 (chosen by silhouette when None).
        progress: called with a message and the fraction done.

    Returns:
        The themes; fewer than ``MIN_ANSWERS`` answers make one theme holding them all.
    """
    if not texts:
        return []
    if vectors is None:
        from bot.knowledge.embedder import embed

        if progress:
            progress("embedding answers", 0.0)
        vectors = embed(texts, batch_size=64)
    if len(texts) < MIN_ANSWERS or themes == 1:
        labels = np.zeros(len(texts), dtype=int)
    else:
        labels = cluster_labels(centred(vectors), min(themes, len(texts) - 1) if themes else None,
                         progress)
    keywords = keywords_by_cluster(texts, labels)
    result = []
    for cluster in sorted(keywords):
        members = np.flatnonzero(labels == cluster)
        centre = vectors[members].mean(axis=0)
        order = members[np.argsort(-(vectors[members] @ centre))]
        result.append(Theme(label=" · ".join(keywords[cluster]) or texts[int(order[0])][:40],
                            keywords=keywords[cluster], members=[int(i) for i in order],
                            quotes=[int(i) for i in order[:QUOTES]]))
    if progress:
        progress("done", 1.0)
    return sorted(result, key=lambda t: (-t.size, t.label))
