"""Review pages: overview, one consultation, one question's results and answers, coding,
knowledge gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.review import coding, gap_words, gaps, outcomes, stats
from bot.review.coding import AnswerFilter, CodingError
from bot.review.conversations import channels_of
from bot.store.models import Question
from bot.web.auth import Reviewer
from bot.web.render import render
from bot.web.routes import calibration
from bot.web.routes.gap_labels import labels_context
from bot.web.routes.review_common import (
    DbSession,
    back,
    flash,
    known_consultation,
    paging,
    parse_day,
    parse_int,
    parse_yes_no,
    reviewer_router,
)
from bot.web.stats_view import bar_rows

router = reviewer_router()
NO_QUESTION = "This consultation has no question with that id."


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: DbSession, _user: Reviewer) -> HTMLResponse:
    """Every consultation with status, dates, participants, completion and channel mix."""
    return render(request, "overview.html", {"summaries": stats.overview(session)})


@router.get("/c/{slug}", response_class=HTMLResponse)
def consultation(slug: str, request: Request, session: DbSession,
                 user: Reviewer) -> HTMLResponse:
    """One consultation: funnel, per-question results, codebook, tag counts, outcome."""
    found = known_consultation(session, slug)
    funnel = stats.funnel(session, found.id)
    questions = stats.current_questions(session, found.id)
    results = stats.question_results(session, found.id,
                                     [q for q in questions if q.type != "open"])
    charts = {key: bar_rows(r.counts, total=r.answered) for key, r in results.items()}
    return render(request, "consultation.html", {
        "c": found, "version": found.current_version, "funnel": funnel,
        "funnel_rows": bar_rows([("Opened the consultation", funnel.opened),
                                 ("Agreed to take part", funnel.consented),
                                 ("Completed", funnel.completed)], total=funnel.opened),
        "step_rows": bar_rows([(f"{s.position + 1}. {s.text}", s.reached)
                               for s in funnel.steps], total=funnel.consented),
        "questions": questions, "charts": charts,
        "codebook": coding.codebook(session, found.id),
        "tag_counts": coding.tag_counts(session, found.id),
        "outcome": outcomes.latest_outcome(session, found.id),
        "figures": outcomes.loop_figures(session, found.id),
        "is_admin": user.is_admin,
    })


def _question(session: DbSession, consultation_id: int, key: str) -> Question:
    for question in stats.current_questions(session, consultation_id):
        if question.key == key:
            return question
    raise HTTPException(status_code=404, detail=NO_QUESTION)


@router.get("/c/{slug}/q/{key}", response_class=HTMLResponse)
def question(slug: str, key: str, request: Request, session: DbSession, _user: Reviewer,
             q: str = "", channel: str = "", since: str = "", until: str = "",
             completed: str = "", tag: str = "", reviewed: str = "",
             page: str = "1") -> HTMLResponse:
    """A question's results: counts for choice and scale questions; for open ones the
    answers, searchable and filtered, with the tagging form."""
    found = known_consultation(session, slug)
    asked = _question(session, found.id, key)
    context: dict[str, object] = {"c": found, "version": found.current_version,
                                  "question": asked}
    if asked.type != "open":
        result = stats.choice_results(session, found.id, asked)
        context.update(result=result, rows=bar_rows(result.counts, total=result.answered))
        return render(request, "question.html", context)
    filters = AnswerFilter(search=q[:200], channel=channel[:32], since=parse_day(since),
                           until=parse_day(until), completed=parse_yes_no(completed),
                           tag_id=parse_int(tag), reviewed=parse_yes_no(reviewed))
    number = parse_int(page) or 1
    answers, total = coding.open_answers(session, found.id, key, filters, page=number)
    form = {"q": q[:200], "channel": channel, "since": since, "until": until,
            "completed": completed, "tag": tag, "reviewed": reviewed}
    query = {k: v for k, v in form.items() if v}
    context.update(paging(f"/review/c/{slug}/q/{key}", query, number, total, coding.PAGE_SIZE))
    context.update(answers=answers, total=total, form=form,
                   codebook=coding.codebook(session, found.id),
                   channels=channels_of(session, found.id),
                   bad_dates=(since and not filters.since) or (until and not filters.until))
    return render(request, "question.html", context)


@router.post("/c/{slug}/answers/{answer_id}")
def save_answer_review(slug: str, answer_id: int, request: Request, session: DbSession,
                       user: Reviewer, tag: Annotated[list[int] | None, Form()] = None,
                       note: Annotated[str, Form()] = "",
                       reviewed: Annotated[str, Form()] = "",
                       next: Annotated[str, Form()] = "") -> RedirectResponse:
    """Save an answer's tags, note and reviewed mark."""
    found = known_consultation(session, slug)
    try:
        coding.set_tags(session, found.id, answer_id, tag or [], user.id)
        coding.review_answer(session, found.id, answer_id, note=note,
                             reviewed=reviewed == "yes", user_id=user.id)
    except CodingError as problem:
        raise HTTPException(status_code=404, detail=str(problem)) from problem
    flash(request, f"Saved answer {answer_id}.")
    return back(next, f"/review/c/{slug}")


@router.post("/c/{slug}/tags")
def add_tag(slug: str, request: Request, session: DbSession, _user: Reviewer,
            name: Annotated[str, Form()] = "", description: Annotated[str, Form()] = "",
            next: Annotated[str, Form()] = "") -> RedirectResponse:
    """Add a tag to the consultation's codebook."""
    found = known_consultation(session, slug)
    try:
        added = coding.add_tag(session, found.id, name, description[:2000])
        flash(request, f"Added the tag “{added.name}” to the codebook.")
    except CodingError as problem:
        flash(request, f"The tag was not added: {problem}.", "error")
    return back(next, f"/review/c/{slug}#codebook")


@router.get("/gaps", response_class=HTMLResponse)
def all_gaps(request: Request, session: DbSession, _user: Reviewer,
             word: str = "", job: str = "") -> HTMLResponse:
    """Unanswered service questions of every consultation (and outside them), grouped,
    the words the documents don't use, and the questions to label for calibration;
    ``word``: only the questions using it; ``job``: a calibration job to show."""
    shown = gap_words.normalised_word(word) if word else None
    return render(request, "gaps.html", {
        "c": None, "gaps": gaps.knowledge_gaps(session, word=shown), "word": shown,
        "gap_words": gap_words.gap_words(session), "here": "/review/gaps",
        **labels_context(session, None),
        "calibrating": calibration.shown(request.app.state.jobs, job[:100])})


@router.get("/c/{slug}/gaps", response_class=HTMLResponse)
def consultation_gaps(slug: str, request: Request, session: DbSession,
                      _user: Reviewer, word: str = "") -> HTMLResponse:
    """Unanswered service questions asked during one consultation, grouped, and the words
    the documents don't use; ``word``: only the questions using it."""
    found = known_consultation(session, slug)
    shown = gap_words.normalised_word(word) if word else None
    return render(request, "gaps.html", {
        "c": found, "version": found.current_version, "word": shown,
        "gaps": gaps.knowledge_gaps(session, found.id, word=shown),
        "gap_words": gap_words.gap_words(session, found.id),
        "here": f"/review/c/{found.slug}/gaps", **labels_context(session, found.id),
        "calibrating": None})
