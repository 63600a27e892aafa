"""The agency's glossary: loading (errors name the line and field), the phrases a
question uses, search and the "not covered" decision using it, storage per collection
with the general glossary, ingest from a documents folder, and a change applying without
a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import glossaries
from bot.knowledge.glossary import (
    Glossary,
    GlossaryError,
    parse_csv,
    parse_yaml,
    read_folder,
    to_yaml,
)
from bot.knowledge.grounding import TermGrounder
from bot.knowledge.ingest import ingest
from bot.knowledge.service import KnowledgeService
from bot.store.db import migrate, session_scope

WASTE = """# Waste services
## Marsh Lane household recycling centre
The household recycling centre on Marsh Lane is open 8am to 4pm from October to March,
and 8am to 6pm from April to September.
## Bulky waste collection
We collect up to three bulky items, such as sofas and fridges, for £32.
"""
TIP = "what time does the marsh lane tip close in winter"


def test_a_yaml_glossary_maps_resident_phrases_to_document_terms() -> None:
    glossary = parse_yaml("# ours\ntip: household recycling centre\n"
                          "bin men: [collection crew, refuse collectors]\n")
    assert len(glossary) == 2
    assert [e.resident for e in glossary.found("When do the Bin  Men come?")] == ["bin men"]
    assert glossary.expand("is the tip open") == "is the tip open (household recycling centre)"
    assert glossary.expand("tips for recycling?") != "tips for recycling?"  # plural
    assert glossary.expand("multiple words") == "multiple words"
    assert glossary.alternatives("when do bin men come") == {
        "bin": [["collection", "crew"], ["refuse", "collectors"]],
        "men": [["collection", "crew"], ["refuse", "collectors"]]}


def test_a_longer_phrase_hides_the_shorter_one_inside_it() -> None:
    glossary = parse_yaml("bin: wheeled bin\nbin men: collection crew\n")
    assert [e.resident for e in glossary.found("the bin men missed us")] == ["bin men"]


@pytest.mark.parametrize(("text", "message"), [
    ("tip: [recycling centre\n", "line 2: not valid YAML"),
    ("- tip\n- dump\n", "must be a mapping"),
    ("tip: recycling centre\nbin men: []\n", "line 2, the documents' words for 'bin men'"),
    ("tip: recycling centre\n\nloo: 3\n", "line 3, the documents' words for 'loo'"),
    ("tip: recycling centre\n'': toilet\n", "line 2, the resident words"),
    ("tip: " + "very " * 10 + "long\n", "too long"),
])
def test_yaml_errors_name_the_line_and_the_field(text: str, message: str) -> None:
    with pytest.raises(GlossaryError, match=message):
        parse_yaml(text)


def test_a_csv_glossary_and_its_errors() -> None:
    glossary = parse_csv("resident,documents\ntip,household recycling centre; HRC\n")
    assert glossary.entries[0].documents == ("household recycling centre", "HRC")
    with pytest.raises(GlossaryError, match="line 1: the columns must include"):
        parse_csv("from,to\ntip,centre\n")
    with pytest.raises(GlossaryError, match="line 3, column 'documents'"):
        parse_csv("resident,documents\ntip,centre\nloo,\n")
    assert parse_yaml(to_yaml(glossary)) == glossary


def test_the_decision_counts_a_resident_word_where_a_passage_has_its_document_term() -> None:
    evidence = ["Marsh Lane household recycling centre: open 8am to 4pm in winter."]
    grounder = TermGrounder()
    glossary = parse_yaml("tip: household recycling centre\n")
    without = dict((term, score) for score, term in grounder.matches(TIP, evidence))
    with_it = dict((term, score) for score, term in grounder.matches(
        TIP, evidence, glossary.alternatives(TIP)))
    assert without["tip"] < 0.41 <= with_it["tip"] == 1.0
    assert with_it["winter"] == without["winter"]  # other words unchanged


@pytest.fixture
def waste(tmp_path: Path) -> tuple[str, Path, Path]:
    folder = tmp_path / "waste"
    folder.mkdir()
    (folder / "waste-services.md").write_text(WASTE)
    url = f"sqlite:///{tmp_path / 'codesign.db'}"
    migrate(url)
    return url, tmp_path / "var", folder


def test_ingest_stores_the_folders_glossary_and_does_not_read_it_as_a_document(
        waste: tuple[str, Path, Path]) -> None:
    url, var, folder = waste
    (folder / "glossary.csv").write_text("resident,documents\ntip,household recycling centre\n")
    with session_scope(url) as session:
        report = ingest(session, [folder], "waste", var)
        assert report.glossary == 1 and report.added == ["waste-services.md"]
        stored = glossaries.stored(session, "waste")
        assert stored is not None and stored.use_general
        assert parse_yaml(stored.text).expand("tip") == "tip (household recycling centre)"
    (folder / "glossary.csv").write_text("resident,documents\ntip,\n")
    with session_scope(url) as session:
        report = ingest(session, [folder], "waste", var)
    assert report.failed == ["glossary.csv, line 2, column 'documents': give the "
                             "documents' words for 'tip'"]


def test_a_glossary_change_answers_a_declined_question_without_a_restart(
        waste: tuple[str, Path, Path]) -> None:
    url, var, folder = waste
    with session_scope(url) as session:
        ingest(session, [folder], "waste", var)
        glossaries.save(session, "waste", "", use_general=False)
    service = KnowledgeService(var, database_url=url)
    service.glossaries.check_interval = 0.0
    declined = service.answer(TIP, ["waste"])
    assert not declined.covered
    with session_scope(url) as session:
        glossaries.save(session, "waste", "tip: household recycling centre\n",
                        use_general=False)
    answered = service.answer(TIP, ["waste"])
    assert answered.covered and "8am to 4pm" in answered.text
    assert "Marsh Lane household recycling centre" in answered.text  # the cited section


def test_the_general_glossary_applies_unless_switched_off(
        waste: tuple[str, Path, Path]) -> None:
    url, _, _ = waste
    book = glossaries.GlossaryBook(url, check_interval=0.0)
    assert book.for_collections(["waste"]).found("where is the tip")  # no row: general
    with session_scope(url) as session:
        glossaries.save(session, "waste", "bin men: collection crew\n", use_general=False)
    assert not book.for_collections(["waste"]).found("where is the tip")
    assert book.for_collections(["waste"]).found("when do the bin men come")
    with session_scope(url) as session:
        glossaries.save(session, "waste", "bin men: collection crew\n", use_general=True)
    assert book.for_collections(["waste"]).found("where is the tip")
    assert glossaries.GlossaryBook(None).for_collections(None) == glossaries.general()


def test_saving_a_broken_glossary_stores_nothing(waste: tuple[str, Path, Path]) -> None:
    url, _, _ = waste
    with session_scope(url) as session, pytest.raises(GlossaryError, match="not valid YAML"):
        glossaries.save(session, "waste", "tip: [unclosed\n")
    with session_scope(url) as session:
        assert glossaries.stored(session, "waste") is None


def test_the_general_glossary_loads_and_a_folder_without_one_has_none(tmp_path: Path) -> None:
    assert len(glossaries.general()) >= 15
    assert isinstance(glossaries.general(), Glossary)
    assert read_folder(tmp_path) is None
