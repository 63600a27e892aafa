"""Splitting documents into passages along their structure.

A section (heading, FAQ entry, PDF page) becomes one passage when it is short; longer
sections are split at paragraph and then sentence boundaries into passages of at most
``max_words`` words, each starting with the last sentence of the previous one (overlap),
so a fact that straddles a boundary is found from either side.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.knowledge.documents import Document

MAX_WORDS = 120
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"(])")


@dataclass(frozen=True)
class Passage:
    """A searchable piece of a document."""

    document: str
    position: int
    title: str
    section: str
    text: str

    @property
    def content_hash(self) -> str:
        """Hash of what gets embedded (title, section and text)."""
        return hashlib.sha256(self.embedding_text().encode()).hexdigest()

    def embedding_text(self) -> str:
        """The text given to the embedding model: context first, then content."""
        context = f"{self.title} — {self.section}" if self.section else self.title
        return f"{context}: {self.text}"


def _words(text: str) -> int:
    return len(text.split())


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_RE.split(text) if s.strip()]


def split_text(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """Split text into chunks of at most ``max_words`` words with one sentence of overlap."""
    if _words(text) <= max_words:
        return [text]
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n(?=[-•*] )", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if _words(paragraph) <= max_words:
            units.append(paragraph)
        else:
            for sentence in _sentences(paragraph):
                words = sentence.split()
                units += [" ".join(words[i:i + max_words])
                          for i in range(0, len(words), max_words)]
    chunks: list[str] = []
    current: list[str] = []
    for unit in units:
        if current and _words(" ".join([*current, unit])) > max_words:
            chunks.append("\n".join(current))
            tail = _sentences(current[-1])[-1:] if current else []
            current = tail if tail and _words(tail[0]) < max_words // 3 else []
        current.append(unit)
    if current:
        chunks.append("\n".join(current))
    return chunks


def chunk_document(document: Document, max_words: int = MAX_WORDS) -> list[Passage]:
    """All passages of a document, in order."""
    passages: list[Passage] = []
    for section in document.sections:
        for chunk in split_text(section.text, max_words):
            passages.append(Passage(document.path, len(passages), document.title,
                                    section.heading, chunk))
    return passages
