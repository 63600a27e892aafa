"""The JSON API (``/api/v1``) for agencies that analyse consultations elsewhere.

Every route needs a personal API token (``Authorization: Bearer cdsn_…``, see
``bot.web.api_auth``). Reviewers and admins may read everything; only admins may add
codes to a codebook and set an answer's tags. The API uses no cookies, so its writes need
no CSRF token. Errors are JSON ``{"detail": "…"}`` whatever the client accepts. The
schema is served at ``/api/v1/openapi.json`` (with a token, like every route here); signed-in
staff read it, with Swagger UI, at ``/review/api/docs`` (``bot.web.routes.api_docs``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from bot import export
from bot.audit.trail import Action, Actor, record
from bot.consultations.schema import SLUG_RE
from bot.review import coding, conversations, gaps, outcomes, participants, stats, theme_store
from bot.review.coding import AnswerFilter, CodingError
from bot.store import repository
from bot.store.db import session_scope
from bot.store.models import Consultation, Question
from bot.web.api_auth import Admin, Reader, api_user
from bot.web.api_models import (
    MAX_ID,
    AnswerPage,
    AnswerTagsIn,
    AnswerTagsOut,
    ConsultationDetail,
    ConsultationOut,
    FunnelOut,
    FunnelStep,
    GapOut,
    GivenAnswerOut,
    Me,
    MessageOut,
    OpenAnswerOut,
    OptionCount,
    OutcomeOut,
    ParticipantsOut,
    PassageOut,
    Problem,
    QuestionOut,
    QuestionResult,
    Quote,
    ServiceQuestionOut,
    TagIn,
    TagOut,
    ThemeOut,
    TranscriptOut,
    TranscriptPage,
    TranscriptSummaryOut,
)
from bot.web.deps import DbSession, settings
from bot.web.streaming import stream_writer

PREFIX = "/api/v1"
MAX_PAGE = 500
DEFAULT_PAGE = 50


class JSONErrorRoute(APIRoute):
    """Routes whose HTTP errors are always JSON (the app otherwise renders HTML pages
    for clients that do not ask for JSON, such as ``curl``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except StarletteHTTPException as error:
                return JSONResponse({"detail": error.detail}, status_code=error.status_code,
                                    headers=getattr(error, "headers", None))
            except RequestValidationError as error:
                # Where and why, not the input: it may be huge, or text no JSON encoder
                # takes (a lone surrogate), and the client has it anyway.
                return JSONResponse({"detail": [
                    {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                    for e in error.errors()]}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

        return route

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A method no route of this path takes: 405 in JSON, ``Allow`` listing the
        methods of every route of the path (Starlette lists only this route's)."""
        if self.methods and scope["method"] not in self.methods:
            allowed = sorted({method for route in router.routes
                              if isinstance(route, APIRoute) and route.path == self.path
                              for method in route.methods or ()})
            response = JSONResponse({"detail": f"{scope['method']} is not allowed here."},
                                    status_code=status.HTTP_405_METHOD_NOT_ALLOWED,
                                    headers={"Allow": ", ".join(allowed)})
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)


def _error(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


router = APIRouter(prefix=PREFIX, tags=["api"], route_class=JSONErrorRoute,
                   dependencies=[Depends(api_user)],
                   responses={401: _error("missing, unknown or revoked token")})

Slug = Annotated[str, Path(description="the consultation's slug", max_length=64)]
QuestionKey = Annotated[str, Path(description="the question's id in the definition",
                                  max_length=32)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, 1–{MAX_PAGE}")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="how many matches to pass over")]
AnswerId = Annotated[int, Path(ge=1, le=MAX_ID, description="the answer's id")]
ParticipationId = Annotated[int, Path(ge=1, le=MAX_ID,
                                      description="the conversation's (participation's) id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _error("no such consultation (or question, answer, transcript)")}
#: The writes: only admins, and a body that may not be JSON at all (not UTF-8, say).
ADMINS_ONLY: dict[int | str, dict[str, Any]] = {
    403: _error("not an admin"), 400: _error("the body cannot be read as JSON")}


# ---------------------------------------------------------------------------- lookups
def _consultation(session: Session, slug: str) -> Consultation:
    found = repository.get_consultation(session, slug) if SLUG_RE.match(slug) else None
    if found is None or found.current_version is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no consultation “{slug}”.")
    return found


def _question(session: Session, consultation: Consultation, key: str) -> Question:
    for question in stats.current_questions(session, consultation.id):
        if question.key == key:
            return question
    raise HTTPException(status.HTTP_404_NOT_FOUND,
                        f"Consultation “{consultation.slug}” has no question “{key}”.")


def _summary(session: Session, consultation: Consultation) -> ConsultationOut:
    for summary in stats.overview(session):
        if summary.id == consultation.id:
            return _consultation_out(summary)
    raise HTTPException(status.HTTP_404_NOT_FOUND)  # pragma: no cover - found above


def _consultation_out(summary: stats.ConsultationSummary) -> ConsultationOut:
    return ConsultationOut(
        id=summary.id, slug=summary.slug, title=summary.title, agency=summary.agency,
        status=summary.status, opens=_date(summary.opens), closes=_date(summary.closes),
        participants=summary.participants, completed=summary.completed,
        completion_rate=round(summary.completion_rate, 4), channels=summary.channels)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _question_out(question: Question) -> QuestionOut:
    definition = question.definition
    return QuestionOut(key=question.key, position=question.position + 1, type=question.type,
                       text=question.text, options=stats.options(question),
                       required=bool(definition.get("required", True)),
                       show_if=definition.get("show_if"))


# ---------------------------------------------------------------------------- who, what
@router.get("/me", response_model=Me, summary="The token's user")
def me(user: Reader) -> Me:
    """Who the token belongs to (handy to check a token)."""
    return Me(email=user.email, role=user.role)


@router.get("/consultations", response_model=list[ConsultationOut],
            summary="Overview of every consultation")
def consultations(session: DbSession) -> list[ConsultationOut]:
    """Every consultation with status, dates, participants, completion and channel mix."""
    return [_consultation_out(summary) for summary in stats.overview(session)]


@router.get("/consultations/{slug}", response_model=ConsultationDetail, responses=NOT_FOUND,
            summary="One consultation: questions, funnel, outcome")
def consultation(slug: Slug, session: DbSession) -> ConsultationDetail:
    """A consultation's figures, its current questions, the participation funnel
    (opened → consented → completed, and how many reached each question) and the latest
    published outcome with how many participants were told."""
    found = _consultation(session, slug)
    figures = stats.funnel(session, found.id)
    latest = outcomes.latest_outcome(session, found.id)
    outcome = None
    if latest is not None:
        loop = outcomes.loop_figures(session, found.id)
        outcome = OutcomeOut(text=latest.text, published_at=latest.published_at,
                             asked_to_hear_back=loop.asked, told=loop.told)
    version = found.current_version
    assert version is not None  # _consultation checked
    return ConsultationDetail(
        **_summary(session, found).model_dump(), version=version.number,
        questions=[_question_out(q) for q in stats.current_questions(session, found.id)],
        funnel=FunnelOut(opened=figures.opened, consented=figures.consented,
                         completed=figures.completed,
                         steps=[FunnelStep(key=s.key, position=s.position + 1, text=s.text,
                                           type=s.type, reached=s.reached)
                                for s in figures.steps]),
        outcome=outcome)


# ---------------------------------------------------------------------------- results
def _result(question: Question, result: stats.ChoiceResult,
            tag_counts: dict[str, dict[str, int]]) -> QuestionResult:
    options = [OptionCount(option=o, count=c) for o, c in result.counts]
    return QuestionResult(question=_question_out(question),
                          reached=result.answered + result.skipped, answered=result.answered,
                          skipped=result.skipped, counts=options,
                          tags=tag_counts.get(question.key, {}))


@router.get("/consultations/{slug}/questions", response_model=list[QuestionResult],
            responses=NOT_FOUND, summary="Results of every question")
def question_results(slug: Slug, session: DbSession) -> list[QuestionResult]:
    """Per-question results of the current version, in order."""
    found = _consultation(session, slug)
    questions = stats.current_questions(session, found.id)
    results = stats.question_results(session, found.id, questions)
    tag_counts = coding.tag_counts(session, found.id)
    return [_result(q, results[q.key], tag_counts) for q in questions]


@router.get("/consultations/{slug}/questions/{key}", response_model=QuestionResult,
            responses=NOT_FOUND, summary="Results of one question")
def question_result(slug: Slug, key: QuestionKey, session: DbSession) -> QuestionResult:
    """Counts per option or scale point (multiple choice counts each pick); for open
    questions, how many answered and the tag counts."""
    found = _consultation(session, slug)
    question = _question(session, found, key)
    return _result(question, stats.question_results(session, found.id, [question])[key],
                   coding.tag_counts(session, found.id))


@router.get("/consultations/{slug}/questions/{key}/answers", response_model=AnswerPage,
            responses={404: _error("no such consultation or question, or the question is "
                                   "not an open one (its counts are at …/questions/{key})")},
            summary="A question's open answers, filtered and paged")
def answers(slug: Slug, key: QuestionKey, session: DbSession,
            search: Annotated[str, Query(max_length=200,
                                         description="text contained (any case)")] = "",
            channel: Annotated[str, Query(max_length=32)] = "",
            since: Annotated[date | None, Query(description="answered on or after")] = None,
            until: Annotated[date | None, Query(description="answered on or before")] = None,
            completed: Annotated[bool | None, Query(
                description="only completed (true) or unfinished (false) participations")
            ] = None,
            tag_id: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                                description="carrying this tag")] = None,
            reviewed: Annotated[bool | None, Query()] = None,
            limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> AnswerPage:
    """The open answers of a question, newest first, with the review page's filters."""
    found = _consultation(session, slug)
    question = _question(session, found, key)
    if question.type != "open":
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"“{key}” is a {question.type} question, without open answers: "
                            f"its counts are at "
                            f"{PREFIX}/consultations/{slug}/questions/{key}.")
    filters = AnswerFilter(search=search, channel=channel, since=since, until=until,
                           completed=completed, tag_id=tag_id, reviewed=reviewed)
    items, total = coding.open_answers(session, found.id, key, filters, page_size=limit,
                                       offset=offset)
    return AnswerPage(total=total, limit=limit, offset=offset, items=[
        OpenAnswerOut(id=a.id, text=a.text, channel=a.channel, answered_at=a.answered_at,
                      completed=a.completed, quote_consent=a.quote_consent, tags=a.tags,
                      note=a.note, reviewed=a.reviewed) for a in items])


@router.get("/consultations/{slug}/questions/{key}/themes", response_model=list[ThemeOut],
            responses=NOT_FOUND, summary="Themes of an open question")
def themes(slug: Slug, key: QuestionKey, session: DbSession) -> list[ThemeOut]:
    """The stored themes of the question's answers, largest first, with representative
    quotes ([] until themes have been computed in the review area or the CLI)."""
    found = _consultation(session, slug)
    _question(session, found, key)
    return [ThemeOut(id=t.id, label=t.label, keywords=t.keywords, size=t.size,
                     quotes=[Quote(answer_id=a, text=text, quote_consent=consent)
                             for a, text, consent in t.quotes])
            for t in theme_store.themes_of(session, found.id, key)]


# ---------------------------------------------------------------------------- coding
def _tags(session: Session, consultation_id: int) -> list[TagOut]:
    per_tag: dict[str, dict[str, int]] = {}
    for key, names in coding.tag_counts(session, consultation_id).items():
        for name, count in names.items():
            per_tag.setdefault(name, {})[key] = count
    return [TagOut(id=t.id, name=t.name, description=t.description, created_at=t.created_at,
                   total=sum(per_tag.get(t.name, {}).values()),
                   per_question=per_tag.get(t.name, {}))
            for t in coding.codebook(session, consultation_id)]


@router.get("/consultations/{slug}/tags", response_model=list[TagOut], responses=NOT_FOUND,
            summary="The codebook, with tag counts")
def tags(slug: Slug, session: DbSession) -> list[TagOut]:
    """The consultation's codebook by name, each tag with how many answers carry it."""
    return _tags(session, _consultation(session, slug).id)


@router.post("/consultations/{slug}/tags", response_model=TagOut,
             status_code=status.HTTP_201_CREATED,
             responses={**NOT_FOUND, **ADMINS_ONLY,
                        409: _error("the codebook already has this tag (in any case)")},
             summary="Add a tag to the codebook (admins)")
def add_tag(slug: Slug, body: TagIn, session: DbSession, _admin: Admin) -> TagOut:
    """Add a code to the consultation's codebook. Token auth: no CSRF token needed."""
    found = _consultation(session, slug)
    try:
        tag = coding.add_tag(session, found.id, body.name, body.description)
    except CodingError as problem:
        raise HTTPException(status.HTTP_409_CONFLICT, str(problem)) from problem
    return TagOut(id=tag.id, name=tag.name, description=tag.description,
                  created_at=tag.created_at, total=0, per_question={})


@router.put("/consultations/{slug}/answers/{answer_id}/tags", response_model=AnswerTagsOut,
            responses={**ADMINS_ONLY, 404: _error(
                "no such consultation or answer, or a tag is not in its codebook")},
            summary="Set an answer's tags (admins)")
def set_answer_tags(slug: Slug, answer_id: AnswerId, body: AnswerTagsIn, session: DbSession,
                    admin: Admin) -> AnswerTagsOut:
    """Replace an answer's tags with the given codebook tags. Token auth: no CSRF token
    needed."""
    found = _consultation(session, slug)
    try:
        coding.set_tags(session, found.id, answer_id, body.tag_ids, admin.id)
    except CodingError as problem:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(problem)) from problem
    session.flush()
    names = {t.id: t.name for t in coding.codebook(session, found.id)}
    return AnswerTagsOut(answer_id=answer_id,
                         tags=sorted(names[t] for t in set(body.tag_ids)))


# ---------------------------------------------------------------------------- knowledge gaps
def _gaps(session: Session, consultation_id: int | None) -> list[GapOut]:
    return [GapOut(label=g.label, questions=g.questions, count=g.count, forwarded=g.forwarded,
                   disputed=g.disputed, last_asked=g.last_asked)
            for g in gaps.knowledge_gaps(session, consultation_id)]


@router.get("/knowledge-gaps", response_model=list[GapOut],
            summary="Unanswered service questions, all consultations")
def all_gaps(session: DbSession) -> list[GapOut]:
    """Service questions the documents could not answer (during a consultation or
    not), grouped by meaning, largest group first."""
    return _gaps(session, None)


@router.get("/consultations/{slug}/knowledge-gaps", response_model=list[GapOut],
            responses=NOT_FOUND, summary="Unanswered service questions of a consultation")
def consultation_gaps(slug: Slug, session: DbSession) -> list[GapOut]:
    """Service questions asked during this consultation that the documents could not
    answer, grouped by meaning, largest group first."""
    return _gaps(session, _consultation(session, slug).id)


@router.get("/consultations/{slug}/participants", response_model=ParticipantsOut,
            responses=NOT_FOUND, summary="Who took part, against the population")
def who_took_part(slug: Slug, session: DbSession) -> ParticipantsOut:
    """Each profile dimension's share of participants against the population's (overall
    and per channel), with the representation index and a goodness-of-fit test, and the
    choice and scale results weighted to the population by raking."""
    figures = participants.who_took_part(session, _consultation(session, slug).id)
    assert figures is not None  # the consultation exists
    return ParticipantsOut.model_validate(participants.as_json(figures))


# ---------------------------------------------------------------------------- transcripts
@router.get("/consultations/{slug}/transcripts", response_model=TranscriptPage,
            responses=NOT_FOUND, summary="Conversations, filtered and paged")
def transcript_list(slug: Slug, session: DbSession,
                    channel: Annotated[str, Query(max_length=32)] = "",
                    status_: Annotated[str, Query(
                        alias="status", pattern=f"^(|{'|'.join(conversations.STATUSES)})$")
                    ] = "",
                    limit: Limit = DEFAULT_PAGE, offset: Offset = 0) -> TranscriptPage:
    """The consultation's conversations, newest first."""
    found = _consultation(session, slug)
    # The review pages count in pages: read the one or two pages the window overlaps.
    first, skip = divmod(offset, limit)
    rows, total = conversations.list_transcripts(session, found.id, channel=channel,
                                                 status=status_, page=first + 1,
                                                 page_size=limit)
    if skip and len(rows) == limit:
        rows += conversations.list_transcripts(session, found.id, channel=channel,
                                               status=status_, page=first + 2,
                                               page_size=limit)[0]
    return TranscriptPage(total=total, limit=limit, offset=offset,
                          items=[TranscriptSummaryOut(**vars(row))
                                 for row in rows[skip:skip + limit]])


def _passage(hit: dict[str, Any]) -> PassageOut:
    similarity = hit.get("similarity")
    return PassageOut(title=str(hit.get("title") or ""), section=str(hit.get("section") or ""),
                      source=str(hit.get("source") or ""),
                      collection=str(hit.get("collection") or ""),
                      similarity=float(similarity) if similarity is not None else None)


@router.get("/consultations/{slug}/transcripts/{participation_id}",
            response_model=TranscriptOut, responses=NOT_FOUND, summary="One conversation")
def transcript(slug: Slug, participation_id: ParticipationId,
               session: DbSession) -> TranscriptOut:
    """The whole conversation in order with the buttons offered, the service questions
    with the passages shown, and the answers it produced."""
    found = _consultation(session, slug)
    view = conversations.transcript_view(session, found.id, participation_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"Consultation “{slug}” has no conversation {participation_id}.")
    return TranscriptOut(
        participation_id=view.participation_id, version=view.version, channel=view.channel,
        status=view.status, quote_consent=view.quote_consent, started_at=view.started_at,
        finished_at=view.finished_at,
        messages=[MessageOut(sender="citizen" if m.from_citizen else "bot", text=m.text,
                             buttons=m.buttons, at=m.at) for m in view.messages],
        service_questions=[ServiceQuestionOut(
            question=q.text, during=q.during, answered=q.answered,
            passages=[_passage(hit) for hit in q.shown], at=q.at)
            for q in view.service_questions],
        answers=[GivenAnswerOut(question=a.key, position=a.position + 1, text=a.question,
                                status=a.status, value=None if a.status == "skipped" else a.value,
                                raw_text=a.raw_text) for a in view.answers])


# ---------------------------------------------------------------------------- exports
class ExportFormat(StrEnum):
    """What an export contains (as ``codesign export --format``)."""

    csv = "csv"
    json = "json"
    xlsx = "xlsx"
    transcripts = "transcripts"
    participants = "participants"


#: format -> (writer, media type, file name suffix, text)
EXPORTS: dict[ExportFormat, tuple[Callable[..., int], str, str, bool]] = {
    ExportFormat.csv: (export.write_csv, "text/csv; charset=utf-8", "answers.csv", True),
    ExportFormat.json: (export.write_json, "application/json", "answers.json", True),
    ExportFormat.xlsx: (export.write_xlsx, "application/vnd.openxmlformats-officedocument."
                        "spreadsheetml.sheet", "answers.xlsx", False),
    ExportFormat.transcripts: (export.write_transcripts, "application/x-ndjson",
                               "transcripts.jsonl", True),
    ExportFormat.participants: (export.write_participants, "application/json",
                                "who-took-part.json", True),
}


@router.get("/consultations/{slug}/exports/{format}", response_class=StreamingResponse,
            responses={**NOT_FOUND, 200: {"description": "the export, streamed", "content": {
                media.split(";")[0]: {} for _, media, _, _ in EXPORTS.values()}}},
            summary="Download an export (streamed)")
def download(slug: Slug, format: ExportFormat, request: Request, session: DbSession,
             user: Reader) -> StreamingResponse:
    """The consultation's answers as CSV, XLSX (one row per answer, stable columns,
    ``quote_consent`` and ``tags``), JSON (one record per participation), or its
    conversations as JSON Lines (``transcripts``), or the Who took part figures
    (``participants``, JSON). Streamed: memory stays flat."""
    found = _consultation(session, slug)
    write, media, suffix, text = EXPORTS[format]
    url = settings(request).database_url
    consultation_id, name = found.id, found.slug
    record(session, Actor.staff(user), Action.EXPORT, name, format=format.value, via="api")

    def produce(out: Any) -> None:
        with session_scope(url) as export_session:
            write(export_session, consultation_id, name, out)

    return StreamingResponse(
        stream_writer(produce, text=text), media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}-{suffix}"'})


# ---------------------------------------------------------------------------- the schema
def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def api_schema(full: dict[str, Any]) -> dict[str, Any]:
    """The part of the app's OpenAPI schema under ``/api/v1``, with the component
    schemas it refers to (and not those of the HTML pages)."""
    paths = {path: item for path, item in full.get("paths", {}).items()
             if path.startswith(PREFIX + "/")}
    components = dict(full.get("components", {}))
    schemas = components.get("schemas", {})
    wanted: set[str] = set()
    todo = set(_refs(paths))
    while todo:
        name = todo.pop()
        if name in wanted or name not in schemas:
            continue
        wanted.add(name)
        todo |= set(_refs(schemas[name]))
    components["schemas"] = {name: schemas[name] for name in sorted(wanted)}
    return {**full, "info": {"title": "codesign API", "version": "1",
                             "description": __doc__ or ""},
            "paths": paths, "components": components}


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI schema of this API (FastAPI's, for the routes under ``/api/v1``)."""
    return JSONResponse(api_schema(request.app.openapi()))
