"""The evaluation sets of the knowledge base: the project's own (tests/eval/*.jsonl, about
the demo documents in knowledge/) and the external ones (tests/eval/external/<name>/),
each with documents nobody on the team wrote, its source and licence, and questions
written blind to the code.

An external set's folder holds ``documents/`` (ingested as one collection),
``questions.jsonl`` (``bot.knowledge.evaluation.load_cases``; every question names that
collection), ``answer-keys.jsonl`` (``bot.knowledge.answer_keys``) and ``SOURCE.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.devtools.stack import ROOT
from bot.knowledge.evaluation import Case, load_cases

EVAL_DIR = ROOT / "tests" / "eval"
EXTERNAL_DIR = EVAL_DIR / "external"


@dataclass(frozen=True)
class ExternalSet:
    """One external evaluation set (its folder under ``tests/eval/external``)."""

    folder: Path

    @property
    def name(self) -> str:
        return f"external-{self.folder.name}"

    @property
    def documents(self) -> Path:
        return self.folder / "documents"

    @property
    def questions(self) -> Path:
        return self.folder / "questions.jsonl"

    @property
    def answer_keys(self) -> Path:
        return self.folder / "answer-keys.jsonl"

    @property
    def source(self) -> Path:
        return self.folder / "SOURCE.md"

    def cases(self) -> list[Case]:
        return load_cases(self.questions)

    @property
    def collection(self) -> str:
        """The collection its documents are ingested as (named by its questions).

        Raises:
            ValueError: when its questions name no collection or more than one.
        """
        named = {case.collection for case in self.cases()}
        if len(named) != 1 or None in named:
            raise ValueError(f"{self.questions}: every question must name the same "
                             f"collection (found: {sorted(map(str, named))})")
        return str(named.pop())


def external_sets() -> list[ExternalSet]:
    """Every external set, by name."""
    if not EXTERNAL_DIR.is_dir():
        return []
    return [ExternalSet(folder) for folder in sorted(EXTERNAL_DIR.iterdir())
            if (folder / "questions.jsonl").is_file()]
