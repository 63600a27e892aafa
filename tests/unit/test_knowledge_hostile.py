"""A hostile service question costs the knowledge base about what a normal one does:
the words checked are capped and a long question is not embedded in one batch with its
words (2,000 characters of random "words" took 4 s of embedding before)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.knowledge import service
from bot.knowledge.answers import GroundedAnswer
from bot.knowledge.grounding import MAX_TERM_CHARS, MAX_TERMS, content_terms
from bot.knowledge.ingest import ingest
from bot.knowledge.service import JOINT_EMBED_CHARS, KnowledgeService
from bot.store.db import migrate, session_scope

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def library_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo library documents indexed once for this module."""
    var = tmp_path_factory.mktemp("kb")
    url = f"sqlite:///{var / 'kb.db'}"
    migrate(url)
    with session_scope(url) as session:
        ingest(session, [ROOT / "knowledge" / "libraries"], "libraries", var)
    return var


def test_content_terms_are_capped_in_number_and_length() -> None:
    many = " ".join(f"topic{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(100))
    terms = content_terms(many)
    assert len(terms) == MAX_TERMS and terms[0] == "topicaa"
    long_word = "x" * (MAX_TERM_CHARS + 1)
    assert content_terms(f"can I book a {long_word} room in the library") == \
        ["book", "room", "library"]
    assert content_terms("when does the library open on saturday?") == \
        ["library", "open", "saturday"]  # a real question keeps every word


def test_a_long_question_is_embedded_apart_from_its_words(
        library_var: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batches: list[list[str]] = []
    real = service.embed

    def recording(texts: list[str], *args: Any, **kwargs: Any) -> np.ndarray:
        batches.append(list(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(service, "embed", recording)
    knowledge = KnowledgeService(library_var)
    short = "can I renew my library books online?"
    answer = knowledge.answer(short, None)
    assert answer.covered and batches[0][0] == short and len(batches[0]) > 1  # one call
    batches.clear()

    rng = random.Random(14)
    hostile = "".join(chr(rng.randrange(0x4E00, 0x9FFF)) + rng.choice(" ,.") * (i % 3 == 0)
                      for i in range(2000))
    assert len(hostile) > JOINT_EMBED_CHARS
    answer = knowledge.answer(hostile, None)
    assert isinstance(answer, GroundedAnswer)
    assert batches[0] == [hostile]  # the question alone, then its words
    assert all(hostile not in batch and len(batch) <= MAX_TERMS for batch in batches[1:])
    assert all(len(word) <= MAX_TERM_CHARS for batch in batches[1:] for word in batch)
