"""SQLAlchemy models of the review side: staff accounts, coding, themes, outcomes and jobs.

Staff data never points at a participant directly: tags, notes and theme memberships
hang off answers (``ON DELETE CASCADE``), so erasing a citizen erases them too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utcnow

ROLES = ("admin", "reviewer")


class ConsultationOpening(Base):
    """How many times a consultation's consent request was shown, per day and channel.

    The first step of the participation funnel, counted without storing anything about
    who it was (a citizen who declines leaves no trace but this number).
    """

    __tablename__ = "consultation_openings"

    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """A member of staff who signs in to the review area."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | reviewer
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A personal token for the JSON API; only its SHA-256 is stored.

    ``form_id`` is the one-time id of the review-area form that made it (None for the
    CLI's): unique, so a form sent twice, even twice at the same moment, makes one token.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    form_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class Tag(Base):
    """A code of a consultation's codebook."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("consultation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnswerTag(Base):
    """A tag given to an open answer."""

    __tablename__ = "answer_tags"

    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"),
                                           primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"),
                                        primary_key=True, index=True)
    tagged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnswerReview(Base):
    """A reviewer's note on an answer and whether it has been reviewed."""

    __tablename__ = "answer_reviews"

    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"),
                                           primary_key=True)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Theme(Base):
    """An automatically found (then possibly renamed, merged or split) theme of a question."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    question_key: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[list[Any]] = mapped_column(JSON)
    renamed: Mapped[bool] = mapped_column(Boolean, default=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ThemeMember(Base):
    """An answer in a theme; ``rank`` orders by closeness to the theme's centre."""

    __tablename__ = "theme_members"

    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"),
                                          primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)
    rank: Mapped[int] = mapped_column(Integer)


class Outcome(Base):
    """What the agency did with what citizens said ("you said, we did")."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FollowUp(Base):
    """A participant's wish to hear the outcome, and when they were told."""

    __tablename__ = "follow_ups"

    participation_id: Mapped[int] = mapped_column(
        ForeignKey("participations.id", ondelete="CASCADE"), primary_key=True)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    told_outcome_id: Mapped[int | None] = mapped_column(
        ForeignKey("outcomes.id", ondelete="SET NULL"))
    told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


#: A ``jobs`` row's status while its thread works (at most one such row per key).
JOB_RUNNING = "running"
RUNNING_ONLY = text("status = 'running'")


class BackgroundJob(Base):
    """A background job of the review area (recomputing themes) and how far it got.

    Kept in the database so that every web worker, in any process or on any machine,
    reports the same progress. At most one running job per key: the unique index
    ``uq_jobs_running_key`` covers the running rows only. ``updated_at`` is the thread's
    heartbeat: a running job without one for minutes died with its process.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("uq_jobs_running_key", "key", unique=True,
                            sqlite_where=RUNNING_ONLY, postgresql_where=RUNNING_ONLY),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=JOB_RUNNING)  # | done | failed
    stage: Mapped[str] = mapped_column(String(200), default="Waiting to start")
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KnowledgeLabel(Base):
    """A reviewer's label of an unanswered service question (``KnowledgeQuery``), used to
    calibrate the "not covered" decision of its collection: ``label`` "answered" (the
    documents do answer it; ``source`` is the answering document, ``collection/document``
    as in ``bot.knowledge.evaluation``) or "not_covered". One current label per question;
    it goes with the question (an erased citizen's questions take their labels along)."""

    __tablename__ = "knowledge_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_queries.id", ondelete="CASCADE"), unique=True)
    collection: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(600))
    labelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    labelled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
