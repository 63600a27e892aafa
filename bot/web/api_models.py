"""Response and request bodies of the JSON API (``/api/v1``), as pydantic models.

They are what FastAPI's OpenAPI schema describes. Participants appear only under their
pseudonymous id (an HMAC of channel and sender); raw Telegram or socket ids are never
stored, so they cannot appear here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator


def _aware(value: datetime) -> datetime:
    """The store keeps UTC; SQLite hands it back without an offset. RFC 3339 (the schema's
    ``date-time``) needs one."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: A moment in time, always sent with its UTC offset.
Moment = Annotated[datetime, AfterValidator(_aware)]


#: Control characters (C0, DEL, C1): never part of a name or a description typed by staff.
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
#: A one-line name: no control character, and not only spaces.
NAME_PATTERN = rf"^[^{_CONTROLS}]*[^\s{_CONTROLS}][^{_CONTROLS}]*$"
#: Free text: no control character but line breaks and tabs.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
#: The largest id a row can have (PostgreSQL ``integer``).
MAX_ID = 2**31 - 1


class Problem(BaseModel):
    """Why a request failed."""

    detail: str


class Me(BaseModel):
    """The member of staff the token belongs to."""

    email: str
    role: str = Field(description="admin | reviewer")


class OutcomeOut(BaseModel):
    """The latest published outcome ("you said, we did") and how many were told."""

    text: str
    published_at: Moment
    asked_to_hear_back: int
    told: int


class ConsultationOut(BaseModel):
    """A consultation as the overview lists it."""

    id: int
    slug: str
    title: str
    agency: str
    status: str = Field(description="open | closed")
    opens: date | None
    closes: date | None
    participants: int = Field(description="participations (consent given)")
    completed: int
    completion_rate: float = Field(description="completed / participants, 0 when none")
    channels: dict[str, int] = Field(description="participations per channel")


class QuestionOut(BaseModel):
    """A question of the consultation's current version."""

    key: str
    position: int = Field(description="1-based")
    type: str = Field(description="open | single_choice | multi_choice | scale")
    text: str
    options: list[str] = Field(description="options, or scale points as text; [] for open")
    required: bool
    show_if: dict[str, Any] | None = None


class FunnelStep(BaseModel):
    """How many participations reached (answered or skipped) a question."""

    key: str
    position: int
    text: str
    type: str
    reached: int


class FunnelOut(BaseModel):
    """Opened (consent request shown) -> consented -> completed, and reach per question."""

    opened: int
    consented: int
    completed: int
    steps: list[FunnelStep]


class ConsultationDetail(ConsultationOut):
    """A consultation with its questions, funnel and outcome."""

    version: int
    questions: list[QuestionOut]
    funnel: FunnelOut
    outcome: OutcomeOut | None


class OptionCount(BaseModel):
    """How often an option (or scale point) was chosen."""

    option: str
    count: int


class QuestionResult(BaseModel):
    """Results of one question: counts per option for choice and scale questions; for
    open questions how many answered (the texts are at ``…/answers``) and tag counts."""

    question: QuestionOut
    reached: int
    answered: int
    skipped: int
    counts: list[OptionCount] = Field(description="choice and scale questions; [] for open")
    tags: dict[str, int] = Field(description="tag name -> answers of this question with it")


class OpenAnswerOut(BaseModel):
    """An answer as a reviewer sees it (no participant identifiers)."""

    id: int
    text: str
    channel: str
    answered_at: Moment
    completed: bool = Field(description="whether the participation was completed")
    quote_consent: bool | None = Field(description="whether the citizen allowed quoting")
    tags: list[str]
    note: str
    reviewed: bool


class AnswerPage(BaseModel):
    """One page of a question's answers, newest first."""

    total: int = Field(description="answers matching the filters")
    limit: int
    offset: int
    items: list[OpenAnswerOut]


class TagOut(BaseModel):
    """A code of the consultation's codebook, with how often it was given."""

    id: int
    name: str
    description: str
    created_at: Moment
    total: int = Field(description="answers carrying it")
    per_question: dict[str, int] = Field(description="question key -> answers carrying it")


class TagIn(BaseModel):
    """A new code for the codebook."""

    name: str = Field(min_length=1, max_length=80, json_schema_extra={"pattern": NAME_PATTERN},
                      description="one line, not only spaces; no control characters")
    description: str = Field(default="", max_length=2000,
                             json_schema_extra={"pattern": TEXT_PATTERN},
                             description="no control characters but line breaks and tabs")

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not re.fullmatch(NAME_PATTERN, value):
            raise ValueError("a tag name is one line of text, not only spaces, without "
                             "control characters")
        return value

    @field_validator("description")
    @classmethod
    def _text(cls, value: str) -> str:
        if not re.fullmatch(TEXT_PATTERN, value):
            raise ValueError("a description may not contain control characters (line "
                             "breaks and tabs are fine)")
        return value


class AnswerTagsIn(BaseModel):
    """The complete new set of an answer's tags (ids from the codebook); [] removes all."""

    tag_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(max_length=100)


class AnswerTagsOut(BaseModel):
    """An answer's tags after a change."""

    answer_id: int
    tags: list[str]


class Quote(BaseModel):
    """A representative answer of a theme."""

    answer_id: int
    text: str
    quote_consent: bool | None


class ThemeOut(BaseModel):
    """A theme of an open question's answers (largest first)."""

    id: int
    label: str
    keywords: list[str]
    size: int
    quotes: list[Quote]


class GapOut(BaseModel):
    """A group of service questions the documents could not answer."""

    label: str = Field(description="the most typical question of the group")
    questions: list[str] = Field(description="up to 3 distinct wordings, most typical first")
    count: int
    forwarded: int = Field(description="how many citizens asked to pass the question on")
    disputed: int = Field(description="how many of them the bot answered but the citizen said "
                                      "the answer did not answer their question")
    last_asked: Moment


class TranscriptSummaryOut(BaseModel):
    """One conversation in the transcript list."""

    participation_id: int
    version: int
    channel: str
    status: str = Field(description="active | paused | completed | withdrawn")
    started_at: Moment
    finished_at: Moment | None
    messages: int
    answers: int


class TranscriptPage(BaseModel):
    """One page of a consultation's conversations, newest first."""

    total: int
    limit: int
    offset: int
    items: list[TranscriptSummaryOut]


class MessageOut(BaseModel):
    """A message of the conversation, with the buttons offered."""

    sender: str = Field(description="citizen | bot")
    text: str
    buttons: list[str]
    at: Moment


class PassageOut(BaseModel):
    """A passage of the agency's documents shown to the citizen."""

    title: str
    section: str
    source: str
    collection: str
    similarity: float | None


class ServiceQuestionOut(BaseModel):
    """A question the citizen asked about the service, and what they were shown."""

    question: str
    during: str | None = Field(description="key of the consultation question being asked")
    answered: bool = Field(description="false: the documents did not cover it")
    passages: list[PassageOut]
    at: Moment


class GivenAnswerOut(BaseModel):
    """An answer the conversation produced."""

    question: str = Field(description="question key")
    position: int = Field(description="1-based")
    text: str = Field(description="the question's text")
    status: str = Field(description="answered | skipped")
    value: Any
    raw_text: str | None = Field(description="what the citizen typed or pressed")


class TranscriptOut(BaseModel):
    """A whole conversation."""

    participation_id: int
    version: int
    channel: str
    status: str
    quote_consent: bool | None
    started_at: Moment
    finished_at: Moment | None
    messages: list[MessageOut]
    service_questions: list[ServiceQuestionOut]
    answers: list[GivenAnswerOut]


class CategoryOut(BaseModel):
    """One category of a profile dimension: participants against the population."""

    name: str
    count: int = Field(ge=0)
    sample_share: float | None = Field(description="Share of those who answered the "
                                                   "question (Prefer not to say excluded)")
    population_share: float | None
    index: float | None = Field(description="sample_share / population_share")
    flag: str | None = Field(description="'under' (index below 0.8), 'over' (above 1.25) "
                                         "or null")


class DimensionOut(BaseModel):
    """One profile dimension (age_band, area, …) with a chi-square goodness-of-fit test of
    the participants' answers against the population."""

    dimension: str
    answered: int = Field(ge=0)
    preferred_not_to_say: int = Field(ge=0)
    chi_square: float | None
    p_value: float | None
    few_expected: bool = Field(description="Some category expects fewer than 5 "
                                           "participants: the test is unreliable")
    categories: list[CategoryOut]


class PopulationOut(BaseModel):
    """Where the population figures come from."""

    title: str | None
    source: str | None


class WeightingOut(BaseModel):
    """The raking of participants to the population over the listed dimensions."""

    dimensions: list[str]
    effective_sample_size: float
    largest_weight: float
    warnings: list[str]


class WeightedOption(BaseModel):
    option: str
    share: float
    weighted_share: float


class WeightedQuestion(BaseModel):
    """A choice or scale question's results, unweighted and weighted to the population."""

    question: str
    text: str
    answered: int = Field(ge=0)
    options: list[WeightedOption]


class ParticipantsOut(BaseModel):
    """Who took part: each profile dimension against the population, overall and per
    channel, and the results weighted to the population."""

    participants: int = Field(ge=0)
    population: PopulationOut
    channels: dict[str, int]
    dimensions: list[DimensionOut]
    by_channel: dict[str, list[DimensionOut]]
    weighting: WeightingOut
    weighted_results: list[WeightedQuestion]
