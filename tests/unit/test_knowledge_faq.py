"""FAQ-aware retrieval: an FAQ entry's question is searched on its own as well as with
its answer (dense and lexical), the aliases reach every machine through the database,
and FAQ files get a real title."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from bot.knowledge import generations
from bot.knowledge import index as ix
from bot.knowledge.chunking import chunk_document
from bot.knowledge.documents import faq_title, read_document
from bot.knowledge.embedder import embed, embed_query
from bot.knowledge.ingest import ingest
from bot.knowledge.search import KnowledgeSearcher
from bot.store.db import migrate, session_scope
from bot.store.models import KnowledgeDocument, KnowledgePassage

#: Answers that do not repeat their question's words (as real FAQs often do not).
FAQ = [("Do I need planning permission to paint my front door?",
        "Normally not, as long as the building is not listed and it is not in a "
        "conservation area."),
       ("When are bins collected after a bank holiday?",
        "One day later than usual for the rest of that week."),
       ("Can I pay my council tax in instalments?",
        "Yes: ten monthly payments from April, or twelve if you ask us.")]
PARAPHRASE = "do i have to ask permission before painting the door of my house"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An FAQ file and a page that shares words with the paraphrase but answers nothing."""
    docs = tmp_path / "council"
    docs.mkdir()
    rows = "".join(f'"{q}","{a}"\n' for q, a in FAQ)
    (docs / "council-faq.csv").write_text("question,answer\n" + rows)
    (docs / "painting.md").write_text(
        "# Painting and decorating grants\n\nThe council paints railings and house doors "
        "in sheltered housing every five years. Ask your housing officer before painting "
        "anything yourself.\n")
    return docs


def ingest_into(url: str, var: Path, folder: Path) -> None:
    migrate(url)
    with session_scope(url) as session:
        report = ingest(session, [folder], "council", var)
    assert not report.failed, report.failed


def test_faq_files_get_a_real_title() -> None:
    assert faq_title("faq.csv") == "Frequently asked questions"
    assert faq_title("libraries-faq.csv") == "Libraries: frequently asked questions"
    assert faq_title("waste_services.jsonl") == "Waste services: frequently asked questions"
    assert faq_title("sub/FAQs.csv") == "Frequently asked questions"


def test_an_faq_question_is_also_matched_on_its_own(tmp_path: Path, folder: Path) -> None:
    ingest_into(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "var", folder)
    live = ix.current_generation(tmp_path / "var")
    assert live is not None
    manifest, metadata = ix.read_generation(live)
    passages = metadata["council"]
    faq_rows = [i for i, p in enumerate(passages) if p.document == "council-faq.csv"]
    assert ix.aliases_of(manifest, "council") == faq_rows and len(faq_rows) == len(FAQ)
    assert {passages[i].title for i in faq_rows} == {"Council: frequently asked questions"}

    query = embed_query(PARAPHRASE)
    alone = float(np.dot(query, embed([FAQ[0][0]])[0]))
    hits = KnowledgeSearcher(tmp_path / "var").search(PARAPHRASE, ["council"], k=4,
                                                      mode="dense")
    best = hits[0]
    assert best.passage.section == FAQ[0][0]
    # The entry's similarity is its question's on its own, higher than with the answer.
    assert best.similarity == pytest.approx(alone, abs=1e-3)  # batch rounding
    with_answer = float(np.dot(query, embed([f"{best.passage.title} — {FAQ[0][0]}: "
                                             f"{FAQ[0][1]}"])[0]))
    assert alone > with_answer
    # Each passage once, whether found through itself or its question.
    assert len({hit.passage.id for hit in hits}) == len(hits) == 4


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_lexical_and_hybrid_search_fold_aliases_onto_their_passage(
        tmp_path: Path, folder: Path, mode: str) -> None:
    ingest_into(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "var", folder)
    searcher = KnowledgeSearcher(tmp_path / "var")
    hits = searcher.search("council tax instalments", ["council"], k=4, mode=mode)  # type: ignore[arg-type]
    assert hits[0].passage.section == FAQ[2][0]
    assert len({hit.passage.id for hit in hits}) == len(hits)
    # A hit found by BM25 only gets the better of its two dense similarities.
    query = embed_query("council tax instalments")
    alone = float(np.dot(query, embed([FAQ[2][0]])[0]))
    assert hits[0].similarity >= alone - 1e-3


def test_another_machine_builds_the_same_aliases_from_the_database(
        tmp_path: Path, folder: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ingest_into(url, tmp_path / "var", folder)
    with session_scope(url) as session:
        built = generations.build_local(session, tmp_path / "elsewhere", None)
    here = ix.current_generation(tmp_path / "var")
    assert here is not None
    assert json.loads((built / "manifest.json").read_text())["collections"] == \
        json.loads((here / "manifest.json").read_text())["collections"]
    elsewhere = KnowledgeSearcher(tmp_path / "elsewhere").search(PARAPHRASE, ["council"], k=1)
    assert elsewhere[0].passage.section == FAQ[0][0]


def test_a_generation_written_before_aliases_still_loads(tmp_path: Path, folder: Path) -> None:
    ingest_into(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "var", folder)
    with session_scope(f"sqlite:///{tmp_path / 'a.db'}") as session:
        stored = generations.read_stored(session).collections["council"]
    old = ix.write_generation(tmp_path / "old", {"council": ix.IndexedCollection(
        stored.passages, stored.vectors)})  # no alias rows, as before aliases existed
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["collections"]["council"].pop("aliases")
    (old / "manifest.json").write_text(json.dumps(manifest))
    hits = KnowledgeSearcher(tmp_path / "old").search(PARAPHRASE, ["council"], k=5)
    assert len(hits) == len(stored.passages)


def test_faq_files_stored_before_question_embeddings_get_them_on_the_next_ingest(
        tmp_path: Path, folder: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    ingest_into(url, tmp_path / "var", folder)
    with session_scope(url) as session:  # as an earlier release left them
        session.execute(update(KnowledgePassage).values(question_embedding=None))
        session.execute(update(KnowledgeDocument).values(content_hash="stored-by-release-1"))
    with session_scope(url) as session:
        report = ingest(session, [folder], "council", tmp_path / "var")
    assert "council-faq.csv" in report.updated
    assert report.passages_embedded == 0  # the passages' own embeddings are reused
    live = ix.current_generation(tmp_path / "var")
    assert live is not None
    assert len(ix.aliases_of(ix.read_generation(live)[0], "council")) == len(FAQ)


def test_only_faq_entries_carry_their_question(folder: Path) -> None:
    faq = chunk_document(read_document(folder / "council-faq.csv", relative_to=folder))
    page = chunk_document(read_document(folder / "painting.md", relative_to=folder))
    assert [p.question for p in faq] == [q for q, _ in FAQ]
    assert all(p.question is None for p in page)
