"""The embedder's precision choice and its vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import embedder
from bot.knowledge.embedder import DIMENSION, choose_precision, cpu_flags, embed


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\nbugs\t: none\n")
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(("setting", "flags", "expected"), [
    ("auto", {"avx2", "avx512_bf16"}, "bfloat16"),
    ("auto", {"avx2", "amx_bf16"}, "bfloat16"),
    ("auto", {"avx2", "avx512f"}, "float32"),
    ("", set(), "float32"),
    ("float32", {"avx512_bf16"}, "float32"),
    (" BFloat16 ", set(), "bfloat16"),
])
def test_precision_follows_the_setting_then_the_cpu(setting: str, flags: set[str],
                                                     expected: str) -> None:
    assert choose_precision(setting, frozenset(flags)) == expected


def test_an_unknown_precision_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(embedder.PRECISION_ENV, "float16")
    with pytest.raises(ValueError, match="CODESIGN_EMBEDDING_PRECISION"):
        choose_precision()


def test_vectors_are_unit_float32_whatever_the_precision() -> None:
    vectors = embed(["When does the library open?", "Bins are collected on Tuesdays."])
    assert vectors.dtype == np.float32 and vectors.shape == (2, DIMENSION)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.precision() in ("float32", "bfloat16")
    # Similar questions land closer than unrelated ones.
    library = embed(["What time does the library open on Saturday?"])[0]
    assert float(vectors[0] @ library) > float(vectors[1] @ library) + 0.2
