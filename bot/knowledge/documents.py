"""Reading service documents of several formats into titled sections.

Supported: Markdown, HTML, PDF, plain text, and FAQ files (CSV or JSONL with question and
answer fields). Each reader returns a ``Document`` whose sections follow the document's
own structure (headings, FAQ entries, PDF pages); chunking then splits long sections.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from bot import jsonlines

logging.getLogger("pypdf").setLevel(logging.ERROR)  # broken files are reported by us

#: Files of a documents folder that are not documents: the collection's glossary
#: (``bot.knowledge.glossary``), first found wins.
GLOSSARY_FILES = ("glossary.yml", "glossary.yaml", "glossary.csv")
SUPPORTED_SUFFIXES = {".md", ".markdown", ".html", ".htm", ".pdf", ".txt", ".csv", ".jsonl"}


class DocumentError(ValueError):
    """A file could not be read as a document (reported by name and skipped)."""


@dataclass
class Section:
    """A part of a document under one heading (or one FAQ entry)."""

    heading: str
    text: str


@dataclass
class Document:
    """A source document: where it came from, its title and its sections."""

    path: str
    title: str
    format: str
    sections: list[Section] = field(default_factory=list)
    url: str | None = None

    @property
    def content_hash(self) -> str:
        """Hash of the readable content (what embedding depends on)."""
        digest = hashlib.sha256(self.title.encode())
        for section in self.sections:
            digest.update(b"\x00" + section.heading.encode() + b"\x01" + section.text.encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class FaqFields:
    """Field names of FAQ files."""

    question: str = "question"
    answer: str = "answer"


def read_document(path: Path, relative_to: Path | None = None,
                  faq: FaqFields = FaqFields()) -> Document:
    """Read one file into a ``Document``.

    Raises:
        DocumentError: unsupported, unreadable, broken or empty files.
    """
    name = str(path.relative_to(relative_to)) if relative_to else str(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type '{suffix}'")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise DocumentError(f"{name}: the file is empty")
    try:
        if suffix == ".pdf":
            document = _read_pdf(raw, name)
        else:
            text = raw.decode("utf-8-sig")
            if suffix in (".md", ".markdown"):
                document = _read_markdown(text, name)
            elif suffix in (".html", ".htm"):
                document = _read_html(text, name)
            elif suffix == ".csv":
                document = _read_faq_rows(list(csv.DictReader(io.StringIO(text))), name, faq,
                                          "faq-csv")
            elif suffix == ".jsonl":
                document = _read_faq_rows(_jsonl_rows(text, name), name, faq, "faq-jsonl")
            else:
                document = _read_text(text, name)
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise DocumentError(f"{name}: not a readable CSV file ({exc})") from exc
    document.sections = [s for s in document.sections if s.text.strip()]
    if not document.sections:
        raise DocumentError(f"{name}: no readable text found")
    return document


def _title_from_name(name: str) -> str:
    stem = Path(name).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:]


def faq_title(name: str) -> str:
    """An FAQ file's title from its name: "faq.csv" is "Frequently asked questions",
    "libraries-faq.csv" "Libraries: frequently asked questions" and "waste.csv"
    "Waste: frequently asked questions" (FAQ files state no title of their own)."""
    words = [w for w in re.split(r"[-_\s]+", Path(name).stem) if w]
    topic = " ".join(w for w in words if w.casefold() not in ("faq", "faqs"))
    if not topic:
        return "Frequently asked questions"
    return f"{topic[:1].upper()}{topic[1:]}: frequently asked questions"


def _clean(text: str) -> str:
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


#: An ATX heading line: 1-6 hashes, white space, the heading (closing hashes stripped after).
_HEADING = re.compile(r"(#{1,6})\s+(.*)")


def _read_markdown(text: str, name: str) -> Document:
    title = ""
    sections: list[Section] = []
    heading = ""
    lines: list[str] = []
    for line in text.splitlines():
        match = _HEADING.fullmatch(line)
        if match:
            if lines:
                sections.append(Section(heading, _clean("\n".join(lines))))
            # Closing hashes ("## Title ##") go; stripped, not matched by the pattern: a
            # pattern for them backtracks for minutes on a long line of spaces.
            level = len(match.group(1))
            heading_text = match.group(2).rstrip().rstrip("#").rstrip()
            if level == 1 and not title:
                title, heading = heading_text, ""
            else:
                heading = heading_text
            lines = []
        else:
            lines.append(re.sub(r"\*\*|__|`", "", line))
    if lines:
        sections.append(Section(heading, _clean("\n".join(lines))))
    return Document(name, title or _title_from_name(name), "markdown", sections)


class _HtmlSections(HTMLParser):
    """Collects title, canonical link and text under h1-h6 headings; skips boilerplate."""

    SKIP: ClassVar[set[str]] = {"script", "style", "nav", "footer", "header", "noscript",
                                "form", "aside"}
    BLOCK: ClassVar[set[str]] = {"p", "li", "div", "br", "tr", "section", "article", "dd",
                                 "dt", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.url: str | None = None
        self.sections: list[Section] = []
        self._heading = ""
        self._buffer: list[str] = []
        self._in_heading: str | None = None
        self._heading_text: list[str] = []
        self._in_title = False
        self._skip_depth = 0
        self.h1 = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and (values.get("rel") or "") == "canonical" and values.get("href"):
            self.url = values["href"]
        if tag in self.SKIP:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag) and not self._skip_depth:
            self._flush()
            self._in_heading, self._heading_text = tag, []
        elif tag in self.BLOCK:
            self._buffer.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "title":
            self._in_title = False
        elif tag == self._in_heading:
            text = " ".join("".join(self._heading_text).split())
            if tag == "h1" and not self.h1:
                self.h1, self._heading = text, ""
            else:
                self._heading = text
            self._in_heading = None
        elif tag in self.BLOCK:
            self._buffer.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._skip_depth:
            return
        elif self._in_heading:
            self._heading_text.append(data)
        else:
            self._buffer.append(data)

    def _flush(self) -> None:
        text = _clean("\n".join(line.strip() for line in "".join(self._buffer).splitlines()))
        if text:
            self.sections.append(Section(self._heading, text))
        self._buffer = []

    def close(self) -> None:
        super().close()
        self._flush()


def _read_html(text: str, name: str) -> Document:
    parser = _HtmlSections()
    parser.feed(text)
    parser.close()
    title = parser.h1 or " ".join(parser.title.split()) or _title_from_name(name)
    return Document(name, title, "html", parser.sections, url=parser.url)


def _read_pdf(raw: bytes, name: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except PdfReadError as exc:
        raise DocumentError(f"{name}: broken or unreadable PDF ({exc})") from exc
    except Exception as exc:  # pypdf on damaged bytes can raise anything (RecursionError…)
        raise DocumentError(f"{name}: broken or unreadable PDF ({exc.__class__.__name__}: "
                            f"{exc})") from exc
    lines = [line.strip() for page in pages for line in page.splitlines()]
    lines = [line for line in lines if line]
    # The first line is the title when more follows (a one-line PDF is all text).
    if not title and len(lines) > 1 and 3 <= len(lines[0]) <= 120:
        title = lines.pop(0)
    return Document(name, title or _title_from_name(name), "pdf", _sections_from_lines(lines))


def _is_heading_line(line: str) -> bool:
    """A short title-like line: no final punctuation, not a list item."""
    return (len(line) <= 60 and len(line.split()) <= 8 and line[:1].isupper()
            and not line.endswith((".", ",", ";", ":", "?", "!"))
            and not re.match(r"^[-•*\d]", line))


def _sections_from_lines(lines: list[str]) -> list[Section]:
    """Rebuild headings and paragraphs from extracted text lines (PDF pages).

    Wrapped lines are joined back; list items ("- ...") start new lines.
    """
    sections: list[Section] = []
    heading = ""
    body: list[str] = []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _is_heading_line(line) and following and not _is_heading_line(following):
            if body:
                sections.append(Section(heading, _clean("\n".join(body))))
            heading, body = line, []
        elif body and not re.match(r"^[-•*]\s", line) and not body[-1].endswith((".", ":")):
            body[-1] += " " + line
        else:
            body.append(line)
    if body:
        sections.append(Section(heading, _clean("\n".join(body))))
    return sections


def _read_text(text: str, name: str) -> Document:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    title = _title_from_name(name)
    # The first short block is the title, and short lines are headings, when more text
    # follows them: a file of one line ("Closed on Mondays") is all text.
    if len(blocks) > 1 and len(blocks[0]) <= 120 and "\n" not in blocks[0]:
        title = blocks.pop(0)
    sections: list[Section] = []
    heading = ""
    for block in blocks:
        lines = block.splitlines()
        looks_like_heading = len(blocks) > 1 and len(lines) == 1 and len(block) <= 80 and \
            not block.endswith(".")
        if looks_like_heading:
            heading = block.rstrip(":")
        else:
            sections.append(Section(heading, _clean(block)))
    return Document(name, title, "text", sections)


def _jsonl_rows(text: str, name: str) -> list[dict[str, str]]:
    try:
        return [row for _, row in jsonlines.objects(text)]
    except ValueError as exc:
        raise DocumentError(f"{name}: {exc}") from exc


def _read_faq_rows(rows: list[dict[str, str]], name: str, faq: FaqFields,
                   kind: str) -> Document:
    if rows and (faq.question not in rows[0] or faq.answer not in rows[0]):
        found = ", ".join(str(k) for k in rows[0])
        raise DocumentError(f"{name}: FAQ fields '{faq.question}' and '{faq.answer}' not found "
                            f"(found: {found}); choose them with --question-field/--answer-field")
    sections = []
    for row in rows:
        question = " ".join(str(row.get(faq.question) or "").split())
        answer = _clean(str(row.get(faq.answer) or ""))
        if question and answer:
            sections.append(Section(question, answer))
    return Document(name, faq_title(name), kind, sections)


def iter_files(paths: list[Path]) -> list[tuple[Path, Path]]:
    """Expand files and folders into (file, base folder) pairs of supported files."""
    found: list[tuple[Path, Path]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and file.suffix.lower() in SUPPORTED_SUFFIXES and \
                        file.name.lower() not in GLOSSARY_FILES and \
                        not any(part.startswith(".") for part in file.relative_to(path).parts):
                    found.append((file, path))
        else:
            found.append((path, path.parent))
    return found
