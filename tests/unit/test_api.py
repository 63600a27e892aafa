"""The JSON API (/api/v1) on consultations taken through the real conversation engine.

FastAPI TestClient against a real SQLite store; tokens are issued as
``codesign users token`` does.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.accounts.tokens import issue_token, revoke_tokens
from bot.accounts.users import create_user
from bot.config import Settings
from bot.consultations.schema import parse_consultation
from bot.dialogue.engine import ConversationEngine
from bot.export import CSV_COLUMNS
from bot.review import outcomes
from bot.store import repository
from bot.store.db import migrate, session_scope
from bot.store.models import Answer, KnowledgeQuery, Participation, Question
from bot.store.review_models import Theme, ThemeMember, User
from bot.web import WebSettings, create_app
from bot.web.routes.api import MAX_PAGE
from bot.web.streaming import stream_writer
from tests.unit.test_engine import (
    LIBRARY,
    LIBRARY_FILE,
    PARK_FILE,
    SECRET,
    Citizen,
    _Today,
    at_reasons,
    at_times,
    launch,
)

API = "/api/v1"
OPEN_KEY = "hours_reasons"
PASSWORD = "correct horse battery staple"
#: Sender ids as a channel would send them: none may ever appear in the API's answers.
SENDERS = {"rest": "rest-sender-8812734", "telegram": "tg-chat-990011223",
           "web": "socket-sid-Zq81xYw"}
REASONS = {"rest": "Studying after work and borrowing books for my children",
           "telegram": "Quiet reading on Sunday afternoons with my family"}


@dataclass
class Api:
    """The app, its store and tokens of each kind of user."""

    client: TestClient
    url: str
    consultation_id: int
    admin: str
    reviewer: str
    revoked: str
    disabled: str

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        response = self.client.get(API + path, params=params,
                                   headers={"Authorization": f"Bearer {token or self.reviewer}"})
        assert response.status_code == 200, response.text
        return response.json()

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def _user(session: Any, email: str, role: str) -> User:
    return create_user(session, email, role, PASSWORD)


@pytest.fixture
def api(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """Two completed participations (rest, telegram), one stopped early (web), one
    declined; a service question answered from the documents and one not covered; users
    with live, revoked and disabled tokens."""
    monkeypatch.setattr(repository, "date", _Today)
    migrate(sqlite_url)
    launch(sqlite_url, LIBRARY_FILE)
    launch(sqlite_url, PARK_FILE)
    engine = ConversationEngine(Settings(database_url=sqlite_url, secret_key=SECRET))
    for channel in ("rest", "telegram"):
        citizen = Citizen(engine, SENDERS[channel], channel)
        at_reasons(citizen)
        citizen.say(REASONS[channel])
        citizen.press("/skip")
        citizen.press("/affirm" if channel == "rest" else "/deny")  # may be quoted?
        citizen.press("/submit")
    at_times(Citizen(engine, SENDERS["web"], "web"))
    declined = Citizen(engine, "declined-sender-1", "web")
    declined.press('/start_consultation{"consultation":"library-hours-2027"}')
    declined.press("/deny")
    with session_scope(sqlite_url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        rest = session.scalar(select(Participation).where(Participation.channel == "rest"))
        assert rest is not None
        session.add(KnowledgeQuery(
            participation_id=rest.id, question_key="visits", text="Is it open on Sundays?",
            collections=["libraries"], answered=True, top_score=0.71,
            hits=[{"passage_id": 1, "title": "Opening hours", "section": "Central Library",
                   "source": "https://council.example/libraries/hours",
                   "collection": "libraries", "score": 0.03, "similarity": 0.71}]))
        session.add(KnowledgeQuery(
            participation_id=rest.id, question_key="evenings", text="Can I bring my dog?",
            collections=["libraries"], answered=False, top_score=0.2, forwarded=True,
            hits=[{"passage_id": 2, "title": "Pets", "section": "", "source": "x",
                   "collection": "libraries", "score": 0.01, "similarity": 0.2}]))
        admin = _user(session, "admin@council.example", "admin")
        reviewer = _user(session, "reviewer@council.example", "reviewer")
        gone = _user(session, "gone@council.example", "reviewer")
        tokens = {"admin": issue_token(session, admin, "analysis"),
                  "reviewer": issue_token(session, reviewer, "analysis"),
                  "disabled": issue_token(session, gone, "old")}
        revoked = issue_token(session, reviewer, "laptop")
        revoke_tokens(session, reviewer)
        tokens["reviewer"] = issue_token(session, reviewer, "analysis")
        gone.active = False
        consultation_id = consultation.id
    app = create_app(WebSettings(database_url=sqlite_url))
    with TestClient(app) as client:
        yield Api(client, sqlite_url, consultation_id, tokens["admin"], tokens["reviewer"],
                  revoked, tokens["disabled"])


def _open_answer_ids(api: Api) -> dict[str, int]:
    page = api.get(f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/answers")
    return {item["channel"]: item["id"] for item in page["items"]}


def _no_raw_ids(text: str) -> None:
    for sender in [*SENDERS.values(), "declined-sender-1"]:
        assert sender not in text


# ---------------------------------------------------------------------------- tokens, roles
@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Basic YWRtaW46cGFzcw=="},
    {"Authorization": "Bearer cdsn_not-a-real-token"}, {"Authorization": "Bearer nonsense"},
], ids=["missing", "empty", "basic", "unknown", "malformed"])
def test_requests_without_a_valid_token_get_401_with_a_bearer_challenge(
        api: Api, headers: dict[str, str]) -> None:
    for path in ("/consultations", f"/consultations/{LIBRARY}/exports/csv", "/openapi.json"):
        # Even a browser-like Accept gets JSON: API errors are never HTML pages.
        response = api.client.get(API + path, headers={**headers, "Accept": "text/html"})
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith("application/json")
        assert "token" in response.json()["detail"]


def test_revoked_tokens_and_disabled_users_get_401(api: Api) -> None:
    for token in (api.revoked, api.disabled):
        response = api.client.get(f"{API}/consultations", headers=api.auth(token))
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert api.get("/me")["role"] == "reviewer"


def test_me_names_the_tokens_user(api: Api) -> None:
    assert api.get("/me", api.admin) == {"email": "admin@council.example", "role": "admin"}


def test_reviewers_may_read_but_not_change_tags(api: Api) -> None:
    answer_id = _open_answer_ids(api)["rest"]
    created = api.client.post(f"{API}/consultations/{LIBRARY}/tags", json={"name": "Study"},
                              headers=api.auth(api.reviewer))
    assert created.status_code == 403 and "admins" in created.json()["detail"]
    assert api.client.put(f"{API}/consultations/{LIBRARY}/answers/{answer_id}/tags",
                          json={"tag_ids": []},
                          headers=api.auth(api.reviewer)).status_code == 403
    assert api.get(f"/consultations/{LIBRARY}/tags") == []


# ---------------------------------------------------------------------------- consultations
def test_overview_lists_every_consultation_with_figures(api: Api) -> None:
    listing = {c["slug"]: c for c in api.get("/consultations")}
    assert set(listing) == {LIBRARY, "park-redesign-2027"}
    library = listing[LIBRARY]
    assert (library["participants"], library["completed"]) == (3, 2)
    assert library["channels"] == {"rest": 1, "telegram": 1, "web": 1}
    assert library["completion_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert library["status"] == "open" and library["title"] and library["agency"]
    assert library["opens"] == "2026-12-01" or library["opens"] is None or \
        library["opens"].count("-") == 2
    assert listing["park-redesign-2027"]["participants"] == 0


def test_consultation_has_questions_funnel_and_outcome(api: Api) -> None:
    detail = api.get(f"/consultations/{LIBRARY}")
    assert detail["version"] == 1 and detail["outcome"] is None
    keys = [q["key"] for q in detail["questions"]]
    assert keys[0] == "visits" and OPEN_KEY in keys
    assert [q["position"] for q in detail["questions"]] == list(range(1, len(keys) + 1))
    evenings = next(q for q in detail["questions"] if q["key"] == "evenings")
    assert evenings["options"] == ["1", "2", "3", "4", "5"] and evenings["required"] is False
    barriers = next(q for q in detail["questions"] if q["key"] == "barriers")
    assert barriers["show_if"]["question"] == "visits"
    funnel = detail["funnel"]
    assert (funnel["opened"], funnel["consented"], funnel["completed"]) == (4, 3, 2)
    reached = {step["key"]: step["reached"] for step in funnel["steps"]}
    assert reached["visits"] == 3 and reached[OPEN_KEY] == 2 and reached["barriers"] == 0
    with session_scope(api.url) as session:
        outcomes.publish_outcome(session, api.consultation_id, "We open on Sundays.", None)
    outcome = api.get(f"/consultations/{LIBRARY}")["outcome"]
    assert outcome["text"] == "We open on Sundays." and outcome["told"] == 0


@pytest.mark.parametrize("path", [
    "/consultations/no-such-thing", "/consultations/no-such-thing/questions",
    "/consultations/no-such-thing/exports/csv", "/consultations/NOT%20A%20SLUG/tags",
    f"/consultations/{LIBRARY}/questions/nope",
    f"/consultations/{LIBRARY}/questions/nope/answers",
    f"/consultations/{LIBRARY}/questions/nope/themes",
    f"/consultations/{LIBRARY}/transcripts/99999",
])
def test_unknown_consultations_and_questions_are_a_clear_404(api: Api, path: str) -> None:
    response = api.client.get(API + path, headers=api.auth(api.reviewer))
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "no-such-thing" in detail or "nope" in detail or "99999" in detail or \
        "NOT A SLUG" in detail


# ---------------------------------------------------------------------------- results
def test_question_results_count_options_scales_and_open_answers(api: Api) -> None:
    results = {r["question"]["key"]: r for r in api.get(f"/consultations/{LIBRARY}/questions")}
    visits = results["visits"]
    assert visits["answered"] == 3 and visits["reached"] == 3
    assert [c["option"] for c in visits["counts"]] == visits["question"]["options"]
    assert {c["option"]: c["count"] for c in visits["counts"]}["Monthly"] == 3
    scale = api.get(f"/consultations/{LIBRARY}/questions/evenings")
    assert {c["option"]: c["count"] for c in scale["counts"]} == {
        "1": 0, "2": 0, "3": 0, "4": 2, "5": 0}
    reasons = results[OPEN_KEY]
    assert (reasons["answered"], reasons["skipped"], reasons["counts"]) == (2, 0, [])
    anything = results["anything_else"]
    assert (anything["answered"], anything["skipped"]) == (0, 2)


def test_every_questions_results_equal_each_questions_results(api: Api) -> None:
    # A second version renames an option, and an answer carries a tag.
    renamed = LIBRARY_FILE.read_text(encoding="utf-8").replace("Monthly", "Once a month")
    with session_scope(api.url) as session:
        repository.launch_consultation(session, parse_consultation(renamed), renamed)
    tag = api.client.post(f"{API}/consultations/{LIBRARY}/tags", json={"name": "Family"},
                          headers=api.auth(api.admin)).json()
    answer_id = next(iter(_open_answer_ids(api).values()))
    assert api.client.put(f"{API}/consultations/{LIBRARY}/answers/{answer_id}/tags",
                          json={"tag_ids": [tag["id"]]},
                          headers=api.auth(api.admin)).status_code == 200
    every = api.get(f"/consultations/{LIBRARY}/questions")
    detail = api.get(f"/consultations/{LIBRARY}")
    assert [r["question"] for r in every] == detail["questions"]
    assert every == [api.get(f"/consultations/{LIBRARY}/questions/{r['question']['key']}")
                     for r in every]
    results = {r["question"]["key"]: r for r in every}
    assert results[OPEN_KEY]["tags"] == {"Family": 1}
    assert [c["option"] for c in results["visits"]["counts"]][-1] == "Monthly"  # version 1


def test_open_answers_with_filters(api: Api) -> None:
    base = f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/answers"
    page = api.get(base)
    assert page["total"] == 2 and {a["text"] for a in page["items"]} == set(REASONS.values())
    consent = {a["channel"]: a["quote_consent"] for a in page["items"]}
    assert consent == {"rest": True, "telegram": False}
    assert all(set(a) >= {"id", "answered_at", "completed", "tags", "note", "reviewed"}
               for a in page["items"])
    assert [a["channel"] for a in api.get(base, channel="telegram")["items"]] == ["telegram"]
    assert api.get(base, search="SUNDAY")["total"] == 1
    assert api.get(base, search="100%_")["total"] == 0
    assert api.get(base, completed="false")["total"] == 0
    assert api.get(base, completed="true")["total"] == 2
    assert api.get(base, since="2000-01-01", until="2999-01-01")["total"] == 2
    assert api.get(base, until="2000-01-01")["total"] == 0
    assert api.get(base, reviewed="true")["total"] == 0
    not_open = api.client.get(f"{API}/consultations/{LIBRARY}/questions/visits/answers",
                              headers=api.auth(api.reviewer))
    assert not_open.status_code == 404 and "single_choice" in not_open.json()["detail"]


def test_open_answer_pagination_and_its_bounds(api: Api) -> None:
    base = f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/answers"
    everything = [a["id"] for a in api.get(base)["items"]]
    first = api.get(base, limit=1)
    second = api.get(base, limit=1, offset=1)
    assert (first["limit"], first["offset"], first["total"]) == (1, 0, 2)
    assert [first["items"][0]["id"], second["items"][0]["id"]] == everything
    assert api.get(base, offset=2)["items"] == []
    assert len(api.get(base, limit=MAX_PAGE)["items"]) == 2
    for params in ({"limit": 0}, {"limit": MAX_PAGE + 1}, {"offset": -1}, {"limit": "x"},
                   {"completed": "maybe"}, {"since": "yesterday"}):
        response = api.client.get(API + base, params=params, headers=api.auth(api.reviewer))
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/json")


# ---------------------------------------------------------------------------- coding
def test_admins_add_tags_and_tag_answers_and_counts_follow(api: Api) -> None:
    tags_url = f"{API}/consultations/{LIBRARY}/tags"
    study = api.client.post(tags_url, json={"name": "  Study   space ", "description": "Quiet"},
                            headers=api.auth(api.admin))
    assert study.status_code == 201, study.text
    assert study.json()["name"] == "Study space" and study.json()["total"] == 0
    family = api.client.post(tags_url, json={"name": "Family"}, headers=api.auth(api.admin))
    duplicate = api.client.post(tags_url, json={"name": "study space"},
                                headers=api.auth(api.admin))
    assert duplicate.status_code == 409 and "already has" in duplicate.json()["detail"]
    assert api.client.post(tags_url, json={"name": ""},
                           headers=api.auth(api.admin)).status_code == 422
    assert api.client.post(tags_url, json={"name": "   "},
                           headers=api.auth(api.admin)).status_code == 422

    ids = _open_answer_ids(api)
    put = api.client.put(f"{API}/consultations/{LIBRARY}/answers/{ids['telegram']}/tags",
                         json={"tag_ids": [family.json()["id"], study.json()["id"]]},
                         headers=api.auth(api.admin))
    assert put.status_code == 200, put.text
    assert put.json() == {"answer_id": ids["telegram"], "tags": ["Family", "Study space"]}
    api.client.put(f"{API}/consultations/{LIBRARY}/answers/{ids['rest']}/tags",
                   json={"tag_ids": [study.json()["id"]]}, headers=api.auth(api.admin))

    codebook = {t["name"]: t for t in api.get(f"/consultations/{LIBRARY}/tags")}
    assert codebook["Study space"]["total"] == 2
    assert codebook["Study space"]["per_question"] == {OPEN_KEY: 2}
    assert codebook["Family"]["description"] == ""
    result = api.get(f"/consultations/{LIBRARY}/questions/{OPEN_KEY}")
    assert result["tags"] == {"Family": 1, "Study space": 2}
    tagged = api.get(f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/answers",
                     tag_id=family.json()["id"])
    assert [a["id"] for a in tagged["items"]] == [ids["telegram"]]
    assert tagged["items"][0]["tags"] == ["Family", "Study space"]


def test_what_the_fuzzer_found_gets_clear_answers(api: Api) -> None:
    """schemathesis's findings (tests/unit/test_api_schemathesis.py), kept as examples."""
    admin = api.auth(api.admin)
    tags_url = f"{API}/consultations/{LIBRARY}/tags"
    # A tag name with a control character: 422 saying why, not a 500.
    control = api.client.post(tags_url, json={"name": "Æ¨\u0095]Fß"}, headers=admin)
    assert control.status_code == 422
    assert "control characters" in control.json()["detail"][0]["msg"]
    # The same non-ASCII name twice (SQLite's lower() leaves "Æ" alone): 409, not a 500.
    assert api.client.post(tags_url, json={"name": "Æsop"}, headers=admin).status_code == 201
    again = api.client.post(tags_url, json={"name": "æSOP"}, headers=admin)
    assert again.status_code == 409 and "already has" in again.json()["detail"]
    # A lone surrogate: 422 (its echo in the error used to fail to encode: a 500).
    surrogate = api.client.post(tags_url, content=b'{"name": "a\\ud800"}',
                                headers={**admin, "content-type": "application/json"})
    assert surrogate.status_code == 422 and "input" not in surrogate.json()["detail"][0]
    # Ids beyond 64 bits (and beyond PostgreSQL's integer): 422, not a 500.
    huge = 2**64 + 1
    for method, path, body in (
            ("PUT", f"/consultations/{LIBRARY}/answers/{huge}/tags", {"tag_ids": []}),
            ("PUT", f"/consultations/{LIBRARY}/answers/1/tags", {"tag_ids": [huge]}),
            ("GET", f"/consultations/{LIBRARY}/transcripts/{huge}", None),
            ("GET", f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/answers?tag_id={huge}",
             None)):
        response = api.client.request(method, API + path, json=body, headers=admin)
        assert response.status_code == 422, (method, path, response.text)
    # A method the path does not take: 405 in JSON, Allow naming all the path's methods.
    options = api.client.options(tags_url, headers=admin)
    assert options.status_code == 405 and options.headers["allow"] == "GET, POST"
    assert options.headers["content-type"] == "application/json"
    # Times carry their offset (RFC 3339), as the schema's date-time says.
    assert api.get(f"/consultations/{LIBRARY}/tags")[0]["created_at"].endswith("Z")


def test_setting_tags_refuses_unknown_answers_and_foreign_tags(api: Api) -> None:
    park_tag = api.client.post(f"{API}/consultations/park-redesign-2027/tags",
                               json={"name": "Trees"}, headers=api.auth(api.admin)).json()
    answer_id = _open_answer_ids(api)["rest"]
    foreign = api.client.put(f"{API}/consultations/{LIBRARY}/answers/{answer_id}/tags",
                             json={"tag_ids": [park_tag["id"]]}, headers=api.auth(api.admin))
    assert foreign.status_code == 404 and "codebook" in foreign.json()["detail"]
    missing = api.client.put(f"{API}/consultations/{LIBRARY}/answers/999999/tags",
                             json={"tag_ids": []}, headers=api.auth(api.admin))
    assert missing.status_code == 404
    elsewhere = api.client.put(f"{API}/consultations/park-redesign-2027/answers/{answer_id}/tags",
                               json={"tag_ids": []}, headers=api.auth(api.admin))
    assert elsewhere.status_code == 404


def test_themes_of_a_question(api: Api) -> None:
    assert api.get(f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/themes") == []
    ids = _open_answer_ids(api)
    with session_scope(api.url) as session:
        theme = Theme(consultation_id=api.consultation_id, question_key=OPEN_KEY,
                      label="study · family", keywords=["study", "family"])
        session.add(theme)
        session.flush()
        session.add_all([ThemeMember(theme_id=theme.id, answer_id=ids["rest"], rank=0),
                         ThemeMember(theme_id=theme.id, answer_id=ids["telegram"], rank=1)])
    (found,) = api.get(f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/themes")
    assert (found["label"], found["size"], found["keywords"]) == (
        "study · family", 2, ["study", "family"])
    assert [(q["answer_id"], q["quote_consent"]) for q in found["quotes"]] == [
        (ids["rest"], True), (ids["telegram"], False)]
    assert found["quotes"][0]["text"] == REASONS["rest"]


def test_knowledge_gaps(api: Api) -> None:
    (gap,) = api.get(f"/consultations/{LIBRARY}/knowledge-gaps")
    assert (gap["label"], gap["count"], gap["forwarded"]) == ("Can I bring my dog?", 1, 1)
    assert api.get("/knowledge-gaps") == [gap]
    assert api.get("/consultations/park-redesign-2027/knowledge-gaps") == []


# ---------------------------------------------------------------------------- transcripts
def test_transcript_list_with_filters_and_pages(api: Api) -> None:
    base = f"/consultations/{LIBRARY}/transcripts"
    listing = api.get(base)
    assert listing["total"] == 3
    assert {t["channel"]: t["status"] for t in listing["items"]} == {
        "rest": "completed", "telegram": "completed", "web": "active"}
    assert all(t["messages"] > 0 for t in listing["items"])
    assert {t["channel"]: t["answers"] for t in listing["items"]}["web"] == 1
    assert [t["channel"] for t in api.get(base, channel="web")["items"]] == ["web"]
    assert api.get(base, status="completed")["total"] == 2
    everything = [t["participation_id"] for t in listing["items"]]
    windows = [api.get(base, limit=2, offset=offset)["items"] for offset in (0, 1, 2, 3)]
    assert [[t["participation_id"] for t in w] for w in windows] == [
        everything[0:2], everything[1:3], everything[2:3], []]
    bad = api.client.get(f"{API}{base}", params={"status": "deleted"},
                         headers=api.auth(api.reviewer))
    assert bad.status_code == 422


def test_one_transcript_in_full(api: Api) -> None:
    rest = next(t for t in api.get(f"/consultations/{LIBRARY}/transcripts")["items"]
                if t["channel"] == "rest")
    whole = api.get(f"/consultations/{LIBRARY}/transcripts/{rest['participation_id']}")
    assert whole["status"] == "completed" and whole["quote_consent"] is True
    senders = {m["sender"] for m in whole["messages"]}
    assert senders == {"citizen", "bot"}
    assert any("Monthly" in m["buttons"] for m in whole["messages"] if m["sender"] == "bot")
    assert any(m["text"] == REASONS["rest"] for m in whole["messages"])
    covered, not_covered = whole["service_questions"]
    assert covered["answered"] and covered["during"] == "visits"
    assert covered["passages"] == [{"title": "Opening hours", "section": "Central Library",
                                    "source": "https://council.example/libraries/hours",
                                    "collection": "libraries", "similarity": 0.71}]
    assert not not_covered["answered"] and not_covered["passages"] == []
    answers = {a["question"]: a for a in whole["answers"]}
    assert answers["visits"]["value"] == "Monthly" and answers["visits"]["position"] == 1
    assert answers[OPEN_KEY]["raw_text"] == REASONS["rest"]
    assert answers["anything_else"]["status"] == "skipped"
    assert answers["anything_else"]["value"] is None
    other = api.client.get(f"{API}/consultations/park-redesign-2027/transcripts/"
                           f"{rest['participation_id']}", headers=api.auth(api.reviewer))
    assert other.status_code == 404


def test_no_response_contains_a_raw_channel_id(api: Api) -> None:
    texts = []
    for path in ["/consultations", f"/consultations/{LIBRARY}",
                 f"/consultations/{LIBRARY}/questions",
                 f"/consultations/{LIBRARY}/questions/{OPEN_KEY}/answers",
                 f"/consultations/{LIBRARY}/transcripts",
                 *[f"/consultations/{LIBRARY}/exports/{f}"
                   for f in ("csv", "json", "transcripts")]]:
        response = api.client.get(API + path, headers=api.auth(api.reviewer))
        assert response.status_code == 200
        texts.append(response.text)
    for item in api.get(f"/consultations/{LIBRARY}/transcripts")["items"]:
        texts.append(json.dumps(api.get(f"/consultations/{LIBRARY}/transcripts/"
                                        f"{item['participation_id']}")))
    _no_raw_ids("\n".join(texts))


# ---------------------------------------------------------------------------- exports
def test_csv_export_streams_every_visible_answer(api: Api) -> None:
    with api.client.stream("GET", f"{API}/consultations/{LIBRARY}/exports/csv",
                           headers=api.auth(api.reviewer)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == \
            f'attachment; filename="{LIBRARY}-answers.csv"'
        body = b"".join(response.iter_bytes()).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == CSV_COLUMNS
    with session_scope(api.url) as session:
        stored = session.query(Answer).join(Question).count()
    assert len(rows) == stored  # no branch change: every answer is visible
    reasons = {r["channel"]: r for r in rows if r["question_id"] == OPEN_KEY}
    assert reasons["rest"]["raw_text"] == REASONS["rest"]
    assert reasons["rest"]["quote_consent"] == "true"
    assert reasons["telegram"]["quote_consent"] == "false"


def test_json_xlsx_and_transcript_exports(api: Api) -> None:
    def download(fmt: str) -> tuple[str, bytes]:
        response = api.client.get(f"{API}/consultations/{LIBRARY}/exports/{fmt}",
                                  headers=api.auth(api.admin))
        assert response.status_code == 200, response.text
        return response.headers["content-type"], response.content

    kind, body = download("json")
    assert kind == "application/json"
    records = json.loads(body)
    assert len(records) == 3 and {r["channel"] for r in records} == {"rest", "telegram", "web"}
    assert all(len(r["participant"]) >= 32 for r in records)  # pseudonyms

    kind, body = download("xlsx")
    assert kind == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(body), read_only=True)["answers"]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0] == CSV_COLUMNS
    csv_rows = list(csv.DictReader(io.StringIO(download("csv")[1].decode())))
    assert len(table) - 1 == len(csv_rows)

    kind, body = download("transcripts")
    assert kind == "application/x-ndjson"
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert len(lines) == 3 and all(line["messages"] for line in lines)
    rest = next(line for line in lines if line["channel"] == "rest")
    assert rest["service_questions"][0]["shown"] == ["Opening hours"]

    unknown = api.client.get(f"{API}/consultations/{LIBRARY}/exports/pdf",
                             headers=api.auth(api.admin))
    assert unknown.status_code == 422


def test_stream_writer_passes_chunks_and_stops_when_the_reader_goes() -> None:
    written = threading.Event()
    finished = threading.Event()

    def endless(out: Any) -> None:
        try:
            while True:
                out.write("x" * 10_000)
                written.set()
        finally:
            finished.set()

    chunks = stream_writer(endless, text=True)
    first = next(chunks)
    assert written.is_set() and set(first.decode()) == {"x"} and len(first) >= 64 * 1024
    chunks.close()  # as when the client disconnects
    assert finished.wait(5)

    def failing(out: Any) -> None:
        out.write(b"partial")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        list(stream_writer(failing, text=False))


# ---------------------------------------------------------------------------- the schema
def test_openapi_schema_describes_every_endpoint(api: Api) -> None:
    schema = api.get("/openapi.json")
    paths = schema["paths"]
    expected = {
        ("get", "/me"), ("get", "/consultations"), ("get", "/consultations/{slug}"),
        ("get", "/consultations/{slug}/questions"),
        ("get", "/consultations/{slug}/questions/{key}"),
        ("get", "/consultations/{slug}/questions/{key}/answers"),
        ("get", "/consultations/{slug}/questions/{key}/themes"),
        ("get", "/consultations/{slug}/tags"), ("post", "/consultations/{slug}/tags"),
        ("put", "/consultations/{slug}/answers/{answer_id}/tags"),
        ("get", "/knowledge-gaps"), ("get", "/consultations/{slug}/knowledge-gaps"),
        ("get", "/consultations/{slug}/transcripts"),
        ("get", "/consultations/{slug}/transcripts/{participation_id}"),
        ("get", "/consultations/{slug}/exports/{format}"),
        ("get", "/consultations/{slug}/participants"),
    }
    found = {(method, path.removeprefix(API)) for path, item in paths.items()
             for method in item}
    assert found == expected
    assert all(path.startswith(API) for path in paths)
    answers = paths[f"{API}/consultations/{{slug}}/questions/{{key}}/answers"]["get"]
    params = {p["name"]: p for p in answers["parameters"]}
    assert set(params) >= {"search", "channel", "since", "until", "completed", "tag_id",
                           "reviewed", "limit", "offset"}
    assert params["limit"]["schema"]["maximum"] == MAX_PAGE
    ok = answers["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/AnswerPage")
    assert "ApiToken" in schema["components"]["securitySchemes"]
    assert schema["components"]["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    exports = paths[f"{API}/consultations/{{slug}}/exports/{{format}}"]["get"]
    assert set(exports["responses"]["200"]["content"]) >= {"text/csv", "application/x-ndjson"}
    # The app's own schema (what /openapi.json would serve) has them too, tagged "api".
    app_paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert all(app_paths[path][method]["tags"] == ["api"] for method, path in
               [(m, API + p) for m, p in expected])
