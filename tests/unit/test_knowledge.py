"""The knowledge base: reading each format, chunking, incremental ingest, removal,
atomic index swaps under concurrent searches, collection scoping and the CLI."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.knowledge import index as ix
from bot.knowledge.chunking import MAX_WORDS, chunk_document, split_text
from bot.knowledge.documents import DocumentError, FaqFields, faq_title, read_document
from bot.knowledge.ingest import ingest, remove_document
from bot.knowledge.search import FUSION, Fusion, KnowledgeSearcher
from bot.store.db import migrate, session_scope


def minimal_pdf(lines: list[str]) -> bytes:
    """A small valid PDF with one text line per entry (Helvetica)."""
    text_ops = " ".join(f"72 {720 - 20 * i} Td ({line}) Tj 0 0 Td" if i == 0 else
                        f"0 -20 Td ({line}) Tj" for i, line in enumerate(lines))
    stream = f"BT /F1 12 Tf {text_ops} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream +
        b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"\
        .encode()
    return bytes(out)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A folder with one document of each format, a broken PDF and an empty file."""
    folder = tmp_path / "libraries"
    folder.mkdir()
    (folder / "hours.md").write_text(
        "# Library opening hours\n\nIntro text about the libraries.\n\n"
        "## Central Library\nOpen Monday to Friday 9:00 to 19:00 and Saturday 9:00 to 17:00. "
        "Closed on Sundays.\n\n## Northgate branch\nNorthgate opens on Sundays 11:00 to 15:00.\n")
    (folder / "joining.html").write_text(
        "<html><head><title>Join | Council</title>"
        "<link rel='canonical' href='https://www.riverside.example/join'></head><body>"
        "<nav><a href='/'>Home</a> Menu boilerplate</nav><h1>Joining the library</h1>"
        "<p>Anyone who lives, works or studies in the borough can join for free.</p>"
        "<h2>What to bring</h2><ul><li>Proof of address</li><li>Photo ID</li></ul>"
        "<footer>Copyright footer</footer></body></html>")
    (folder / "charges.pdf").write_bytes(minimal_pdf(
        ["Library charges 2026", "Printing costs 10p per black and white page."]))
    (folder / "faq.csv").write_text(
        'question,answer\n"How much is the late fee?","Late returns cost 25p a day, up to 5 '
        'pounds."\n"Can children join?","Yes, children of any age can join with a parent."\n')
    (folder / "more-faq.jsonl").write_text(
        json.dumps({"question": "Is there Wi-Fi?", "answer": "Free Wi-Fi in all libraries."})
        + "\n")
    (folder / "events.txt").write_text(
        "Library events\n\nRhyme time\n\nRhyme time for under-fives runs every Tuesday at "
        "10:30 in the children's library.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (folder / "empty.txt").write_text("")
    return folder


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, Path]:
    """A migrated SQLite store and a var folder."""
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    migrate(url)
    var = tmp_path / "var"
    var.mkdir()
    return url, var


@pytest.fixture
def library(docs: Path, store: tuple[str, Path]) -> KnowledgeSearcher:
    """``docs`` ingested as the libraries collection, and a searcher of the index."""
    url, var = store
    with session_scope(url) as session:
        ingest(session, [docs], "libraries", var)
    return KnowledgeSearcher(var)


def test_each_format_is_read_into_titled_sections(docs: Path) -> None:
    md = read_document(docs / "hours.md", docs)
    assert md.title == "Library opening hours" and md.format == "markdown"
    assert [s.heading for s in md.sections] == ["", "Central Library", "Northgate branch"]
    html = read_document(docs / "joining.html", docs)
    assert html.title == "Joining the library" and html.url == "https://www.riverside.example/join"
    body = " ".join(s.text for s in html.sections)
    assert "Proof of address" in body and "boilerplate" not in body and "footer" not in body
    pdf = read_document(docs / "charges.pdf", docs)
    assert pdf.format == "pdf" and "10p per black and white page" in pdf.sections[0].text
    faq = read_document(docs / "faq.csv", docs)
    assert [s.heading for s in faq.sections] == ["How much is the late fee?",
                                                 "Can children join?"]
    jsonl = read_document(docs / "more-faq.jsonl", docs)
    assert jsonl.sections[0].text == "Free Wi-Fi in all libraries."
    txt = read_document(docs / "events.txt", docs)
    assert txt.title == "Library events" and txt.sections[0].heading == "Rhyme time"


@pytest.mark.parametrize(("name", "message"), [
    ("broken.pdf", "broken or unreadable PDF"),
    ("empty.txt", "the file is empty"),
])
def test_broken_and_empty_files_are_reported_by_name(docs: Path, name: str,
                                                     message: str) -> None:
    with pytest.raises(DocumentError, match=message) as error:
        read_document(docs / name, docs)
    assert name in str(error.value)


@pytest.mark.parametrize(("lines", "message"), [
    ('{"question": "Wi-Fi?", "answer": "Yes."}\n{"question": "Cards?"', "line 2 is not valid JSON"),
    ('\n["Wi-Fi?", "Yes."]\n', "line 2 is not a JSON object"),
])
def test_a_broken_faq_jsonl_names_the_line(tmp_path: Path, lines: str, message: str) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text(lines)
    with pytest.raises(DocumentError, match=f"faq.jsonl: {message}"):
        read_document(path, tmp_path)


def test_faq_field_names_can_be_chosen(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("Q,A\nWhen?,Tomorrow.\n")
    with pytest.raises(DocumentError, match="--question-field"):
        read_document(path)
    document = read_document(path, faq=FaqFields("Q", "A"))
    assert document.sections[0].heading == "When?" and document.sections[0].text == "Tomorrow."


def test_long_sections_are_split_with_overlap() -> None:
    sentences = [f"Sentence number {i} talks about opening hours." for i in range(60)]
    chunks = split_text(" ".join(sentences))
    assert len(chunks) > 1
    assert all(len(chunk.split()) <= MAX_WORDS + 10 for chunk in chunks)
    for previous, following in itertools.pairwise(chunks):
        assert following.startswith(previous.splitlines()[-1])  # one sentence of overlap
    assert split_text("Short text.") == ["Short text."]


def test_passages_keep_title_section_and_hash(docs: Path) -> None:
    passages = chunk_document(read_document(docs / "hours.md", docs))
    assert passages[1].section == "Central Library" and passages[1].title == \
        "Library opening hours"
    assert passages[1].embedding_text().startswith("Library opening hours — Central Library:")
    assert len({p.content_hash for p in passages}) == len(passages)


def test_ingest_search_incremental_and_remove(docs: Path, store: tuple[str, Path]) -> None:
    url, var = store
    with session_scope(url) as session:
        first = ingest(session, [docs], "libraries", var)
    assert sorted(first.added) == ["charges.pdf", "events.txt", "faq.csv", "hours.md",
                                   "joining.html", "more-faq.jsonl"]
    assert len(first.failed) == 2 and any("broken.pdf" in f for f in first.failed)
    assert first.passages_embedded > 0

    searcher = KnowledgeSearcher(var)
    hits = searcher.search("is the library open on sunday", ["libraries"], k=3)
    assert hits[0].passage.document == "hours.md"
    assert searcher.search("how much does printing cost", ["libraries"], k=1)[0] \
        .passage.document == "charges.pdf"

    with session_scope(url) as session:
        again = ingest(session, [docs], "libraries", var)
    assert again.passages_embedded == 0 and len(again.unchanged) == 6

    (docs / "hours.md").write_text((docs / "hours.md").read_text() +
                                   "\n## Eastfield branch\nEastfield is closed on Mondays.\n")
    with session_scope(url) as session:
        changed = ingest(session, [docs], "libraries", var)
    assert changed.updated == ["hours.md"]
    assert changed.passages_embedded == 1  # only the new section; the rest is reused
    assert searcher.search("when is Eastfield closed", ["libraries"], k=1)[0] \
        .passage.section == "Eastfield branch"

    with session_scope(url) as session:
        assert remove_document(session, "libraries", "charges.pdf", var)
        assert not remove_document(session, "libraries", "nope.md", var)
    documents = {h.passage.document for h in searcher.search("printing", ["libraries"], k=10)}
    assert "charges.pdf" not in documents


def test_collections_are_searched_separately(docs: Path, store: tuple[str, Path],
                                             tmp_path: Path) -> None:
    url, var = store
    parks = tmp_path / "parks"
    parks.mkdir()
    (parks / "dogs.md").write_text("# Dogs in parks\n\nDogs must be on a lead near the pond.\n")
    with session_scope(url) as session:
        ingest(session, [docs], "libraries", var)
        ingest(session, [parks], "parks", var)
    searcher = KnowledgeSearcher(var)
    assert {h.passage.collection for h in searcher.search("dogs on a lead", ["libraries"])} \
        == {"libraries"}
    assert searcher.search("dogs on a lead", ["parks"])[0].passage.document == "dogs.md"
    everywhere = searcher.search("dogs on a lead", None, k=1)
    assert everywhere[0].passage.collection == "parks"


def test_modes_and_hnsw_index(library: KnowledgeSearcher) -> None:
    searcher = library
    for mode in ("dense", "bm25", "hybrid"):
        hits = searcher.search("late fee for returning books", ["libraries"], k=2,
                               mode=mode)  # type: ignore[arg-type]
        assert hits and hits[0].passage.document == "faq.csv", mode
    import numpy as np

    vectors = np.random.default_rng(1).normal(size=(300, 384)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    hnsw = ix.build_faiss(vectors, force_kind="hnsw")
    _, found = hnsw.search(vectors[:10], 1)
    assert list(found[:, 0]) == list(range(10))


def test_rebuild_swaps_atomically_under_concurrent_searches(docs: Path,
                                                            store: tuple[str, Path]) -> None:
    url, var = store
    with session_scope(url) as session:
        ingest(session, [docs], "libraries", var)
    searcher = KnowledgeSearcher(var)
    errors: list[BaseException] = []
    results: list[int] = []
    stop = threading.Event()

    def search_loop() -> None:
        reader = KnowledgeSearcher(var)
        while not stop.is_set():
            try:
                results.append(len(reader.search("opening hours", ["libraries"], k=3)))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=search_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    generations = set()
    try:
        for _ in range(5):
            with session_scope(url) as session:
                from bot.knowledge.ingest import rebuild_index

                generations.add(rebuild_index(session, var).name)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors
    assert results and all(count == 3 for count in results)
    assert len(generations) == 5
    live = ix.current_generation(var)
    assert live is not None and live.name in generations
    assert len(list((var / "knowledge").glob("gen-*"))) <= ix.KEEP_GENERATIONS
    assert searcher.search("opening hours", ["libraries"])  # old reader follows the swap


def test_cli_ingest_stats_search_json_and_queries(docs: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli.main import app

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("CODESIGN_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    result = runner.invoke(app, ["knowledge", "ingest", str(docs)])
    assert result.exit_code == 0, result.output
    assert "libraries: 6 added" in result.output and "broken.pdf" in result.output
    stats = runner.invoke(app, ["knowledge", "stats", "--json"])
    assert json.loads(stats.output)[0]["documents"] == 6
    found = runner.invoke(app, ["knowledge", "search", "is the library open on sundays",
                                "--collection", "libraries", "--k", "2", "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output)
    assert len(hits) == 2
    assert set(hits[0]) >= {"text", "title", "source", "collection", "score"}
    assert hits[0]["source"] == "hours.md"
    queries = tmp_path / "queries.txt"
    queries.write_text("what should I bring to join, proof of address?\n\nhow much is printing\n")
    lines = runner.invoke(app, ["knowledge", "search", "--queries", str(queries)]).output
    records = [json.loads(line) for line in lines.splitlines() if line.startswith("{")]
    assert [r["query"] for r in records] == ["what should I bring to join, proof of address?",
                                             "how much is printing"]
    assert records[0]["hits"][0]["source"] == "https://www.riverside.example/join"
    assert all({"covered", "closest", "missing_terms"} <= set(r) for r in records)
    assert all(isinstance(r["closest"], bool) and not (r["covered"] and r["closest"])
               for r in records)
    bad = runner.invoke(app, ["knowledge", "search", "x", "--collection", "nope"])
    assert bad.exit_code == 1 and "unknown collection" in bad.output
    removed = runner.invoke(app, ["knowledge", "remove", "faq.csv", "-c", "libraries"])
    assert removed.exit_code == 0


def test_a_generation_pruned_while_loading_gives_way_to_the_newer_one(
        docs: Path, store: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.knowledge import search
    from bot.knowledge.ingest import rebuild_index

    url, var = store
    with session_scope(url) as session:
        ingest(session, [docs], "libraries", var)
    real_read = ix.read_generation
    pruned: list[str] = []

    def read_while_rebuilt(path: Path) -> Any:
        if not pruned:  # two rebuilds land between reading CURRENT and the files
            pruned.append(path.name)
            with session_scope(url) as session:
                rebuild_index(session, var)
                rebuild_index(session, var)
            assert not path.exists()
        return real_read(path)

    monkeypatch.setattr(search.ix, "read_generation", read_while_rebuilt)
    searcher = KnowledgeSearcher(var)
    assert searcher.search("opening hours", ["libraries"], k=3)
    live = ix.current_generation(var)
    assert live is not None and pruned and live.name != pruned[0]
    assert searcher._loaded is not None and searcher._loaded[0] == live


def test_an_unreadable_live_generation_is_an_error(docs: Path,
                                                   store: tuple[str, Path]) -> None:
    url, var = store
    with session_scope(url) as session:
        ingest(session, [docs], "libraries", var)
    live = ix.current_generation(var)
    assert live is not None
    (live / "passages.json").unlink()
    with pytest.raises(FileNotFoundError):
        KnowledgeSearcher(var).collections()


def test_faq_files_get_a_real_title() -> None:
    assert faq_title("faq.csv") == "Frequently asked questions"
    assert faq_title("libraries-faq.csv") == "Libraries: frequently asked questions"
    assert faq_title("waste_services.jsonl") == "Waste services: frequently asked questions"
    assert faq_title("sub/FAQs.csv") == "Frequently asked questions"


def test_fusion_weighs_the_first_places_and_the_dense_ranking() -> None:
    plain = Fusion(k=60, dense_weight=1.0)
    assert plain.score(1, 1) == pytest.approx(2 / 61)  # reciprocal rank fusion as published
    assert plain.score(None, 3) == pytest.approx(1 / 63) and plain.score(None, None) == 0.0
    shipped = FUSION
    # first in one ranking and fifth in the other beats third in both with a small k ...
    assert shipped.score(1, 5) > shipped.score(3, 3)
    # ... and with the dense weight, a dense first beats a BM25 first
    assert shipped.score(1, 2) > shipped.score(2, 1)
    assert plain.score(1, 2) == plain.score(2, 1)
    for bad in ((0, 1.0), (5, 0.0), (-1, 1.5)):
        with pytest.raises(ValueError, match="fusion needs"):
            Fusion(*bad)


def test_the_hybrid_ranking_follows_the_fusion_it_is_given(library: KnowledgeSearcher) -> None:
    searcher = library
    query = "can my kids join the library"
    dense = [h.passage.id for h in searcher.search(query, k=8, mode="dense")]
    bm25 = [h.passage.id for h in searcher.search(query, k=8, mode="bm25")]
    assert dense[0] != bm25[0]  # the two rankings disagree on the best passage
    for fusion, expected in ((Fusion(1, 50.0), dense[0]), (Fusion(1, 0.02), bm25[0])):
        hits = searcher.search(query, k=3, fusion=fusion)
        assert hits[0].passage.id == expected, fusion
    assert [h.passage.id for h in searcher.search(query, k=3)] == \
        [h.passage.id for h in searcher.search(query, k=3, fusion=FUSION)]
