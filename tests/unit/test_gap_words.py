"""Words the documents don't use (the Knowledge gaps pages): which words are listed, per
collection and consultation; an admin maps one to a document term (the glossary) or marks
it "not something we do" and undoes that; the access rules, CSRF, hostile citizen text and
redirects (FastAPI TestClient, SQLite, passages stored directly)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.knowledge import glossaries
from bot.knowledge.grounding import stem
from bot.review import gaps
from bot.review.gap_words import GapWord, gap_words, normalised_word
from bot.store.audit_models import AuditEntry
from bot.store.db import session_scope
from bot.store.models import (
    KnowledgeDocument,
    KnowledgeGapWord,
    KnowledgePassage,
    KnowledgeQuery,
)
from tests.unit.review_web_support import IMG, SCRIPT, Seeded, csrf_of, to_login
from tests.unit.test_user_admin import assert_accessible_form

GAPS = "/review/gaps"
MAP = "/review/admin/gap-words/map"
NOT_OFFERED = "/review/admin/gap-words/not-offered"
UNDO = "/review/admin/gap-words/undo"
START = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def add_document(session: Any, collection: str, title: str,
                 passages: list[tuple[str, str]]) -> None:
    """A document with its passages (section, text), stored as ingest would."""
    document = KnowledgeDocument(collection=collection, path=f"{title}.md", title=title,
                                 url=None, format="md", content_hash="h" * 64)
    session.add(document)
    session.flush()
    for position, (section, text) in enumerate(passages):
        session.add(KnowledgePassage(document_id=document.id, position=position,
                                     section=section, text=text, content_hash="p" * 64,
                                     embedding=b""))


def ask(session: Any, text: str, collections: list[str], *, answered: bool = False,
        disputed: bool = False, participation_id: int | None = None,
        minutes: int = 0) -> None:
    session.add(KnowledgeQuery(participation_id=participation_id, question_key=None, text=text,
                               collections=collections, answered=answered, hits=[],
                               disputed=disputed,
                               asked_at=START + timedelta(minutes=minutes)))


@pytest.fixture
def stocked(seeded: Seeded) -> Seeded:
    """Documents of ``libraries`` and ``parks``, a glossary, and unanswered questions."""
    with session_scope(seeded.url) as session:
        add_document(session, "libraries", "Library opening hours", [
            ("Weekdays", "The Central Library opens Monday to Saturday and lends books "
                         "and ebooks."),
            ("Printing", "Printers and photocopiers are on the first floor.")])
        add_document(session, "parks", "Riverside Park", [
            ("Dogs", "Dogs must be kept on a lead near the playground.")])
        glossaries.save(session, "libraries", "stacks: shelves\n", use_general=False)
        pid = seeded.participation_id
        ask(session, "Can I send a fax from the library?", ["libraries"],
            participation_id=pid, minutes=1)
        ask(session, "Is there a fax machine?", ["libraries"], answered=True, disputed=True,
            participation_id=pid, minutes=2)
        ask(session, "Do you have a FAX?", ["libraries"], participation_id=None, minutes=3)
        ask(session, "fax number please?", ["libraries"], answered=True, minutes=4)
        ask(session, "Can I borrow an ebook and some printer ink?", ["libraries"],
            participation_id=pid, minutes=5)
        ask(session, "Where are the stacks?", ["libraries"], participation_id=pid, minutes=6)
        ask(session, "Can I fly a drone?", ["parks"], participation_id=None, minutes=7)
    return seeded


def listed(url: str, consultation_id: int | None = None) -> dict[str, dict[str, GapWord]]:
    with session_scope(url) as session:
        return {c.collection: {w.word: w for w in c.words}
                for c in gap_words(session, consultation_id)}


# ------------------------------------------------------------------------- the words
def test_words_of_declined_and_disputed_questions_missing_from_the_documents(
        stocked: Seeded) -> None:
    words = listed(stocked.url)
    fax = words["libraries"]["fax"]
    assert fax.count == 3  # declined twice, disputed once; the answered one not counted
    assert fax.examples == ["Do you have a FAX?", "Is there a fax machine?",
                            "Can I send a fax from the library?"]  # most recent first
    assert fax.last_asked is not None
    assert fax.last_asked.replace(tzinfo=UTC) == START + timedelta(minutes=3)
    assert words["libraries"]["ink"].count == 1 and "machine" in words["libraries"]
    # in the documents (or a plural/ending of it), or mapped by the glossary: not listed
    for present in ("library", "ebook", "printer", "stacks", "number"):
        assert present not in words["libraries"], present
    assert stem("printers") == "printer"
    # per collection: the parks question counts for parks only
    assert {"fly", "drone"} <= set(words["parks"]) and "dogs" not in words["parks"]
    assert "drone" not in words["libraries"] and "fax" not in words["parks"]
    # the seeded hostile question searched every collection: counted for both
    assert "script" in words["libraries"] and "script" in words["parks"]


def test_the_words_of_one_consultation(stocked: Seeded) -> None:
    words = listed(stocked.url, stocked.consultation_id)
    assert words["libraries"]["fax"].count == 2  # the question outside it is left out
    assert "parks" in words and "drone" not in words["parks"]  # the hostile one is in it


def test_the_gaps_listing_filters_by_a_word(stocked: Seeded) -> None:
    with session_scope(stocked.url) as session:
        found = gaps.knowledge_gaps(session, word="fax")
        assert sorted(q for g in found for q in g.questions) == [
            "Can I send a fax from the library?", "Do you have a FAX?",
            "Is there a fax machine?"]
        assert sum(g.count for g in found) == 3
        assert gaps.knowledge_gaps(session, word="unheardof") == []
    assert normalised_word(" Fax ") == "fax"
    assert normalised_word("the") is None and normalised_word("two words") is None


# ------------------------------------------------------------------------- the page
def test_reviewers_see_the_words_without_the_forms(reviewer: TestClient,
                                                   stocked: Seeded) -> None:
    page = reviewer.get(GAPS)
    assert page.status_code == 200
    html = page.text
    assert "Words the documents don't use" in html
    assert "<caption>Words the documents of libraries don't use" in html
    assert re.search(r'<th scope="row"><a href="/review/gaps\?word=fax#gaps">fax</a></th>\s*'
                     r'<td class="num">3</td>', html)
    assert MAP not in html and NOT_OFFERED not in html
    # hostile citizen text is escaped
    assert SCRIPT not in html and IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    filtered = reviewer.get(f"{GAPS}?word=fax").text
    assert "Showing only the questions that use the word “fax”" in filtered
    assert "Where are the stacks?" not in filtered.split('id="gap-words"')[0]
    one = reviewer.get("/review/c/library-hours-2027/gaps").text
    assert re.search(r'<a href="/review/c/library-hours-2027/gaps\?word=fax#gaps">fax</a>'
                     r'</th>\s*<td class="num">2</td>', one)


def test_admins_get_accessible_forms(admin: TestClient, stocked: Seeded) -> None:
    html = admin.get(GAPS).text
    assert MAP in html and NOT_OFFERED in html
    assert 'name="csrf_token"' in html and "Map “fax” to a document term</label>" in html
    assert_accessible_form(html)


def post(client: TestClient, path: str, data: dict[str, str], csrf: bool = True) -> Any:
    if csrf:
        data = {**data, "csrf_token": csrf_of(client, "/review")}
    return client.post(path, data=data, follow_redirects=False)


def test_mapping_a_word_writes_the_glossary_and_the_word_goes(admin: TestClient,
                                                            stocked: Seeded) -> None:
    response = post(admin, MAP, {"collection": "libraries", "word": "fax", "term": "printers",
                                 "next": "/review/gaps#gap-words"})
    assert response.status_code == 303 and response.headers["location"] == \
        "/review/gaps#gap-words"
    page = admin.get(GAPS).text
    assert "Added “fax: printers” to the glossary of libraries." in page
    assert "do not use" not in page
    assert "fax" not in listed(stocked.url)["libraries"]
    with session_scope(stocked.url) as session:
        row = glossaries.stored(session, "libraries")
        assert row is not None and row.use_general is False  # the flag kept
        assert row.text.startswith("stacks: shelves\n") and '"fax": "printers"' in row.text
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "knowledge.gap_word")).one()
        assert entry.target == "libraries/fax" and entry.detail == {"change": "map",
                                                                    "entries": 2}
    # a term the documents don't use is saved, and the admin is told
    post(admin, MAP, {"collection": "libraries", "word": "ink", "term": "toner cartridge"})
    assert "the documents of libraries do not use “toner cartridge”" in admin.get(GAPS).text
    assert "ink" not in listed(stocked.url)["libraries"]
    # a collection without a glossary gets one, the general glossary on
    post(admin, MAP, {"collection": "parks", "word": "drone", "term": "dogs"})
    with session_scope(stocked.url) as session:
        row = glossaries.stored(session, "parks")
        assert row is not None and row.use_general and '"drone": "dogs"' in row.text
    # a bad term is refused with the parser's reason, nothing stored
    post(admin, MAP, {"collection": "libraries", "word": "machine", "term": "x " * 30})
    assert "“machine” was not added" in admin.get(GAPS).text
    assert "machine" in listed(stocked.url)["libraries"]


def test_marking_a_word_sets_it_apart_and_undo_brings_it_back(admin: TestClient,
                                                              stocked: Seeded) -> None:
    assert post(admin, NOT_OFFERED, {"collection": "libraries", "word": "fax",
                                     "next": "/review/c/library-hours-2027/gaps"}
                ).headers["location"] == "/review/c/library-hours-2027/gaps"
    with session_scope(stocked.url) as session:
        marked = {c.collection: c for c in gap_words(session)}["libraries"]
        assert "fax" not in {w.word for w in marked.words}
        (fax,) = [w for w in marked.not_offered if w.word == "fax"]
        assert fax.count == 3 and fax.marked_by == "admin@council.example"
        assert session.scalars(select(KnowledgeGapWord)).one().status == "not_offered"
    page = admin.get(GAPS).text
    assert "<caption>Marked “not something we do” in libraries</caption>" in page
    assert UNDO in page and "admin@council.example" in page
    # marked again: said so, nothing doubled
    post(admin, NOT_OFFERED, {"collection": "libraries", "word": "fax"})
    assert "already marked" in admin.get(GAPS).text
    assert post(admin, UNDO, {"collection": "libraries", "word": "fax"}).status_code == 303
    assert listed(stocked.url)["libraries"]["fax"].count == 3
    with session_scope(stocked.url) as session:
        assert session.scalars(select(KnowledgeGapWord)).all() == []
        changes = [e.detail["change"] for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "knowledge.gap_word")
            .order_by(AuditEntry.id))]
    assert changes == ["not_offered", "undo"]


def test_a_mark_without_questions_is_still_listed_to_undo(admin: TestClient,
                                                          stocked: Seeded) -> None:
    post(admin, NOT_OFFERED, {"collection": "libraries", "word": "parking"})
    with session_scope(stocked.url) as session:
        everything = {c.collection: c for c in gap_words(session)}
        assert [w.word for w in everything["libraries"].not_offered] == ["parking"]
        one = {c.collection: c for c in gap_words(session, stocked.consultation_id)}
        assert one["libraries"].not_offered == []


def test_only_admins_act_on_words(reviewer: TestClient, anonymous: TestClient,
                                  admin: TestClient, stocked: Seeded) -> None:
    data = {"collection": "libraries", "word": "fax", "term": "printers"}
    for path in (MAP, NOT_OFFERED, UNDO):
        assert post(reviewer, path, data).status_code == 403
        assert to_login(anonymous.post(path, data=data, follow_redirects=False))
        assert post(admin, path, data, csrf=False).status_code == 403
    assert "fax" in listed(stocked.url)["libraries"]
    with session_scope(stocked.url) as session:
        assert session.scalars(select(KnowledgeGapWord)).all() == []


@pytest.mark.parametrize("target", ["https://evil.example/review/gaps", "//evil.example/x",
                                    "/reviewer", "/review", "/elsewhere", "/review\\x"])
def test_a_redirect_outside_the_review_area_is_ignored(admin: TestClient, stocked: Seeded,
                                                       target: str) -> None:
    response = post(admin, NOT_OFFERED, {"collection": "libraries", "word": "fax",
                                         "next": target})
    assert response.status_code == 303 and response.headers["location"] == GAPS


def test_bad_input_changes_nothing(admin: TestClient, stocked: Seeded) -> None:
    post(admin, NOT_OFFERED, {"collection": "../etc", "word": "fax"})
    assert "That is not a collection name" in admin.get(GAPS).text
    post(admin, NOT_OFFERED, {"collection": "libraries", "word": "the"})
    assert "Give one word" in admin.get(GAPS).text
    post(admin, MAP, {"collection": "libraries", "word": "fax", "term": "  "})
    assert "word or phrase for “fax”: nothing was changed" in admin.get(GAPS).text
    post(admin, UNDO, {"collection": "libraries", "word": "fax"})
    assert "was not marked" in admin.get(GAPS).text
    post(admin, MAP, {"collection": "libraries", "word": "stacks", "term": "shelves"})
    assert "already has “stacks”" in admin.get(GAPS).text
    with session_scope(stocked.url) as session:
        assert session.scalars(select(KnowledgeGapWord)).all() == []
        row = glossaries.stored(session, "libraries")
        assert row is not None and row.text == "stacks: shelves\n"
