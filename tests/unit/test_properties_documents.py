"""Property-based tests of the knowledge readers (bot.knowledge.documents): Markdown,
HTML, PDF, plain text and FAQ files (CSV, JSON Lines).

Whatever the bytes (random, invalid UTF-8, empty, huge, deeply nested, a valid PDF with
bytes changed), ``read_document`` returns a ``Document`` whose sections all hold text,
or raises ``DocumentError`` naming the file; never another exception, never a hang.
Documents written from known parts read back to those parts: Markdown and HTML
headings and paragraphs, FAQ questions and answers, the words of a PDF's lines.
"""

from __future__ import annotations

import csv
import html
import io
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.knowledge.documents import SUPPORTED_SUFFIXES, Document, DocumentError, read_document
from tests.unit.properties import report_outcomes, tally  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("report_outcomes")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for the examples' files (Hypothesis reruns a test in one fixture scope)."""
    yield tmp_path_factory.mktemp("documents")


def read(prop: str, folder: Path, suffix: str, content: bytes) -> Document | None:
    """Write ``content`` to a file with ``suffix`` and read it; the document, or None
    after checking the error is a clear one."""
    path = folder / f"service-notes{suffix}"
    path.write_bytes(content)
    try:
        document = read_document(path, folder)
    except DocumentError as error:
        assert str(error).startswith(f"service-notes{suffix}: "), str(error)
        assert len(str(error)) > len(path.name) + 2
        tally(prop, "DocumentError")
        return None
    assert document.sections and document.title.strip()
    assert all(section.text.strip() for section in document.sections)
    assert len(document.content_hash) == 64
    tally(prop, f"{document.format} document")
    return document


SUFFIXES = st.sampled_from(sorted(SUPPORTED_SUFFIXES))


# ---------------------------------------------------------------------------- any bytes
@given(SUFFIXES, st.binary(max_size=2000))
@example(".md", b"")
@example(".csv", b"\xff\xfe\x00")
@example(".jsonl", b"[" * 100_000)
@example(".jsonl", b'{"question": "' + b"[" * 10 + b'"}\n' + b'{"a": ' * 50_000)
@example(".csv", b"question,answer\nq," + b"a" * 200_000 + b"\n")
@example(".csv", b"question,answer\n\x00,\x00\n")
@example(".html", b"<div>" * 100_000 + b"text")
@example(".md", b"# " + b" " * 100_000 + b"x\nbody")
@example(".pdf", b"%PDF-1.4\n" + b"1 0 obj << /Kids [" * 5000)
def test_any_bytes_read_or_are_refused_clearly(folder: Path, suffix: str, content: bytes) -> None:
    read(f"any bytes ({suffix})", folder, suffix, content)


MARKUP = st.sampled_from(["#", "## ", "<h2>", "</h2>", "<p>", "<script>", "<!--", "&amp;",
                          "&#0;", ",", '"', "\n", "\r", "{", "}", "[", "]", ":", "question",
                          "answer", "\ufeff", "\x00", "- ", "1. "])
TEXTS = st.lists(st.text(max_size=30) | MARKUP, max_size=40).map("".join)


@given(SUFFIXES.filter(lambda s: s != ".pdf"), TEXTS)
@example(".html", "<h1>" * 50_000)
@example(".csv", "question,answer\n" + '"' * 10_001)
@example(".txt", "Closed on Mondays")
def test_any_text_reads_or_is_refused_clearly(folder: Path, suffix: str, text: str) -> None:
    document = read(f"any UTF-8 text ({suffix})", folder, suffix,
                    text.encode("utf-8", "surrogatepass"))
    if suffix == ".txt" and document is None:  # a plain-text file with text is read
        assert not "".join(text.replace("\ufeff", "", 1).split()), text


@given(SUFFIXES.filter(lambda s: s != ".pdf"),
       st.text(max_size=200), st.binary(min_size=1, max_size=4).filter(
           lambda b: not _decodes(b)))
def test_invalid_utf8_is_refused_as_not_utf8(folder: Path, suffix: str, text: str,
                                             bad: bytes) -> None:
    content = text.encode() + bad + text.encode()
    if _decodes(content):
        return
    with pytest.raises(DocumentError, match="not UTF-8"):
        read_document(folder / _write(folder, suffix, content), folder)
    tally("invalid UTF-8", "DocumentError: not UTF-8")


def _decodes(content: bytes) -> bool:
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def _write(folder: Path, suffix: str, content: bytes) -> str:
    name = f"service-notes{suffix}"
    (folder / name).write_bytes(content)
    return name


def test_huge_files_are_read(folder: Path) -> None:
    paragraph = "The library opens at nine on weekdays and at ten on Saturdays. " * 20
    markdown = "".join(f"## Part {n}\n\n{paragraph}\n\n" for n in range(4000)).encode()
    document = read("huge Markdown and JSONL files", folder, ".md", markdown)
    assert document is not None and len(document.sections) == 4000
    rows = [{"question": f"Question {n}?", "answer": paragraph} for n in range(5000)]
    document = read("huge Markdown and JSONL files", folder, ".jsonl",
                    "\n".join(json.dumps(row) for row in rows).encode())
    assert document is not None and len(document.sections) == 5000


# ---------------------------------------------------------------------------- round trips
WORD = st.from_regex(r"[A-Za-zÀ-ÿ0-9]{1,12}", fullmatch=True)
LINE = st.lists(WORD, min_size=1, max_size=8).map(" ".join)
#: A heading that does not end like a sentence and a paragraph that does.
HEADING = LINE.map(lambda t: t[:1].upper() + t[1:])
PARAGRAPH = st.lists(LINE, min_size=1, max_size=4).map(lambda lines: ". ".join(lines) + ".")


@given(HEADING, st.lists(st.tuples(HEADING, PARAGRAPH), min_size=1, max_size=6))
def test_markdown_reads_back_its_title_headings_and_paragraphs(
        folder: Path, title: str, sections: list[tuple[str, str]]) -> None:
    text = f"# {title}\n\n" + "".join(f"## {h} ##\n\n**{p}**\n\n" for h, p in sections)
    document = read("Markdown round trip", folder, ".md", text.encode())
    assert document is not None and document.title == title
    assert [(s.heading, s.text) for s in document.sections] == sections


@given(HEADING, st.lists(st.tuples(HEADING, PARAGRAPH), min_size=1, max_size=6),
       st.sampled_from(["&", "<", ">", '"', "é"]))
def test_html_reads_back_headings_and_paragraphs_without_boilerplate(
        folder: Path, title: str, sections: list[tuple[str, str]], special: str) -> None:
    sections = [(h, f"{p} {special}") for h, p in sections]
    body = "".join(f"<h2>{html.escape(h)}</h2><p>{html.escape(p)}</p>" for h, p in sections)
    page = (f"<html><head><title>{html.escape(title)}</title><script>var x = '<h2>no</h2>';"
            f"</script></head><body><nav>Menu</nav>{body}<footer>© Council</footer></body>"
            "</html>")
    document = read("HTML round trip", folder, ".html", page.encode())
    assert document is not None and document.title == title
    assert [(s.heading, s.text) for s in document.sections] == sections


FAQ_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("C",)) | st.just("\n"),
                   max_size=60)


@given(st.lists(st.tuples(FAQ_TEXT, FAQ_TEXT), min_size=1, max_size=10),
       st.sampled_from([".csv", ".jsonl"]))
def test_faq_files_read_back_every_answered_question(folder: Path,
                                                     rows: list[tuple[str, str]],
                                                     suffix: str) -> None:
    if suffix == ".csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["question", "answer"])
        writer.writerows(rows)
        content = out.getvalue().encode()
    else:
        content = "\n".join(json.dumps({"question": q, "answer": a}) for q, a in rows).encode()
    expected = [(" ".join(q.split()), a) for q, a in rows if q.split() and a.strip()]
    document = read(f"FAQ round trip ({suffix})", folder, suffix, content)
    if not expected:
        assert document is None
        return
    assert document is not None
    assert [s.heading for s in document.sections] == [q for q, _ in expected]
    for section, (_, answer) in zip(document.sections, expected, strict=True):
        assert section.text.split() == answer.split()


def pdf(lines: list[str], compress: bool = False) -> bytes:
    """A one-page PDF showing ``lines`` (ASCII text) in Helvetica."""
    shown = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {shown} ET".encode()
    filters = ""
    if compress:
        stream, filters = zlib.compress(stream), " /Filter /FlateDecode"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)}{filters} >>\nstream\n".encode() + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    return bytes(out)


ASCII_LINE = st.lists(st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True), min_size=1,
                      max_size=6).map(" ".join)


@given(st.lists(ASCII_LINE, min_size=1, max_size=8), st.booleans())
@example(["Closed on Mondays"], False)
def test_pdf_reads_back_the_words_of_its_lines(folder: Path, lines: list[str],
                                               compress: bool) -> None:
    document = read("PDF round trip", folder, ".pdf", pdf(lines, compress))
    assert document is not None
    # The first line is the title (when more follow), else the file's name is.
    title = [] if document.title == "Service notes" else [document.title]
    read_words = " ".join(title + [f"{s.heading} {s.text}" for s in document.sections])
    assert read_words.split() == " ".join(lines).split()


@given(st.lists(ASCII_LINE, min_size=1, max_size=4), st.booleans(),
       st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)),
                min_size=1, max_size=6),
       st.none() | st.integers(0, 10_000))
def test_a_damaged_pdf_is_read_or_refused_clearly(folder: Path, lines: list[str],
                                                  compress: bool,
                                                  changes: list[tuple[int, bytes]],
                                                  cut: int | None) -> None:
    content = bytearray(pdf(lines, compress))
    for at, replacement in changes:
        at %= len(content)
        content[at:at + len(replacement)] = replacement
    read("damaged PDF", folder, ".pdf", bytes(content[:cut]))
