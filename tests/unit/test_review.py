"""Review figures and coding on consultations taken through the real conversation engine."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.consultations.schema import parse_consultation
from bot.dialogue.engine import ConversationEngine
from bot.review import coding, stats
from bot.review.coding import AnswerFilter, CodingError
from bot.store import repository
from bot.store.db import migrate, session_scope
from bot.store.models import Participant
from bot.store.review_models import AnswerTag
from tests.unit.test_engine import (
    LIBRARY,
    LIBRARY_FILE,
    SECRET,
    Citizen,
    _Today,
    at_summary,
    at_times,
    launch,
)

OPEN_KEY = "hours_reasons"


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store with the library consultation launched (as the engine tests have it)."""
    monkeypatch.setattr(repository, "date", _Today)
    migrate(sqlite_url)
    launch(sqlite_url, LIBRARY_FILE)
    return sqlite_url


@pytest.fixture
def bot(db: str) -> ConversationEngine:
    return ConversationEngine(Settings(database_url=db, secret_key=SECRET))


def library_id(url: str) -> int:
    with session_scope(url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        return consultation.id


@pytest.fixture
def taken(db: str, bot: ConversationEngine) -> str:
    """Two completed participations (rest, telegram), one stopped early, one declined."""
    for sender, channel in (("a", "rest"), ("b", "telegram")):
        citizen = Citizen(bot, sender, channel)
        at_summary(citizen)
        citizen.press("/submit")
    at_times(Citizen(bot, "c", "web"))
    declined = Citizen(bot, "d", "web")
    declined.press("/start_consultation{\"consultation\":\"library-hours-2027\"}")
    declined.press("/deny")
    return db


def test_overview_counts_participants_completion_and_channels(taken: str) -> None:
    with session_scope(taken) as session:
        (library,) = [s for s in stats.overview(session) if s.slug == LIBRARY]
    assert (library.participants, library.completed) == (3, 2)
    assert library.channels == {"rest": 1, "telegram": 1, "web": 1}
    assert library.completion_rate == pytest.approx(2 / 3)
    assert library.status == "open" and library.title


def test_funnel_counts_openings_without_storing_who_declined(
        taken: str, bot: ConversationEngine) -> None:
    declined = Citizen(bot, "d", "web").key
    with session_scope(taken) as session:
        funnel = stats.funnel(session, library_id(taken))
        assert session.get(Participant, declined) is None
    assert (funnel.opened, funnel.consented, funnel.completed) == (4, 3, 2)
    reached = {step.key: step.reached for step in funnel.steps}
    assert reached["visits"] == 3 and reached[OPEN_KEY] == 2
    assert [s.position for s in funnel.steps] == sorted(s.position for s in funnel.steps)


def test_choice_results_count_each_option_in_order(taken: str) -> None:
    with session_scope(taken) as session:
        questions = {q.key: q for q in stats.current_questions(session, library_id(taken))}
        visits = stats.choice_results(session, library_id(taken), questions["visits"])
        times = stats.choice_results(session, library_id(taken), questions["preferred_times"])
        scale = stats.choice_results(session, library_id(taken), questions["evenings"])
    assert visits.answered == 3 and sum(count for _, count in visits.counts) == 3
    assert [option for option, _ in visits.counts] == questions["visits"].definition["options"]
    assert sum(count for _, count in times.counts) == 2  # one pick each
    assert [point for point, _ in scale.counts] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("scan_share", [0.0, 2.0])  # SQLite: scan the table, or the index
def test_every_questions_results_at_once_equal_them_one_by_one(
        database_url: str, monkeypatch: pytest.MonkeyPatch, scan_share: float) -> None:
    monkeypatch.setattr(repository, "date", _Today)
    monkeypatch.setattr(stats, "SCAN_SHARE", scan_share)
    migrate(database_url)
    launch(database_url, LIBRARY_FILE)
    bot = ConversationEngine(Settings(database_url=database_url, secret_key=SECRET))
    for sender, channel in (("a", "rest"), ("b", "telegram")):
        citizen = Citizen(bot, sender, channel)
        at_summary(citizen)
        citizen.press("/submit")
    at_times(Citizen(bot, "c", "web"))
    # A second version renames an option: the first version's answers still count.
    renamed = LIBRARY_FILE.read_text(encoding="utf-8").replace("Monthly", "Once a month")
    with session_scope(database_url) as session:
        repository.launch_consultation(session, parse_consultation(renamed), renamed)
    with session_scope(database_url) as session:
        questions = stats.current_questions(session, library_id(database_url))
        together = stats.question_results(session, library_id(database_url), questions)
        alone = {q.key: stats.choice_results(session, library_id(database_url), q)
                 for q in questions}
        assert stats.question_results(session, library_id(database_url), []) == {}
    assert together == alone and list(together) == [q.key for q in questions]
    visits = together["visits"]
    assert [option for option, _ in visits.counts][-2:] == ["Rarely or never", "Monthly"]
    assert dict(visits.counts)["Once a month"] == 0
    assert sum(count for _, count in visits.counts) == visits.answered == 3
    assert sum(count for _, count in together["preferred_times"].counts) == 2
    assert (together[OPEN_KEY].answered, together[OPEN_KEY].counts) == (2, [])


def test_open_answers_filter_tag_and_review(taken: str) -> None:
    consultation = library_id(taken)
    with session_scope(taken) as session:
        answers, total = coding.open_answers(session, consultation, OPEN_KEY)
        assert total == 2 and {a.channel for a in answers} == {"rest", "telegram"}
        assert all("Studying after work" in a.text and a.quote_consent for a in answers)
        only_telegram, total = coding.open_answers(session, consultation, OPEN_KEY,
                                                   AnswerFilter(channel="telegram"))
        assert total == 1 and only_telegram[0].channel == "telegram"
        assert coding.open_answers(session, consultation, OPEN_KEY,
                                   AnswerFilter(search="STUDYING"))[1] == 2
        assert coding.open_answers(session, consultation, OPEN_KEY,
                                   AnswerFilter(search="100%_"))[1] == 0
        study = coding.add_tag(session, consultation, "  Study   space ", "Quiet places")
        family = coding.add_tag(session, consultation, "Family")
        with pytest.raises(CodingError, match="already has"):
            coding.add_tag(session, consultation, "study space")
        target = only_telegram[0].id
        coding.set_tags(session, consultation, target, [study.id, family.id], None)
        coding.review_answer(session, consultation, target, note="<b>good</b> example",
                             reviewed=True, user_id=None)
    with session_scope(taken) as session:
        tagged, total = coding.open_answers(session, consultation, OPEN_KEY,
                                            AnswerFilter(tag_id=study.id))
        assert total == 1 and tagged[0].tags == ["Family", "Study space"]
        assert tagged[0].note == "<b>good</b> example" and tagged[0].reviewed
        assert coding.open_answers(session, consultation, OPEN_KEY,
                                   AnswerFilter(reviewed=False))[1] == 1
        assert coding.tag_counts(session, consultation) == {
            OPEN_KEY: {"Family": 1, "Study space": 1}}
        coding.set_tags(session, consultation, target, [family.id], None)
        with pytest.raises(CodingError, match="codebook"):
            coding.set_tags(session, consultation, target, [9999], None)
        with pytest.raises(CodingError, match="no such answer"):
            coding.review_answer(session, consultation, 9999, note="", reviewed=True,
                                 user_id=None)


def test_erasing_a_citizen_erases_their_tags_and_notes(taken: str, bot: ConversationEngine
                                                       ) -> None:
    consultation = library_id(taken)
    with session_scope(taken) as session:
        answers, _ = coding.open_answers(session, consultation, OPEN_KEY)
        tag = coding.add_tag(session, consultation, "Evening")
        for answer in answers:
            coding.set_tags(session, consultation, answer.id, [tag.id], None)
    with session_scope(taken) as session:
        repository.erase_participant(session, Citizen(bot, "a", "rest").key)
    with session_scope(taken) as session:
        assert len(session.scalars(select(AnswerTag)).all()) == 1
        assert coding.open_answers(session, consultation, OPEN_KEY)[1] == 1


def _many_open_answers(bot: ConversationEngine) -> None:
    """Twelve citizens answer the open question in two clear themes."""
    texts = ["Studying quietly for my exams", "A quiet desk to revise", "Silent study space",
             "Revising for college in peace", "Somewhere calm to study", "Quiet revision",
             "Borrowing books for my kids", "Picking up my reserved books",
             "Taking out novels", "Borrowing audiobooks", "Returning and borrowing books",
             "Choosing new books to borrow"]
    for number, text in enumerate(texts):
        citizen = Citizen(bot, f"t{number}", "rest")
        at_times(citizen)
        citizen.choose("preferred_times:3")
        citizen.choose("preferred_times:done")
        citizen.choose("evenings:4")
        citizen.choose("trade_off:1")
        citizen.choose("services:1")
        citizen.choose("services:done")
        citizen.say(text)


def test_themes_are_stored_renamed_merged_split_and_tagged(
        db: str, bot: ConversationEngine) -> None:
    from bot.review import theme_store

    _many_open_answers(bot)
    consultation = library_id(db)
    seen: list[float] = []
    with session_scope(db) as session:
        count = theme_store.recompute_themes(session, consultation, OPEN_KEY,
                                             lambda _, done: seen.append(done))
        assert count >= 2 and seen[-1] == 1.0
    with session_scope(db) as session:
        views = theme_store.themes_of(session, consultation, OPEN_KEY)
        assert sum(v.size for v in views) == 12
        assert all(1 <= len(v.quotes) <= 3 for v in views)
        first = views[0]
        theme_store.rename_theme(session, consultation, first.id, "  Quiet   study ")
        with pytest.raises(CodingError, match="needs a name"):
            theme_store.rename_theme(session, consultation, first.id, "   ")
    with session_scope(db) as session:
        theme_store.merge_themes(session, consultation, first.id,
                                 [v.id for v in views[1:]])
    with session_scope(db) as session:
        (merged,) = theme_store.themes_of(session, consultation, OPEN_KEY)
        assert merged.label == "Quiet study" and merged.size == 12
        assert theme_store.split_theme(session, consultation, merged.id) == 2
    with session_scope(db) as session:
        split = theme_store.themes_of(session, consultation, OPEN_KEY)
        assert len(split) == 2 and sum(v.size for v in split) == 12
        tag = theme_store.theme_to_tag(session, consultation, split[0].id)
        tag_again = theme_store.theme_to_tag(session, consultation, split[0].id)
        assert tag.id == tag_again.id
        assert coding.tag_counts(session, consultation)[OPEN_KEY][tag.name] == split[0].size
        with pytest.raises(CodingError, match="no such theme"):
            theme_store.rename_theme(session, consultation, 99999, "x")
