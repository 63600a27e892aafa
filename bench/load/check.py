"""The store check: after a load run, is everything the citizens were told kept, once?

For each citizen (``Expectation``, what it believes) the app store is read through
``bot.store``: its participant id is ``participant_key(secret, channel, sender)``
(channel "rest" for REST senders, "web" for the socket.io widget). Then

- every answer the bot acknowledged is stored exactly once with the right value (a
  skipped question stored as skipped): none lost, duplicated (two participations
  holding it count twice) or wrong, and no answer stored that the citizen never saw
  acknowledged;
- every participation the citizen submitted is completed, and there is one
  participation per consent;
- the transcript holds each message the citizen sent inside the consultation exactly
  once, in the order sent (``compare_transcript``).

A message the citizen gave up on (no reply after every re-send) may or may not have
been handled: its question and its transcript entry are not held against the store.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import (
    Answer,
    Consultation,
    ConsultationVersion,
    Participation,
    Question,
    TranscriptEntry,
)
from bot.store.pseudonym import participant_key

CHUNK = 500
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Expectation:
    """What one citizen believes the store holds."""

    sender: str
    channel: str
    slug: str
    consented: bool
    answers: dict[str, tuple[str, Any]]
    submitted: bool = False
    transcript: tuple[str, ...] = ()
    uncertain_keys: frozenset[str] = frozenset()
    uncertain_message: str | None = None
    quote_consent: bool | None = None


@dataclass(frozen=True)
class TranscriptDiff:
    """How a stored transcript differs from the messages sent."""

    missing: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unexpected: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.duplicated or self.out_of_order or self.unexpected)


def compare_transcript(sent: list[str] | tuple[str, ...], stored: list[str | None],
                       optional: str | None = None) -> TranscriptDiff:
    """Compare the ids of the messages sent (in order) with the transcript's incoming
    entries (in the order stored).

    ``missing``: sent, not stored; ``duplicated``: stored more than once (each extra);
    ``unexpected``: stored, never sent (or without an id); ``out_of_order``: the fewest
    stored messages that must move for the rest to be in the order sent. ``optional``
    (a message given up on) may be stored once, after all the others, or not at all.
    """
    position = {message_id: i for i, message_id in enumerate(sent)}
    if optional is not None and optional not in position:
        position[optional] = len(sent)
    seen: set[str] = set()
    order: list[int] = []
    duplicated = unexpected = 0
    for message_id in stored:
        if message_id is None or message_id not in position:
            unexpected += 1
        elif message_id in seen:
            duplicated += 1
        else:
            seen.add(message_id)
            order.append(position[message_id])
    missing = sum(1 for message_id in sent if message_id not in seen)
    return TranscriptDiff(missing, duplicated, len(order) - _longest_increasing(order),
                          unexpected)


def _longest_increasing(values: list[int]) -> int:
    tails: list[int] = []
    for value in values:
        at = bisect.bisect_left(tails, value)
        if at == len(tails):
            tails.append(value)
        else:
            tails[at] = value
    return len(tails)


@dataclass
class StoreCheck:
    """The counts of the check; ``clean`` when nothing is lost, duplicated or wrong."""

    citizens: int = 0
    answers_checked: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    unexpected: int = 0
    submissions_checked: int = 0
    not_completed: int = 0
    missing_participations: int = 0
    extra_participations: int = 0
    transcripts_checked: int = 0
    messages_checked: int = 0
    transcript_missing: int = 0
    transcript_duplicated: int = 0
    transcript_out_of_order: int = 0
    transcript_unexpected: int = 0
    problems: list[str] = field(default_factory=list)

    FAILURES = ("lost", "duplicated", "wrong", "unexpected", "not_completed",
                "missing_participations", "extra_participations", "transcript_missing",
                "transcript_duplicated", "transcript_out_of_order", "transcript_unexpected")

    @property
    def failures(self) -> int:
        """Everything that should have been zero, added up."""
        return sum(getattr(self, name) for name in self.FAILURES)

    @property
    def clean(self) -> bool:
        return self.failures == 0

    def problem(self, text: str) -> None:
        """Keep the first few problems, described, for the output."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def as_dict(self) -> dict[str, Any]:
        """The counts (and the first problems) as plain data."""
        return {**{k: v for k, v in self.__dict__.items()}, "clean": self.clean}


@dataclass
class _Stored:
    """One participant's rows."""

    participations: list[tuple[int, str, str, bool | None]] = field(default_factory=list)
    answers: dict[str, list[tuple[int, str, Any]]] = field(
        default_factory=lambda: defaultdict(list))
    transcript: list[str | None] = field(default_factory=list)


def _load(database_url: str, keys: list[str]) -> dict[str, _Stored]:
    """Participations (id, slug, status, quote consent), answers by question key and
    incoming transcript entries (in order) of these participants."""
    stored: dict[str, _Stored] = defaultdict(_Stored)
    with session_scope(database_url) as session:
        owner: dict[int, str] = {}
        for start in range(0, len(keys), CHUNK):
            rows = session.execute(
                select(Participation.id, Participation.participant_id, Consultation.slug,
                       Participation.status, Participation.quote_consent)
                .join(ConsultationVersion, ConsultationVersion.id == Participation.version_id)
                .join(Consultation, Consultation.id == ConsultationVersion.consultation_id)
                .where(Participation.participant_id.in_(keys[start:start + CHUNK]))
                .order_by(Participation.id))
            for pid, key, slug, status, quote in rows:
                owner[pid] = key
                stored[key].participations.append((pid, slug, status, quote))
        ids = sorted(owner)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            for pid, qkey, status, value in session.execute(
                    select(Answer.participation_id, Question.key, Answer.status, Answer.value)
                    .join(Question, Question.id == Answer.question_id)
                    .where(Answer.participation_id.in_(chunk))):
                stored[owner[pid]].answers[qkey].append((pid, status, value))
            for pid, message_id in session.execute(
                    select(TranscriptEntry.participation_id, TranscriptEntry.message_id)
                    .where(TranscriptEntry.participation_id.in_(chunk),
                           TranscriptEntry.direction == "in")
                    .order_by(TranscriptEntry.id)):
                stored[owner[pid]].transcript.append(message_id)
    return stored


def check_store(database_url: str, secret: bytes,
                expectations: list[Expectation]) -> StoreCheck:
    """Hold the app store to what each citizen believes (see the module docstring)."""
    keyed = {participant_key(secret, e.channel, e.sender): e for e in expectations}
    stored = _load(database_url, sorted(keyed))
    result = StoreCheck(citizens=len(expectations))
    for key, expected in keyed.items():
        _check_one(result, expected, stored.get(key) or _Stored())
    return result


def _check_one(result: StoreCheck, expected: Expectation, stored: _Stored) -> None:
    who = f"{expected.sender} ({expected.channel})"
    ours = [p for p in stored.participations if p[1] == expected.slug]
    others = len(stored.participations) - len(ours)
    if others:
        result.extra_participations += others
        result.problem(f"{who}: {others} participation(s) in another consultation")
    uncertain = expected.uncertain_message is not None
    if not expected.consented:
        if ours and not uncertain:
            result.extra_participations += len(ours)
            result.problem(f"{who}: never saw consent taken, yet {len(ours)} participation(s)")
        return
    if not ours:
        result.missing_participations += 1
        result.problem(f"{who}: consented, but no participation is stored")
    elif len(ours) > 1:
        result.extra_participations += len(ours) - 1
        result.problem(f"{who}: {len(ours)} participations for one consent")

    for qkey, (status, value) in expected.answers.items():
        if qkey in expected.uncertain_keys:
            continue
        result.answers_checked += 1
        rows = stored.answers.get(qkey, [])
        if not rows:
            result.lost += 1
            result.problem(f"{who}: {qkey} lost (acknowledged {status} {value!r})")
        elif len(rows) > 1:
            result.duplicated += 1
            result.problem(f"{who}: {qkey} stored {len(rows)} times")
        elif (rows[0][1], rows[0][2]) != (status, value):
            result.wrong += 1
            result.problem(f"{who}: {qkey} stored {rows[0][1]} {rows[0][2]!r}, "
                           f"acknowledged {status} {value!r}")
    for qkey in stored.answers:
        if qkey not in expected.answers and qkey not in expected.uncertain_keys:
            result.unexpected += 1
            result.problem(f"{who}: {qkey} stored, never acknowledged")

    if expected.submitted:
        result.submissions_checked += 1
        if not any(status == "completed" for _, _, status, _ in ours):
            result.not_completed += 1
            result.problem(f"{who}: submitted, but the participation is "
                           f"{[p[2] for p in ours] or 'missing'}")
    if expected.quote_consent is not None and ours and \
            all(quote != expected.quote_consent for _, _, _, quote in ours):
        result.wrong += 1
        result.problem(f"{who}: quote consent stored as {[p[3] for p in ours]}, "
                       f"answered {expected.quote_consent}")

    result.transcripts_checked += 1
    result.messages_checked += len(expected.transcript)
    diff = compare_transcript(expected.transcript, stored.transcript, expected.uncertain_message)
    result.transcript_missing += diff.missing
    result.transcript_duplicated += diff.duplicated
    result.transcript_out_of_order += diff.out_of_order
    result.transcript_unexpected += diff.unexpected
    if not diff.clean:
        strays = [m for m in stored.transcript if m not in expected.transcript
                  and m != expected.uncertain_message]
        result.problem(f"{who}: transcript {diff} (sent {len(expected.transcript)}, "
                       f"stored {len(stored.transcript)}; stored, not expected: {strays})")
