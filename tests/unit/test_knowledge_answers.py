"""Unit tests of how a grounded answer is worded (bot.knowledge.answers.shorten, compose)."""

from __future__ import annotations

from bot.knowledge.answers import MAX_ANSWER_CHARS, Coverage, compose, shorten
from bot.knowledge.index import PassageMeta
from bot.knowledge.search import Hit

FILLER = " ".join(f"Sentence {n} is about something else entirely." for n in range(12))


def hit(text: str, *, document: str = "library.md", title: str = "Library",
        section: str = "Opening hours", url: str | None = None,
        similarity: float = 0.7) -> Hit:
    passage = PassageMeta(1, "library", document, title, section, url, text)
    return Hit(passage, similarity, similarity)


def test_a_short_passage_is_shown_whole() -> None:
    text = "The library opens at 9am. It closes at 5pm."
    assert shorten("when does it open?", text) == text


def test_a_long_passage_keeps_the_sentences_that_answer_in_their_order() -> None:
    text = (f"{FILLER} On Saturdays the library opens at 10am. {FILLER} "
            "Saturday closing is at 4pm.")
    short = shorten("what time does the library open on saturdays?", text)
    assert len(short) <= MAX_ANSWER_CHARS
    assert short.splitlines()[0] == "On Saturdays the library opens at 10am."
    assert "Saturday closing is at 4pm." in short
    assert "something else" not in short.splitlines()[0]


def test_accents_and_possessives_do_not_hide_the_answering_sentence() -> None:
    text = f"{FILLER} The café serves hot food until 2pm. {FILLER}"
    assert shorten("where's the cafe?", text).startswith("The café serves hot food")


def test_without_shared_words_the_passage_start_is_shown_within_the_limit() -> None:
    short = shorten("zebra crossings?", FILLER + " " + FILLER)
    assert short.startswith("Sentence 0 is about")
    assert len(short) <= MAX_ANSWER_CHARS


def test_a_covered_answer_cites_its_source_with_the_link() -> None:
    answer = compose("when does it open?",
                     [hit("The library opens at 9am.", url="https://example.org/library")],
                     Coverage(True))
    assert answer.covered
    assert answer.text == ("The library opens at 9am.\n\n"
                           "Source: Library › Opening hours (https://example.org/library)")


def test_a_second_passage_about_as_relevant_is_shown_with_its_source() -> None:
    # Same document, another section: the second passage is the one that answers.
    hits = [hit("Easter Sunday: closed.", section="Easter weekend", similarity=0.76),
            hit("Thursday: 10:00 to 19:00. Sunday: 11:00 to 15:00.", section="Northgate",
                similarity=0.75)]
    answer = compose("is the northgate library open late on thursdays?", hits,
                     Coverage(True))
    assert [title for title, _ in answer.sources] == ["Library › Easter weekend",
                                                      "Library › Northgate"]
    assert answer.text == ("Easter Sunday: closed.\n\n"
                           "Source: Library › Easter weekend\n\n"
                           "Thursday: 10:00 to 19:00. Sunday: 11:00 to 15:00.\n\n"
                           "Source: Library › Northgate")


def test_a_clearly_less_relevant_passage_is_not_shown() -> None:
    hits = [hit("The library opens at 9am.", similarity=0.70),
            hit("Branch libraries open at 10am.", document="branches.md", title="Branches",
                similarity=0.64)]
    answer = compose("when does it open?", hits, Coverage(True))
    assert [title for title, _ in answer.sources] == ["Library › Opening hours"]
    assert "Branch" not in answer.text


def test_a_second_passage_more_similar_than_the_first_is_shown() -> None:
    # Hybrid ranking can put a lexical match first ("cost" in a price list).
    hits = [hit("Lost items cost the replacement price.", section="Lost items",
                similarity=0.37),
            hit("Printing costs 10p a page in black and white.", section="Printing",
                similarity=0.57)]
    answer = compose("how much does it cost to print a page?", hits, Coverage(True))
    assert "10p a page" in answer.text


def test_not_covered_says_so_plainly_and_cites_nothing() -> None:
    answer = compose("can I get a passport photo?", [hit("The library opens at 9am.")],
                     Coverage(False, ("passport", "photo")))
    assert not answer.covered and not answer.closest
    assert answer.text == "The council’s documents don’t cover this."
    assert answer.missing_terms == ("passport", "photo")  # kept for the gap log
    assert answer.sources == []


def test_the_closest_passage_is_offered_as_one_that_may_answer() -> None:
    answer = compose("does my nan's library open on sundays?",
                     [hit("The library opens on Sundays from 11am.")],
                     Coverage(False, ("nan",), closest=True))
    assert answer.closest
    assert answer.text.startswith("I’m not sure, but this may answer it:\n\n"
                                  "The library opens on Sundays from 11am.")
    assert "find" not in answer.text and "cover" not in answer.text  # no "nothing found"


def test_a_confident_answer_carries_no_caveat() -> None:
    answer = compose("does the library open on sundays?",
                     [hit("The library opens on Sundays from 11am.")], Coverage(True))
    assert answer.text.startswith("The library opens on Sundays from 11am.")
    assert "not sure" not in answer.text and "cover" not in answer.text
