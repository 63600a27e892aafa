"""The external evaluation sets are what the bench reports as headline figures, so each
must hold together: a source and licence, questions that parse and name existing
documents, at least a third unanswerable, and an answer key for every answerable
question whose snippets the bot's own reader finds in the named documents."""

from __future__ import annotations

import pytest

from bench.eval_sets import ExternalSet, external_sets
from bot.knowledge.answer_keys import comparable, load_answer_keys
from bot.knowledge.documents import read_document

SETS = external_sets()


def test_there_are_two_external_sets_of_different_kinds() -> None:
    kinds = {"faq" if all(p.suffix in (".csv", ".jsonl") for p in s.documents.iterdir())
             else "pages" for s in SETS}
    assert len(SETS) >= 2 and kinds == {"faq", "pages"}


@pytest.mark.parametrize("external", SETS, ids=[s.name for s in SETS])
def test_an_external_set_holds_together(external: ExternalSet) -> None:
    source = external.source.read_text(encoding="utf-8")
    assert "licen" in source.casefold(), f"{external.source} must state the licence"
    cases = external.cases()
    collection = external.collection
    documents = {f"{collection}/{p.name}": p for p in external.documents.iterdir()}
    uncovered = [c for c in cases if not c.covered]
    assert len(uncovered) >= len(cases) / 3
    assert len({c.question for c in cases}) == len(cases), "a question appears twice"
    keys = load_answer_keys(external.answer_keys)
    assert set(keys) == {c.question for c in cases if c.covered}
    visible = {name: comparable(" ".join(f"{s.heading} {s.text}" for s in read_document(
        path, relative_to=external.documents).sections)) for name, path in documents.items()}
    for case in cases:
        assert set(case.sources) <= set(documents), case
        if case.covered:
            key = keys[case.question]
            assert any(comparable(snippet) in visible[name]
                       for snippet in key.any_of for name in case.sources), case.question
