"""Themes kept in the store: compute for a question, rename, merge, split, turn into a tag."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.review.coding import CodingError, add_tag
from bot.review.themes import Progress, find_themes
from bot.review.themes import Theme as FoundTheme
from bot.store.models import Answer, ConsultationVersion, Participation, Question
from bot.store.review_models import AnswerTag, Tag, Theme, ThemeMember

QUOTES = 3


@dataclass(frozen=True)
class ThemeView:
    """A theme as the review page shows it."""

    id: int
    label: str
    keywords: list[str]
    size: int
    quotes: list[tuple[int, str, bool | None]]  # answer id, text, may it be quoted


def _open_answers(session: Session, consultation_id: int,
                  question_key: str) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Answer.id, Answer.raw_text, Answer.value)
        .join(Question, Answer.question_id == Question.id)
        .join(ConsultationVersion, Question.version_id == ConsultationVersion.id)
        .where(ConsultationVersion.consultation_id == consultation_id,
               Question.key == question_key, Question.type == "open",
               Answer.status == "answered")
        .order_by(Answer.id))
    return [(answer_id, (raw or str(value or "")).strip()) for answer_id, raw, value in rows
            if (raw or value)]


def _store(session: Session, consultation_id: int, question_key: str,
           answer_ids: list[int], found: list[FoundTheme]) -> list[Theme]:
    stored = []
    for theme in found:
        row = Theme(consultation_id=consultation_id, question_key=question_key,
                    label=theme.label[:200], keywords=theme.keywords)
        session.add(row)
        session.flush()
        session.add_all(ThemeMember(theme_id=row.id, answer_id=answer_ids[m], rank=rank)
                        for rank, m in enumerate(theme.members))
        stored.append(row)
    return stored


def recompute_themes(session: Session, consultation_id: int, question_key: str,
                     progress: Progress | None = None) -> int:
    """Replace the question's themes with freshly computed ones; returns how many.

    The clustering runs before anything is written, so a long run never holds a write
    lock (on SQLite that would block citizens' answers).
    """
    answers = _open_answers(session, consultation_id, question_key)
    found = find_themes([t for _, t in answers], progress=progress) if answers else []
    session.execute(delete(Theme).where(Theme.consultation_id == consultation_id,
                                        Theme.question_key == question_key))
    return len(_store(session, consultation_id, question_key, [a for a, _ in answers], found))


def themes_of(session: Session, consultation_id: int, question_key: str) -> list[ThemeView]:
    """The question's themes, largest first, each with its most representative quotes."""
    themes = list(session.scalars(select(Theme).where(Theme.consultation_id == consultation_id,
                                                      Theme.question_key == question_key)))
    if not themes:
        return []
    sizes = dict(session.execute(select(ThemeMember.theme_id, func.count())
                                 .where(ThemeMember.theme_id.in_([t.id for t in themes]))
                                 .group_by(ThemeMember.theme_id)).all())
    quotes: dict[int, list[tuple[int, str, bool | None]]] = {t.id: [] for t in themes}
    rows = session.execute(
        select(ThemeMember.theme_id, Answer.id, Answer.raw_text, Participation.quote_consent)
        .join(Answer, ThemeMember.answer_id == Answer.id)
        .join(Participation, Answer.participation_id == Participation.id)
        .where(ThemeMember.theme_id.in_([t.id for t in themes]), ThemeMember.rank < QUOTES)
        .order_by(ThemeMember.theme_id, ThemeMember.rank))
    for theme_id, answer_id, text, consent in rows:
        quotes[theme_id].append((answer_id, text or "", consent))
    views = [ThemeView(t.id, t.label, list(t.keywords), int(sizes.get(t.id, 0)), quotes[t.id])
             for t in themes]
    return sorted(views, key=lambda v: (-v.size, v.label))


def _theme(session: Session, consultation_id: int, theme_id: int) -> Theme:
    theme = session.get(Theme, theme_id)
    if theme is None or theme.consultation_id != consultation_id:
        raise CodingError("no such theme in this consultation")
    return theme


def rename_theme(session: Session, consultation_id: int, theme_id: int, label: str) -> None:
    """Give a theme a reviewer's name."""
    cleaned = " ".join(label.split())[:200]
    if not cleaned:
        raise CodingError("a theme needs a name")
    theme = _theme(session, consultation_id, theme_id)
    theme.label, theme.renamed = cleaned, True


def merge_themes(session: Session, consultation_id: int, into_id: int,
                 other_ids: list[int]) -> None:
    """Move the answers of ``other_ids`` into theme ``into_id`` and delete the others."""
    into = _theme(session, consultation_id, into_id)
    others = [_theme(session, consultation_id, i) for i in other_ids if i != into_id]
    if any(o.question_key != into.question_key for o in others):
        raise CodingError("only themes of the same question can be merged")
    next_rank = int(session.scalar(select(func.coalesce(func.max(ThemeMember.rank), -1))
                                   .where(ThemeMember.theme_id == into.id)) or 0) + 1
    for other in others:
        members = session.scalars(select(ThemeMember).where(ThemeMember.theme_id == other.id)
                                  .order_by(ThemeMember.rank)).all()
        for member in members:
            session.add(ThemeMember(theme_id=into.id, answer_id=member.answer_id,
                                    rank=next_rank))
            next_rank += 1
        session.delete(other)
    session.flush()


def split_theme(session: Session, consultation_id: int, theme_id: int, parts: int = 2) -> int:
    """Re-cluster one theme's answers into ``parts`` themes; returns how many were made."""
    theme = _theme(session, consultation_id, theme_id)
    rows = session.execute(select(Answer.id, Answer.raw_text)
                           .join(ThemeMember, ThemeMember.answer_id == Answer.id)
                           .where(ThemeMember.theme_id == theme.id)
                           .order_by(ThemeMember.rank)).all()
    if len(rows) < 2:
        raise CodingError("a theme needs at least two answers to be split")
    key = theme.question_key
    session.delete(theme)
    session.flush()
    found = find_themes([r[1] or "" for r in rows], themes=min(parts, len(rows)))
    made = _store(session, consultation_id, key, [r[0] for r in rows], found)
    return len(made)


def theme_to_tag(session: Session, consultation_id: int, theme_id: int) -> Tag:
    """Create a codebook tag named after the theme and tag all of its answers with it."""
    theme = _theme(session, consultation_id, theme_id)
    existing = session.scalar(select(Tag).where(Tag.consultation_id == consultation_id,
                                                func.lower(Tag.name) == theme.label[:80].lower()))
    tag = existing or add_tag(session, consultation_id, theme.label[:80],
                              f"From the theme of question {theme.question_key}")
    tagged = set(session.scalars(select(AnswerTag.answer_id).where(AnswerTag.tag_id == tag.id)))
    members = session.scalars(select(ThemeMember.answer_id)
                              .where(ThemeMember.theme_id == theme.id)).all()
    session.add_all(AnswerTag(answer_id=a, tag_id=tag.id) for a in members if a not in tagged)
    session.flush()
    return tag
