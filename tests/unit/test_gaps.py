"""Knowledge gaps: unanswered service questions grouped by meaning, from the gap log."""

from __future__ import annotations

from bot.review.gaps import group_questions, knowledge_gaps
from bot.store.db import migrate, session_scope
from bot.store.models import KnowledgeQuery

QUESTIONS = ["can i hire a bike in the park", "is there bike hire at millbrook",
             "can i send a fax from the library", "is there a fax machine",
             "does the library have a 3d printer", "is there a skate park",
             "where can my son skateboard", "can i get married in the park",
             "are weddings allowed in millbrook park", "can i borrow a laptop",
             "do you lend laptops", "is there wifi in the park", "free wifi?"]


def test_questions_about_one_topic_are_grouped_and_topics_kept_apart() -> None:
    groups = [{QUESTIONS[i] for i in g} for g in group_questions(QUESTIONS)]
    for pair in ({"can i send a fax from the library", "is there a fax machine"},
                 {"can i borrow a laptop", "do you lend laptops"},
                 {"can i get married in the park", "are weddings allowed in millbrook park"}):
        assert pair in groups
    wedding = next(g for g in groups if "can i get married in the park" in g)
    assert not any("bike" in q for q in wedding)
    assert sorted(i for g in group_questions(QUESTIONS) for i in g) == list(range(13))


def test_tiny_inputs() -> None:
    assert group_questions([]) == [] and group_questions(["one"]) == [[0]]


def test_gaps_come_from_unanswered_questions_with_counts(sqlite_url: str) -> None:
    migrate(sqlite_url)
    with session_scope(sqlite_url) as session:
        for text, answered, forwarded in [("Can I send a fax?", False, True),
                                          ("can i send a  fax?", False, False),
                                          ("is there a fax machine", False, False),
                                          ("when does the library open", True, False),
                                          ("is there a skate park", False, False)]:
            session.add(KnowledgeQuery(text=text, collections=[], answered=answered,
                                       top_score=0.3, hits=[], forwarded=forwarded))
    with session_scope(sqlite_url) as session:
        gaps = knowledge_gaps(session)
    assert [g.count for g in gaps] == [3, 1]
    fax = gaps[0]
    assert fax.forwarded == 1 and len(fax.questions) == 2  # the repeated question once
    assert all("fax" in q.lower() for q in fax.questions)
    assert gaps[1].label == "is there a skate park"
