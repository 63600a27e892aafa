"""SQLAlchemy models of the app store.

Participants are pseudonymous: their primary key is an HMAC of channel and sender id.
Everything about a participant hangs off ``participants`` with ``ON DELETE CASCADE``
so that erasure is one delete.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware current time in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored time made timezone-aware: SQLite gives back naive datetimes, and every
    stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention (stable Alembic constraint names)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Consultation(Base):
    """A themed consultation; its content lives in versions."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    versions: Mapped[list[ConsultationVersion]] = relationship(
        back_populates="consultation",
        foreign_keys="ConsultationVersion.consultation_id",
        order_by="ConsultationVersion.number",
    )

    @property
    def current_version(self) -> ConsultationVersion | None:
        """The latest launched version (versions are numbered from 1)."""
        return self.versions[-1] if self.versions else None


class ConsultationVersion(Base):
    """An immutable launched version of a consultation definition."""

    __tablename__ = "consultation_versions"
    __table_args__ = (UniqueConstraint("consultation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_yaml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    consultation: Mapped[Consultation] = relationship(
        back_populates="versions", foreign_keys=[consultation_id]
    )
    questions: Mapped[list[Question]] = relationship(
        back_populates="version", order_by="Question.position"
    )


class Question(Base):
    """One question of a consultation version."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_versions.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)

    version: Mapped[ConsultationVersion] = relationship(back_populates="questions")


class Participant(Base):
    """A pseudonymous person: ``id`` is HMAC(secret, channel:sender); no raw ids stored."""

    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    participations: Mapped[list[Participation]] = relationship(
        back_populates="participant", cascade="all, delete-orphan", passive_deletes=True
    )


class Participation(Base):
    """One participant taking part in one consultation version."""

    __tablename__ = "participations"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_versions.id", ondelete="RESTRICT"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    # active | paused | completed
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    quote_consent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    participant: Mapped[Participant] = relationship(back_populates="participations")
    version: Mapped[ConsultationVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="participation", cascade="all, delete-orphan", passive_deletes=True
    )


class Answer(Base):
    """The current answer of a participation to a question; edits go to ``AnswerRevision``."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("participation_id", "question_id"),
        # Per-question figures and answer lists start from the question (review pages).
        Index("ix_answers_question_id_participation_id", "question_id", "participation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(
        ForeignKey("participations.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16))  # answered | skipped
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    raw_text: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(128))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    participation: Mapped[Participation] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    revisions: Mapped[list[AnswerRevision]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="AnswerRevision.id"
    )


class AnswerRevision(Base):
    """A superseded value of an answer (edit history)."""

    __tablename__ = "answer_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    raw_text: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TranscriptEntry(Base):
    """One message of a participation, in either direction, with offered buttons."""

    __tablename__ = "transcript_entries"
    __table_args__ = (UniqueConstraint("participation_id", "direction", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(
        ForeignKey("participations.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    intent: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KnowledgeDocument(Base):
    """A service document ingested into a knowledge collection."""

    __tablename__ = "kb_documents"
    __table_args__ = (UniqueConstraint("collection", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collection: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    passages: Mapped[list[KnowledgePassage]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="KnowledgePassage.position")


class KnowledgePassage(Base):
    """A passage of a document with its embedding (float32 bytes)."""

    __tablename__ = "kb_passages"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)


class KnowledgeGeneration(Base):
    """One build of the knowledge index, recorded in the store so that every action
    server (on any machine) notices it and rebuilds its local copy from the stored
    passages.

    ``fingerprint``: a hash of the passages' ids and content hashes in index order; a
    local index built from the same passages carries the same fingerprint.
    """

    __tablename__ = "knowledge_generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    passages: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KnowledgeGlossary(Base):
    """A collection's glossary: the words residents use for the documents' terms, as the
    admin wrote it (YAML text, ``bot.knowledge.glossary``), and whether the general
    glossary of UK public-service words applies too."""

    __tablename__ = "knowledge_glossaries"

    collection: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text, default="")
    use_general: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class KnowledgeThreshold(Base):
    """The thresholds of a collection's "not covered" decision, set from reviewed
    questions (``codesign knowledge calibrate --from-reviews`` or the admin's button);
    collections without a row use the defaults (``Thresholds.from_env``)."""

    __tablename__ = "knowledge_thresholds"

    collection: Mapped[str] = mapped_column(String(64), primary_key=True)
    similarity: Mapped[float] = mapped_column(Float)
    word_match: Mapped[float] = mapped_column(Float)
    offered_match: Mapped[float] = mapped_column(Float)
    set_by: Mapped[str] = mapped_column(String(254))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KnowledgeGapWord(Base):
    """A word of unanswered questions that a collection's documents do not use, which an
    admin marked ``status`` "not_offered" ("not something we do"), by whom and when."""

    __tablename__ = "knowledge_gap_words"
    __table_args__ = (UniqueConstraint("collection", "word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    collection: Mapped[str] = mapped_column(String(64))
    word: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="not_offered")
    marked_by: Mapped[str] = mapped_column(String(254))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KnowledgeQuery(Base):
    """A question a citizen asked about the service, what was shown, and whether it was
    answered (the knowledge-gap log).

    ``disputed``: the bot answered, but the citizen said the answer did not answer their
    question ("That didn't answer it"); such questions are knowledge gaps too.
    """

    __tablename__ = "knowledge_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int | None] = mapped_column(
        ForeignKey("participations.id", ondelete="CASCADE"), index=True, nullable=True)
    question_key: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    collections: Mapped[list[Any]] = mapped_column(JSON)
    answered: Mapped[bool] = mapped_column(Boolean, index=True)
    top_score: Mapped[float | None] = mapped_column()
    hits: Mapped[list[Any]] = mapped_column(JSON)
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnswerEvidence(Base):
    """Which service answers a citizen had seen before giving an answer."""

    __tablename__ = "answer_evidence"
    __table_args__ = (UniqueConstraint("answer_id", "query_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"),
                                           index=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("knowledge_queries.id", ondelete="CASCADE"),
                                          index=True)
