"""Responses taken by staff ("assisted digital"): by phone, at a desk, or from paper forms.

Staff enter a response in the review area (``bot.web.routes.assisted``) or import a file of
them (``bot.review.response_import``). Both use the bot's own rules: the branching of
``bot.consultations.flow`` and the answer parsing of ``bot.consultations.answers``. A
response is stored in one go, completed, with its channel (``phone`` or ``paper``) and a
pseudonymous participant id that is random per response; who entered it goes to the
audit trail, never into the answers or the exports.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.consultations import flow
from bot.consultations.answers import NotUnderstood, parse_answer
from bot.store import repository as repo
from bot.store.models import Answer, Consultation, Participation, utcnow
from bot.store.pseudonym import participant_key

#: The channels of responses taken by staff.
CHANNELS = ("phone", "paper")
CHANNEL_LABELS = {"phone": "By phone", "paper": "On a paper form (or at a desk)"}
ANSWERED = "answered"
SKIPPED = "skipped"
NEEDS_ANSWER = "This question needs an answer, so it can’t be skipped."
CLOSED = ("This consultation is closed to new answers (or today is outside its opening "
          "dates), so no response can be taken. An admin can open it again from the "
          "consultation's page.")


@dataclass(frozen=True)
class Entry:
    """One answer of a response: ``status`` answered or skipped, the stored ``value``
    (None when skipped) and the text as given (``raw``)."""

    status: str
    value: Any = None
    raw: str | None = None

    def as_json(self) -> dict[str, Any]:
        """A plain dict (a draft carries its answers so)."""
        return {"s": self.status, "v": self.value, "r": self.raw}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        """The inverse of ``as_json``.

        Raises:
            ValueError: when ``data`` is not an entry.
        """
        status = data.get("s")
        if status not in (ANSWERED, SKIPPED):
            raise ValueError("not an answer")
        raw = data.get("r")
        return cls(str(status), data.get("v"), raw if isinstance(raw, str) else None)


def new_participant_id(secret: bytes | None = None, response_key: str | None = None) -> str:
    """The pseudonymous participant id of one assisted response.

    It is ``participant_key(secret, "assisted", response_key)``: random per response (the
    key is a fresh UUID, the secret random when not given), so two responses of the same
    person are never linked and nothing about the person is in it. Giving the same
    ``response_key`` again gives the same id, which tells a response sent twice.
    """
    return participant_key(secret or secrets.token_bytes(32), "assisted",
                           response_key or str(uuid.uuid4()))


def is_open(consultation: Consultation) -> bool:
    """Whether staff may add responses now (the consultation is open to citizens)."""
    return repo.is_open(consultation)


def values_of(entries: Mapping[str, Entry]) -> dict[str, Any]:
    """The answers as ``bot.consultations.flow`` reads them (skipped: ``flow.SKIPPED``)."""
    return {qid: (e.value if e.status == ANSWERED else flow.SKIPPED)
            for qid, e in entries.items()}


def shown(definition: dict[str, Any], entries: Mapping[str, Entry]) -> list[dict[str, Any]]:
    """The questions asked for these answers, in order (the bot's branching)."""
    return flow.visible_questions(definition, values_of(entries))


def is_required(question: dict[str, Any]) -> bool:
    """Whether a question must be answered when it is asked."""
    return bool(question.get("required", True))


def read_answer(question: dict[str, Any], given: Sequence[str]) -> Entry | str:
    """A question's answer from a form's fields: an ``Entry`` or an error message.

    Choice and scale fields carry the option's number (1 for the first) or the scale
    point; ``parse_answer`` reads them as the bot reads a typed answer. Nothing given is a
    skip when the question is optional.
    """
    kind = question["type"]
    values = [v for v in (" ".join(str(g).split()) for g in given) if v]
    if not values:
        if is_required(question):
            return {"open": "Type the answer.",
                    "multi_choice": "Choose at least one option.",
                    "scale": "Choose a point of the scale."}.get(kind, "Choose an option.")
        return Entry(SKIPPED)
    if kind == "open":
        text = "\n".join(str(g) for g in given if str(g).strip())
        return _entry(question, text, text.strip())
    if kind == "multi_choice":
        options = question["options"]
        if not all(v.isdigit() and 1 <= int(v) <= len(options) for v in values):
            return "Choose from the options shown."
        return _entry(question, ", ".join(values), None)
    if len(values) > 1:
        return "Choose only one."
    if kind == "single_choice":
        value = values[0]
        if not (value.isdigit() and 1 <= int(value) <= len(question["options"])):
            return "Choose one of the options shown."
        return _entry(question, value, None)
    return _entry(question, values[0], None)


def _entry(question: dict[str, Any], text: str, raw: str | None) -> Entry | str:
    """``parse_answer`` of ``text``: the entry, or the bot's reason as the error."""
    result = parse_answer(question, text)
    if isinstance(result, NotUnderstood):
        return result.reason
    return Entry(ANSWERED, result.value, raw if raw is not None else shown_value(result.value))


def shown_value(value: Any) -> str:
    """An answer's value in words (a multiple choice's options joined by commas)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def problems(definition: dict[str, Any], entries: Mapping[str, Entry]) -> dict[str, str]:
    """What stops these answers being stored, by question id: a question asked (given the
    branching) and required but not answered, or an answer the bot would not accept."""
    found: dict[str, str] = {}
    for question in shown(definition, entries):
        entry = entries.get(question["id"])
        if entry is None:
            found[question["id"]] = ("Not answered yet." if is_required(question)
                                     else "Not answered or skipped yet.")
        elif entry.status == SKIPPED:
            if is_required(question):
                found[question["id"]] = NEEDS_ANSWER
        elif not _still_valid(question, entry.value):
            found[question["id"]] = "This answer no longer fits the question; enter it again."
    return found


def _still_valid(question: dict[str, Any], value: Any) -> bool:
    """Whether a stored value is a value the bot could have stored for this question."""
    kind = question["type"]
    if kind == "open":
        return isinstance(value, str) and bool(value.strip()) and len(value) <= 5000
    if kind == "single_choice":
        return value in question["options"]
    if kind == "multi_choice":
        limit = question.get("max_choices")
        return (isinstance(value, list) and bool(value)
                and all(v in question["options"] for v in value)
                and len(set(value)) == len(value) and (not limit or len(value) <= limit))
    return (isinstance(value, int) and not isinstance(value, bool)
            and question["min"] <= value <= question["max"])


def wants_quote_consent(definition: dict[str, Any], entries: Mapping[str, Entry]) -> bool:
    """Whether to ask if the person's words may be quoted (as the bot does): the
    consultation asks, and an open question was answered."""
    if definition["privacy"].get("quotes") != "ask":
        return False
    return any(q["type"] == "open" and entries.get(q["id"], Entry(SKIPPED)).status == ANSWERED
               for q in shown(definition, entries))


def store_response(session: Session, consultation: Consultation, channel: str,
                   entries: Mapping[str, Entry], participant_id: str,
                   quote_consent: bool | None = None, *,
                   count_opening: bool = True) -> Participation:
    """Store one completed response (not committed: the caller commits, with its audit
    entry). Only the questions asked given the branching are stored.

    Args:
        session: the app store session.
        consultation: the consultation, with its current version.
        channel: phone or paper.
        entries: the answers by question id (``problems`` must find none).
        participant_id: the response's pseudonymous id (``new_participant_id``).
        quote_consent: whether the person's words may be quoted (None: not asked).
        count_opening: count one more opening of the consultation (the consent text was
            read out or on the form), so the funnel's first step counts this response;
            an import counts its responses at once instead
            (``repository.count_opening`` with ``count``).

    Raises:
        ValueError: the channel is not phone or paper, the consultation has no version,
            or an answer is missing or not valid (``problems``).
    """
    if channel not in CHANNELS:
        raise ValueError(f"the channel must be one of {', '.join(CHANNELS)}")
    version = consultation.current_version
    if version is None:
        raise ValueError("the consultation has no questions yet")
    definition = version.definition
    wrong = problems(definition, entries)
    if wrong:
        raise ValueError("; ".join(f"{qid}: {message}" for qid, message in wrong.items()))
    participation = repo.start_participation(session, participant_id, version.id, channel)
    question_ids = _question_ids(session, version.id)
    now = utcnow()
    # New answers, as ``repository.record_answer`` makes them, flushed together (an
    # import stores thousands).
    session.add_all([
        Answer(participation_id=participation.id, question_id=question_ids[q["id"]],
               status=entries[q["id"]].status, value=entries[q["id"]].value,
               raw_text=entries[q["id"]].raw if entries[q["id"]].status == ANSWERED else None,
               message_id=None, answered_at=now, updated_at=now)
        for q in shown(definition, entries)])
    participation.status = "completed"
    participation.finished_at = now
    participation.updated_at = now
    participation.quote_consent = quote_consent
    participation.state = {"phase": "done", "assisted": True}
    if count_opening:
        repo.count_opening(session, consultation.id, channel)
    session.flush()
    return participation


def _question_ids(session: Session, version_id: int) -> dict[str, int]:
    """Question id -> the stored question's row id (cached on the session: an import asks
    for the same version once per row)."""
    cache: dict[int, dict[str, int]] = session.info.setdefault("assisted_question_ids", {})
    if version_id not in cache:
        cache[version_id] = {key: q.id for key, q in
                             repo.questions_by_key(session, version_id).items()}
    return cache[version_id]


