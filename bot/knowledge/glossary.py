"""The agency's vocabulary: the words residents use for the documents' own terms.

Residents say "tip" where the documents say "household recycling centre", so the
question's words are not in the documents: retrieval misses the passage and the "not
covered" decision declines it. A glossary maps each resident phrase to document terms:

* search looks for the question with the document terms added (``expand``);
* the decision counts a resident word as mentioned by a passage that mentions one of its
  document terms (``alternatives``, ``grounding.TermGrounder.matches``).

A glossary is a YAML mapping kept next to a collection's documents (``glossary.yml``)::

    # Words residents use (left) for the words the documents use (right).
    tip: household recycling centre
    bin men: [collection crew, refuse collectors]

or a CSV file (``glossary.csv``) with the columns ``resident`` and ``documents``
(several document terms separated by ``;``). Errors name the line and the field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.consultations.yamlsource import YamlSyntaxError, load_with_lines
from bot.knowledge.documents import GLOSSARY_FILES
from bot.knowledge.grounding import content_terms
from bot.knowledge.text import folded

#: The most entries one glossary may hold, and the longest phrase.
MAX_ENTRIES = 2_000
MAX_PHRASE_WORDS = 6
MAX_PHRASE_CHARS = 80


class GlossaryError(ValueError):
    """A glossary file that cannot be used; the message names the line and field."""


@dataclass(frozen=True)
class GlossaryEntry:
    """One resident phrase and the document terms it stands for."""

    resident: str
    documents: tuple[str, ...]

    @property
    def pattern(self) -> re.Pattern[str]:
        """The phrase as whole words, any case and spacing, with an optional plural."""
        words = [re.escape(word) for word in self.resident.split()]
        return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?:s|es)?(?!\w)", re.IGNORECASE)


def _phrase(value: object, where: str) -> str:
    """A resident phrase or document term, checked and tidied."""
    if not isinstance(value, str) or not value.strip():
        raise GlossaryError(f"{where}: must be a word or phrase, not {value!r}")
    phrase = " ".join(value.split())
    if len(phrase) > MAX_PHRASE_CHARS or len(phrase.split()) > MAX_PHRASE_WORDS:
        raise GlossaryError(f"{where}: {phrase[:40]!r}… is too long (at most "
                            f"{MAX_PHRASE_WORDS} words, {MAX_PHRASE_CHARS} characters)")
    if not re.search(r"\w", phrase):
        raise GlossaryError(f"{where}: {phrase!r} has no letters or digits")
    return phrase


@dataclass(frozen=True)
class Glossary:
    """Resident phrases and their document terms, longest phrase first."""

    entries: tuple[GlossaryEntry, ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Iterable[str]]]) -> Glossary:
        """A glossary from ``(resident phrase, document terms)`` pairs; a phrase given
        twice keeps the terms of both."""
        merged: dict[str, list[str]] = {}
        for resident, documents in pairs:
            terms = merged.setdefault(folded(resident).lower(), [])
            terms += [term for term in documents if term not in terms]
        entries = [GlossaryEntry(resident, tuple(terms)) for resident, terms in merged.items()]
        entries.sort(key=lambda e: (-len(e.resident.split()), -len(e.resident), e.resident))
        return cls(tuple(entries))

    def __len__(self) -> int:
        return len(self.entries)

    def merged(self, other: Glossary) -> Glossary:
        """This glossary and ``other`` together."""
        return Glossary.of([(e.resident, e.documents) for e in (*self.entries, *other.entries)])

    def found(self, question: str) -> list[GlossaryEntry]:
        """The entries whose phrase ``question`` uses (a longer phrase hides the shorter
        ones inside it)."""
        text = folded(question)
        used: list[GlossaryEntry] = []
        for entry in self.entries:
            match = entry.pattern.search(text)
            if match:
                used.append(entry)
                text = text[:match.start()] + " " + text[match.end():]
        return used

    def expand(self, question: str) -> str:
        """``question`` followed by the document terms of the phrases it uses (what
        search looks for)."""
        terms = [term for entry in self.found(question) for term in entry.documents]
        return f"{question} ({'; '.join(terms)})" if terms else question

    def alternatives(self, question: str) -> dict[str, list[list[str]]]:
        """For each content word of a resident phrase ``question`` uses, the content
        words of each of its document terms ("tip" -> [["recycling", "centre"]])."""
        found: dict[str, list[list[str]]] = {}
        for entry in self.found(question):
            options = [content_terms(term) for term in entry.documents]
            for word in content_terms(entry.resident):
                found.setdefault(word, []).extend(o for o in options if o)
        return found


def parse_yaml(text: str, name: str = "glossary.yml") -> Glossary:
    """A glossary from YAML text (``resident phrase: document term(s)``).

    Raises:
        GlossaryError: naming the line and the field.
    """
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        where = f"{name}, line {exc.line}" if exc.line else name
        raise GlossaryError(f"{where}: not valid YAML: {exc}") from None
    if data is None:
        return Glossary()
    if not isinstance(data, dict):
        raise GlossaryError(f"{name}: must be a mapping of resident words to the documents' "
                            "words, e.g. 'tip: household recycling centre'")
    if len(data) > MAX_ENTRIES:
        raise GlossaryError(f"{name}: {len(data):,} entries; at most {MAX_ENTRIES:,}")
    pairs = []
    for key, value in data.items():
        where = f"{name}, line {lines.get(str(key), '?')}"
        resident = _phrase(key, f"{where}, the resident words")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise GlossaryError(f"{where}, the documents' words for {resident!r}: give at "
                                "least one")
        pairs.append((resident, [_phrase(v, f"{where}, the documents' words for "
                                            f"{resident!r}") for v in values]))
    return Glossary.of(pairs)


def parse_csv(text: str, name: str = "glossary.csv") -> Glossary:
    """A glossary from CSV text with the columns ``resident`` and ``documents``
    (several document terms separated by ``;``).

    Raises:
        GlossaryError: naming the line and the column.
    """
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise GlossaryError(f"{name}: not a readable CSV file ({exc})") from None
    if rows and not {"resident", "documents"} <= set(rows[0]):
        found = ", ".join(str(k) for k in rows[0])
        raise GlossaryError(f"{name}, line 1: the columns must include 'resident' and "
                            f"'documents' (found: {found})")
    if len(rows) > MAX_ENTRIES:
        raise GlossaryError(f"{name}: {len(rows):,} entries; at most {MAX_ENTRIES:,}")
    pairs = []
    for number, row in enumerate(rows, 2):
        resident = _phrase(row.get("resident"), f"{name}, line {number}, column 'resident'")
        terms = [t for t in str(row.get("documents") or "").split(";") if t.strip()]
        if not terms:
            raise GlossaryError(f"{name}, line {number}, column 'documents': give the "
                                f"documents' words for {resident!r}")
        pairs.append((resident, [_phrase(t, f"{name}, line {number}, column 'documents'")
                                 for t in terms]))
    return Glossary.of(pairs)


def parse(text: str, name: str) -> Glossary:
    """A glossary from a file's text, read as CSV or YAML by its name."""
    return parse_csv(text, name) if name.lower().endswith(".csv") else parse_yaml(text, name)


@dataclass(frozen=True)
class GlossaryFile:
    """A glossary read from a documents folder, and its text as YAML (a CSV glossary is
    written out as YAML, the form stored and edited on the Knowledge page)."""

    text: str
    glossary: Glossary


def to_yaml(glossary: Glossary) -> str:
    """YAML text that ``parse_yaml`` reads back as ``glossary``."""
    def quoted(phrase: str) -> str:
        return json.dumps(phrase, ensure_ascii=False)

    lines = ["# Words residents use (left) for the words the documents use (right)."]
    for entry in sorted(glossary.entries, key=lambda e: e.resident):
        terms = entry.documents
        value = quoted(terms[0]) if len(terms) == 1 else \
            "[" + ", ".join(map(quoted, terms)) + "]"
        lines.append(f"{quoted(entry.resident)}: {value}")
    return "\n".join(lines) + "\n"


def read_folder(folder: Path) -> GlossaryFile | None:
    """The glossary kept in a collection's documents folder; None when it has none.

    Raises:
        GlossaryError: when the file cannot be read or used.
    """
    for file_name in GLOSSARY_FILES:
        path = folder / file_name
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                raise GlossaryError(f"{file_name}: cannot read: {exc}") from None
            glossary = parse(text, file_name)
            return GlossaryFile(to_yaml(glossary) if file_name.endswith(".csv") else text,
                                glossary)
    return None
