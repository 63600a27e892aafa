"""Taking a response for a citizen by phone or at a desk ("assisted digital").

One question per page, as the bot asks them: the server decides the next question with the
consultation's branching (``bot.consultations.flow``) and checks each answer as the bot
does (``bot.review.assisted``). Nothing is stored until Submit: the answers so far travel
with the form as a signed draft (a hidden field, signed with the session key), so a long
open answer never overflows the session cookie, several responses can be taken in several
tabs, and the browser's own Back button shows an earlier step as it was. Submit stores the
participation, its answers and an audit entry naming the member of staff in one
transaction. Reviewers and admins may take responses. A step with a problem is shown
again with status 200 (the browser shows the form, not an error), with the problem in an
error summary linked to the field and in the page title.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from bot.audit.trail import Action, Actor, record
from bot.consultations import flow
from bot.review import assisted
from bot.review.assisted import CHANNEL_LABELS, CHANNELS, Entry
from bot.store.models import Consultation, Participant
from bot.web.auth import Reviewer
from bot.web.deps import settings
from bot.web.render import render
from bot.web.routes.review_common import DbSession, flash, known_consultation, reviewer_router

router = reviewer_router()
SALT = "codesign assisted response v1"
#: A draft older than this is refused (a form left open overnight): start again.
MAX_AGE_SECONDS = 12 * 3600
CONSENT = "consent"
SUMMARY = "summary"
EXPIRED = ("This response form has expired or was changed. Nothing was stored: start the "
           "response again.")
CHANGED = ("The consultation's questions were changed while this response was being taken. "
           "Nothing was stored: start the response again.")
ALREADY = "This response was already stored; it was not stored a second time."


@dataclass
class Draft:
    """A response being taken: its random key, channel, answers so far, and whether a
    changed answer returns to the summary."""

    slug: str
    version_id: int
    key: str
    channel: str
    answers: dict[str, Entry] = field(default_factory=dict)
    to_summary: bool = False

    def dump(self) -> dict[str, Any]:
        return {"slug": self.slug, "v": self.version_id, "k": self.key, "c": self.channel,
                "a": {qid: e.as_json() for qid, e in self.answers.items()},
                "s": self.to_summary}

    @classmethod
    def load(cls, data: Any) -> Draft:
        """Raises: ValueError, KeyError or TypeError on anything but a dumped draft."""
        answers = {str(qid): Entry.from_json(e) for qid, e in dict(data["a"]).items()}
        channel = str(data["c"])
        if channel not in CHANNELS:
            raise ValueError(channel)
        return cls(str(data["slug"]), int(data["v"]), str(data["k"]), channel, answers,
                   bool(data["s"]))


def _signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings(request).session_key, salt=SALT)


def _seal(request: Request, draft: Draft) -> str:
    return str(_signer(request).dumps(draft.dump()))


def _open(request: Request, token: str, consultation: Consultation) -> Draft | None:
    """The draft a form carried, or None when it is missing, forged, too old or of
    another consultation."""
    try:
        draft = Draft.load(_signer(request).loads(token, max_age=MAX_AGE_SECONDS))
    except (BadSignature, ValueError, KeyError, TypeError, AttributeError):
        return None
    return draft if draft.slug == consultation.slug else None


def _page(request: Request, name: str, consultation: Consultation, status_code: int = 200,
          **context: Any) -> HTMLResponse:
    version = consultation.current_version
    assert version is not None
    return render(request, name, {"c": consultation, "version": version,
                                  "d": version.definition, "channel_labels": CHANNEL_LABELS,
                                  **context}, status_code=status_code)


def _closed(request: Request, consultation: Consultation) -> HTMLResponse:
    return _page(request, "take_closed.html", consultation, status_code=409,
                 message=assisted.CLOSED)


def _consent_page(request: Request, consultation: Consultation, *, channel: str = "",
                  consented: bool = False, errors: list[tuple[str, str]] | None = None,
                  status_code: int = 200) -> HTMLResponse:
    return _page(request, "take_consent.html", consultation, status_code=status_code,
                 channel=channel, consented=consented, errors=errors or [])


def _question_page(request: Request, consultation: Consultation, draft: Draft,
                   question: dict[str, Any], *, given: list[str] | None = None,
                   error: str = "") -> HTMLResponse:
    definition = consultation.current_version.definition  # type: ignore[union-attr]
    values = assisted.values_of(draft.answers)
    position, total = flow.progress(definition, values, question["id"])
    entry = draft.answers.get(question["id"])
    if given is None:
        given = _form_values(question, entry)
    return _page(request, "take_question.html", consultation,
                 draft=_seal(request, draft),
                 channel=draft.channel, q=question, position=position, total=total,
                 given=given, error=error, required=assisted.is_required(question),
                 skipped=entry is not None and entry.status == assisted.SKIPPED,
                 profile_why=definition.get("profile_why") if question.get("profile") and
                 _first_profile(definition) == question["id"] else None)


def _first_profile(definition: dict[str, Any]) -> str | None:
    return next((q["id"] for q in definition["questions"] if q.get("profile")), None)


def _form_values(question: dict[str, Any], entry: Entry | None) -> list[str]:
    """How a stored answer is shown again in the form's fields."""
    if entry is None or entry.status != assisted.ANSWERED:
        return []
    if question["type"] == "open":
        return [entry.raw or str(entry.value)]
    if question["type"] == "scale":
        return [str(entry.value)]
    chosen = entry.value if isinstance(entry.value, list) else [entry.value]
    return [str(question["options"].index(v) + 1) for v in chosen if v in question["options"]]


def _summary_page(request: Request, consultation: Consultation, draft: Draft, *,
                  errors: list[tuple[str, str]] | None = None, quote: str = "",
                  status_code: int = 200) -> HTMLResponse:
    definition = consultation.current_version.definition  # type: ignore[union-attr]
    rows = []
    for number, question in enumerate(assisted.shown(definition, draft.answers), 1):
        entry = draft.answers.get(question["id"])
        if entry is None:
            text = "(no answer yet)"
        elif entry.status == assisted.SKIPPED:
            text = "(skipped)"
        else:
            text = assisted.shown_value(entry.value)
        rows.append({"number": number, "q": question, "answer": text})
    return _page(request, "take_summary.html", consultation, status_code=status_code,
                 draft=_seal(request, draft), channel=draft.channel, rows=rows,
                 errors=errors or [], quote=quote,
                 ask_quote=assisted.wants_quote_consent(definition, draft.answers))


@router.get("/c/{slug}/take", response_class=HTMLResponse)
def start(slug: str, request: Request, session: DbSession, _user: Reviewer) -> HTMLResponse:
    """The first step: the channel, and that the consent text was read out and given."""
    consultation = known_consultation(session, slug)
    if not assisted.is_open(consultation):
        return _closed(request, consultation)
    return _consent_page(request, consultation)


@router.post("/c/{slug}/take", response_model=None)
def step(slug: str, request: Request, session: DbSession, user: Reviewer,
         step: Annotated[str, Form()] = CONSENT, action: Annotated[str, Form()] = "next",
         draft: Annotated[str, Form()] = "", channel: Annotated[str, Form()] = "",
         consent: Annotated[str, Form()] = "", quote: Annotated[str, Form()] = "",
         answer: Annotated[list[str] | None, Form()] = None) -> Response:
    """One step of the form: the consent step, a question, or the summary."""
    consultation = known_consultation(session, slug)
    if not assisted.is_open(consultation):
        return _closed(request, consultation)
    version = consultation.current_version
    assert version is not None
    definition = version.definition
    if step == CONSENT and not draft:
        return _consented(request, consultation, channel, consent)
    current = _open(request, draft, consultation)
    if current is None or current.version_id != version.id:
        flash(request, EXPIRED if current is None else CHANGED, "error")
        return RedirectResponse(f"/review/c/{slug}/take", status_code=303)
    if step == CONSENT:  # going on from the consent step again, after Back
        return _consented(request, consultation, channel, consent, current)
    if step == SUMMARY:
        return _at_summary(request, session, user, consultation, current, action, quote)
    try:
        question = flow.question_by_id(definition, step)
    except KeyError:
        flash(request, EXPIRED, "error")
        return RedirectResponse(f"/review/c/{slug}/take", status_code=303)
    return _at_question(request, consultation, current, question, action, answer or [])


def _consented(request: Request, consultation: Consultation, channel: str, consent: str,
               draft: Draft | None = None) -> HTMLResponse:
    """The consent step sent: check it, then ask the first question."""
    errors = []
    if channel not in CHANNELS:
        errors.append(("channel-phone", "Choose how the response is being taken."))
    if consent != "yes":
        errors.append(("consent", "Confirm that the person was told how their answers are "
                                  "used and agreed to take part; without consent nothing "
                                  "can be stored."))
    if errors:
        return _consent_page(request, consultation, channel=channel,
                             consented=consent == "yes", errors=errors)
    version = consultation.current_version
    assert version is not None
    if draft is None:
        draft = Draft(consultation.slug, version.id, str(uuid.uuid4()), channel)
    draft.channel = channel
    return _next(request, consultation, draft, None)


def _next(request: Request, consultation: Consultation, draft: Draft,
          after: dict[str, Any] | None) -> HTMLResponse:
    """The page after ``after`` (None: the start): the next question, or the summary."""
    definition = consultation.current_version.definition  # type: ignore[union-attr]
    values = assisted.values_of(draft.answers)
    if draft.to_summary:
        following = flow.first_unanswered(definition, values)
    else:
        following = flow.next_question(definition, values, after["id"] if after else None)
    if following is None:
        draft.to_summary = False
        return _summary_page(request, consultation, draft)
    return _question_page(request, consultation, draft, following)


def _at_question(request: Request, consultation: Consultation, draft: Draft,
                 question: dict[str, Any], action: str, given: list[str]) -> HTMLResponse:
    definition = consultation.current_version.definition  # type: ignore[union-attr]
    if action == "back":
        if draft.to_summary:
            draft.to_summary = False
            return _summary_page(request, consultation, draft)
        previous = flow.previous_question(definition, assisted.values_of(draft.answers),
                                          question["id"])
        if previous is None:
            return _back_to_consent(request, consultation, draft)
        return _question_page(request, consultation, draft, previous)
    if action == "skip":
        if assisted.is_required(question):
            return _question_page(request, consultation, draft, question, given=given,
                                  error=assisted.NEEDS_ANSWER)
        draft.answers[question["id"]] = Entry(assisted.SKIPPED)
        return _next(request, consultation, draft, question)
    result = assisted.read_answer(question, given)
    if isinstance(result, str):
        return _question_page(request, consultation, draft, question, given=given,
                              error=result)
    draft.answers[question["id"]] = result
    return _next(request, consultation, draft, question)


def _back_to_consent(request: Request, consultation: Consultation,
                     draft: Draft) -> HTMLResponse:
    return _page(request, "take_consent.html", consultation, channel=draft.channel,
                 consented=True, errors=[], draft=_seal(request, draft))


def _at_summary(request: Request, session: DbSession, user: Reviewer,
                consultation: Consultation, draft: Draft, action: str,
                quote: str) -> Response:
    definition = consultation.current_version.definition  # type: ignore[union-attr]
    if action.startswith("change:"):
        try:
            question = flow.question_by_id(definition, action.split(":", 1)[1])
        except KeyError:
            return _summary_page(request, consultation, draft)
        draft.to_summary = True
        return _question_page(request, consultation, draft, question)
    if action == "back":
        shown = assisted.shown(definition, draft.answers)
        if not shown:
            return _back_to_consent(request, consultation, draft)
        return _question_page(request, consultation, draft, shown[-1])
    errors = [(f"change-{qid}", f"Question {_number(definition, draft, qid)}: {message}")
              for qid, message in assisted.problems(definition, draft.answers).items()]
    ask_quote = assisted.wants_quote_consent(definition, draft.answers)
    if ask_quote and quote not in ("yes", "no"):
        errors.append(("quote-yes", "Say whether the person agreed to be quoted."))
    if errors:
        return _summary_page(request, consultation, draft, errors=errors, quote=quote)
    participant_id = assisted.new_participant_id(settings(request).secret.encode(), draft.key)
    if session.scalar(select(Participant.id).where(Participant.id == participant_id)):
        flash(request, ALREADY, "error")
        return RedirectResponse(f"/review/c/{consultation.slug}/take", status_code=303)
    participation = assisted.store_response(
        session, consultation, draft.channel, draft.answers, participant_id,
        quote_consent=(quote == "yes") if ask_quote else None)
    record(session, Actor.staff(user), Action.RESPONSE_TAKE,
           f"{consultation.slug} #{participation.id}", channel=draft.channel,
           answers=len(assisted.shown(definition, draft.answers)))
    session.commit()
    flash(request, f"The {draft.channel} response was stored as response number "
                   f"{participation.id}. Give the person this number: with it they can ask "
                   "for a copy of their answers or have them deleted. You can take another "
                   "response below.")
    return RedirectResponse(f"/review/c/{consultation.slug}/take", status_code=303)


def _number(definition: dict[str, Any], draft: Draft, qid: str) -> int:
    ids = [q["id"] for q in assisted.shown(definition, draft.answers)]
    return ids.index(qid) + 1 if qid in ids else 0
