"""Term grounding: which question words the evidence does not mention."""

from __future__ import annotations

import pytest

from bot.knowledge.grounding import TermGrounder, content_terms
from bot.knowledge.text import words

EVIDENCE = ["Opening hours. Central Library opens 9am to 5pm on Saturdays. Children under 8 "
            "must be with an adult. Barbecues are not allowed in the library garden."]


@pytest.fixture(scope="module")
def grounder() -> TermGrounder:
    return TermGrounder()


def test_words_keep_hyphens_and_drop_apostrophes() -> None:
    assert words("What's the e-reader’s café? Don't") == ["what", "the", "e-reader", "café",
                                                          "dont"]


def test_a_possessive_is_grounded_by_the_word_itself(grounder: TermGrounder) -> None:
    assert grounder.ungrounded("how long's the wait for my son's allotment",
                               ["Allotments: the wait is long; a son may inherit one."]) == []


def test_content_terms_drop_stopwords_digits_and_repeats() -> None:
    assert content_terms("Can I send a FAX, a fax, from the library at 9?") == \
        ["send", "fax", "library"]


def test_words_of_the_evidence_and_their_plurals_are_grounded(grounder: TermGrounder) -> None:
    assert grounder.ungrounded("when does the library open on saturday", EVIDENCE) == []


def test_a_spelling_slip_is_grounded(grounder: TermGrounder) -> None:
    assert grounder.ungrounded("libary opening", EVIDENCE) == []


def test_a_close_meaning_is_grounded(grounder: TermGrounder) -> None:
    assert grounder.ungrounded("can kids have a bbq", EVIDENCE) == []


def test_what_the_evidence_never_mentions_is_reported(grounder: TermGrounder) -> None:
    assert grounder.ungrounded("can I send a fax from the library", EVIDENCE) == ["fax", "send"]
    assert grounder.ungrounded("is there a skate ramp", EVIDENCE) == ["skate", "ramp"]


def test_no_evidence_grounds_nothing(grounder: TermGrounder) -> None:
    assert grounder.ungrounded("library hours", []) == ["library", "hours"]


def test_learn_embeds_the_vocabulary_once_and_respects_the_limit() -> None:
    fresh = TermGrounder()
    assert fresh.learn(EVIDENCE, limit=5) == 0
    learnt = fresh.learn(EVIDENCE)
    assert learnt == len(set(words(EVIDENCE[0])))
    assert fresh.learn(EVIDENCE) == learnt  # cached: same vocabulary, nothing new


def test_learning_an_empty_knowledge_base_is_a_no_op() -> None:
    assert TermGrounder().learn([]) == 0


def test_backstory_words_need_no_grounding(grounder: TermGrounder) -> None:
    assert grounder.ungrounded(
        "my nan is visiting with her umbrella, when does the library open on saturday",
        EVIDENCE) == []
    assert grounder.ungrounded("my nan is visiting, can she send a fax", EVIDENCE) == \
        ["fax", "send"]


def test_accents_do_not_matter(grounder: TermGrounder) -> None:
    assert grounder.ungrounded("is there a cafe", ["The café opens at 9am."]) == []
    assert grounder.ungrounded("is there a café", ["The cafe opens at 9am."]) == []


def test_matches_score_every_asked_word(grounder: TermGrounder) -> None:
    scores = dict((term, score) for score, term in grounder.matches(
        "can kids send a fax from the library", EVIDENCE))
    assert set(scores) == {"kids", "send", "fax", "library"}
    assert scores["library"] == 1.0
    assert scores["fax"] < scores["kids"] < 1.0
    assert grounder.matches("library hours", []) == [(0.0, "library"), (0.0, "hours")]
