"""Unit tests for the exports (bot.export): JSON per participation, CSV and XLSX per answer,
transcripts as JSON Lines.

Data is built through the repository, on SQLite and on PostgreSQL (``database_url``).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest

from bot import export
from bot.consultations.schema import parse_consultation
from bot.export import CSV_COLUMNS, write_csv, write_json
from bot.store import repository as repo
from bot.store.db import migrate, session_scope
from bot.store.pseudonym import participant_key

SECRET = b"test-secret-key-0123456789abcdef"
SENDERS = {"ann": "tg-100200300", "ben": "web-4f9c2a77"}
KEYS = {name: participant_key(SECRET, "telegram", sender) for name, sender in SENDERS.items()}

YAML = """\
slug: {slug}
title: Bike lanes
agency: Test Council
service: Transport
kind: co-design
summary: Help us plan new bike lanes.
outcome: We will publish what we heard.
questions:
  - id: cycle
    type: single_choice
    text: Do you cycle in town?
    options: ["Yes", "No"]
  - id: why_not
    type: open
    text: What stops you from cycling?
    show_if: {{question: cycle, in: ["No"]}}
  - id: routes
    type: multi_choice
    text: Which routes should get lanes first?
    options: [North, South, East]
  - id: safety
    type: scale
    text: How safe do you feel on the roads?
    min: 1
    max: 5
    required: false
  - id: comments
    type: open
    text: Anything else?
    required: false
{more}"""
QUESTION_IDS = ["cycle", "why_not", "routes", "safety", "comments"]


def launch(session: Any, slug: str = "bike-lanes", more: str = "") -> repo.LaunchResult:
    text = YAML.format(slug=slug, more=more)
    return repo.launch_consultation(session, parse_consultation(text), text)


def save(session: Any, participation_id: int, question_id: int, value: Any, *,
         raw_text: str | None = None, skipped: bool = False) -> None:
    repo.save_answer(session, participation_id, question_id,
                     status="skipped" if skipped else "answered",
                     value=None if skipped else value, raw_text=raw_text, message_id=None)


@pytest.fixture
def data(database_url: str) -> dict[str, Any]:
    """Two participations in 'bike-lanes' (and one in another consultation).

    ann: cycles, two routes, skips 'safety', leaves a comment; completed, quotes allowed.
    ben: said No, explained why, then changed to Yes (so 'why_not' is hidden again);
         one route, safety 2, no comment; still active.
    """
    migrate(database_url)
    with session_scope(database_url) as session:
        version = launch(session).version
        q = {k: v.id for k, v in repo.questions_by_key(session, version.id).items()}

        ann = repo.start_participation(session, KEYS["ann"], version.id, "telegram")
        save(session, ann.id, q["cycle"], "Yes", raw_text="yes")
        save(session, ann.id, q["routes"], ["North", "East"])
        save(session, ann.id, q["safety"], None, raw_text="skip", skipped=True)
        save(session, ann.id, q["comments"], 'Wider lanes, please; and "real" barriers',
             raw_text='Wider lanes, please; and "real" barriers')
        ann.status, ann.quote_consent = "completed", True
        ann.finished_at = ann.started_at

        ben = repo.start_participation(session, KEYS["ben"], version.id, "telegram")
        save(session, ben.id, q["cycle"], "No", raw_text="nope")
        save(session, ben.id, q["why_not"], "Too much traffic", raw_text="Too much traffic")
        save(session, ben.id, q["cycle"], "Yes", raw_text="actually yes")
        save(session, ben.id, q["routes"], ["South"])
        save(session, ben.id, q["safety"], 2, raw_text="2")

        other = launch(session, "other-consultation").version
        other_q = repo.questions_by_key(session, other.id)
        stranger = repo.start_participation(session, participant_key(SECRET, "rest", "x"),
                                            other.id, "rest")
        save(session, stranger.id, other_q["cycle"].id, "No")
        return {"url": database_url, "consultation_id": version.consultation_id,
                "ann": ann.id, "ben": ben.id, "other_id": other.consultation_id}


def export_json(data: dict[str, Any], slug: str = "bike-lanes") -> tuple[int, str]:
    out = io.StringIO()
    with session_scope(data["url"]) as session:
        count = write_json(session, data["consultation_id"], slug, out)
    return count, out.getvalue()


def export_csv(data: dict[str, Any]) -> tuple[int, str]:
    out = io.StringIO()
    with session_scope(data["url"]) as session:
        count = write_csv(session, data["consultation_id"], "bike-lanes", out)
    return count, out.getvalue()


# --------------------------------------------------------------------------- JSON


def test_json_is_one_record_per_participation(data: dict[str, Any]) -> None:
    count, text = export_json(data)
    records = json.loads(text)
    assert count == 2
    assert isinstance(records, list)
    assert [r["participation_id"] for r in records] == [data["ann"], data["ben"]]
    assert {r["consultation"] for r in records} == {"bike-lanes"}
    assert {r["version"] for r in records} == {1}
    assert {r["channel"] for r in records} == {"telegram"}


def test_json_answers_are_keyed_by_every_question(data: dict[str, Any]) -> None:
    ann, ben = json.loads(export_json(data)[1])
    assert list(ann["answers"]) == QUESTION_IDS
    assert list(ben["answers"]) == QUESTION_IDS
    assert ann["answers"] == {
        "cycle": "Yes",
        "why_not": None,  # never shown
        "routes": ["North", "East"],
        "safety": None,  # skipped
        "comments": 'Wider lanes, please; and "real" barriers',
    }
    assert ben["answers"] == {
        "cycle": "Yes",
        "why_not": None,  # answered, then hidden by changing 'cycle'
        "routes": ["South"],
        "safety": 2,
        "comments": None,  # not answered
    }


def test_json_participation_fields(data: dict[str, Any]) -> None:
    ann, ben = json.loads(export_json(data)[1])
    assert (ann["status"], ann["quote_consent"]) == ("completed", True)
    assert (ben["status"], ben["quote_consent"], ben["finished_at"]) == ("active", None, None)
    assert datetime.fromisoformat(ann["started_at"]) == datetime.fromisoformat(
        ann["finished_at"])
    datetime.fromisoformat(ben["started_at"])
    assert set(ann) == {"consultation", "version", "participation_id", "participant",
                        "channel", "status", "started_at", "finished_at", "quote_consent",
                        "weight", "answers"}
    assert ann["weight"] is None  # no population to weight to


def test_json_participants_are_pseudonymous(data: dict[str, Any]) -> None:
    text = export_json(data)[1]
    ann, ben = json.loads(text)
    assert (ann["participant"], ben["participant"]) == (KEYS["ann"], KEYS["ben"])
    for sender in SENDERS.values():
        assert sender not in text
    assert participant_key(SECRET, "rest", "x") not in text  # other consultation


def test_json_of_a_consultation_without_participations(data: dict[str, Any]) -> None:
    with session_scope(data["url"]) as session:
        empty = launch(session, "empty-one").version.consultation_id
    out = io.StringIO()
    with session_scope(data["url"]) as session:
        assert write_json(session, empty, "empty-one", out) == 0
    assert json.loads(out.getvalue()) == []


def test_json_is_the_same_in_small_batches(data: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    expected = export_json(data)
    monkeypatch.setattr(export, "BATCH", 1)
    assert export_json(data) == expected


def test_json_each_record_uses_its_own_version(data: dict[str, Any]) -> None:
    more = "  - id: lighting\n    type: open\n    text: Where is lighting needed?\n"
    with session_scope(data["url"]) as session:
        v2 = launch(session, more=more).version
        lighting = repo.questions_by_key(session, v2.id)["lighting"]
        cara = repo.start_participation(session, participant_key(SECRET, "rest", "c"), v2.id,
                                        "rest")
        save(session, cara.id, lighting.id, "Along the canal")
    ann, ben, cara_record = json.loads(export_json(data)[1])
    assert (ann["version"], ben["version"], cara_record["version"]) == (1, 1, 2)
    assert "lighting" not in ann["answers"]
    assert cara_record["answers"] == {**dict.fromkeys(QUESTION_IDS), "lighting": "Along the canal"}


# --------------------------------------------------------------------------- CSV


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_header_is_the_stable_columns(data: dict[str, Any]) -> None:
    text = export_csv(data)[1]
    raw = list(csv.reader(io.StringIO(text)))
    assert raw[0] == CSV_COLUMNS
    assert CSV_COLUMNS == [
        "consultation", "version", "participation_id", "participant", "channel", "status",
        "question_id", "question_position", "question_type", "question_text",
        "answer_status", "value", "raw_text", "answered_at", "updated_at", "quote_consent",
        "tags", "weight",
    ]
    assert all(len(row) == len(CSV_COLUMNS) for row in raw)


def test_csv_is_one_row_per_visible_answer(data: dict[str, Any]) -> None:
    count, text = export_csv(data)
    rows = rows_of(text)
    assert count == len(rows) == 7
    assert [(int(r["participation_id"]), r["question_id"]) for r in rows] == [
        (data["ann"], "cycle"), (data["ann"], "routes"), (data["ann"], "safety"),
        (data["ann"], "comments"),
        (data["ben"], "cycle"), (data["ben"], "routes"), (data["ben"], "safety"),
    ]
    assert "Too much traffic" not in text  # the hidden branch's stale answer


def test_csv_values(data: dict[str, Any]) -> None:
    rows = rows_of(export_csv(data)[1])
    by = {(int(r["participation_id"]), r["question_id"]): r for r in rows}
    ann_routes = by[data["ann"], "routes"]
    assert ann_routes["value"] == "North; East"
    assert (ann_routes["question_position"], ann_routes["question_type"]) == ("3",
                                                                              "multi_choice")
    assert ann_routes["question_text"] == "Which routes should get lanes first?"
    assert ann_routes["raw_text"] == ""
    skipped = by[data["ann"], "safety"]
    assert (skipped["answer_status"], skipped["value"], skipped["raw_text"]) == (
        "skipped", "", "skip")
    comment = by[data["ann"], "comments"]
    assert comment["value"] == 'Wider lanes, please; and "real" barriers'
    assert by[data["ben"], "safety"]["value"] == "2"
    assert by[data["ben"], "cycle"]["value"] == "Yes"
    assert by[data["ben"], "cycle"]["raw_text"] == "actually yes"
    assert by[data["ben"], "cycle"]["question_position"] == "1"
    for row in rows:
        assert row["consultation"] == "bike-lanes" and row["version"] == "1"
        assert row["channel"] == "telegram"
        datetime.fromisoformat(row["answered_at"])
        datetime.fromisoformat(row["updated_at"])
    assert {r["quote_consent"] for r in rows if int(r["participation_id"]) == data["ann"]} == {
        "true"}
    assert {r["quote_consent"] for r in rows if int(r["participation_id"]) == data["ben"]} == {
        ""}
    assert {r["status"] for r in rows if int(r["participation_id"]) == data["ben"]} == {
        "active"}


def test_csv_participants_are_pseudonymous(data: dict[str, Any]) -> None:
    text = export_csv(data)[1]
    rows = rows_of(text)
    assert {r["participant"] for r in rows} == {KEYS["ann"], KEYS["ben"]}
    for sender in SENDERS.values():
        assert sender not in text


def test_csv_of_a_consultation_without_participations(data: dict[str, Any]) -> None:
    with session_scope(data["url"]) as session:
        empty = launch(session, "empty-one").version.consultation_id
    out = io.StringIO()
    with session_scope(data["url"]) as session:
        assert write_csv(session, empty, "empty-one", out) == 0
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [CSV_COLUMNS]


def test_csv_is_the_same_in_small_batches(data: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    expected = export_csv(data)
    monkeypatch.setattr(export, "BATCH", 1)
    assert export_csv(data) == expected


# --------------------------------------------------------------------------- XLSX, transcripts
def test_xlsx_has_the_csv_rows_and_never_formulas(data: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    from bot.review.coding import add_tag, set_tags

    with session_scope(data["url"]) as session:
        comment = next(a for a in repo.current_answers(session, data["ann"]).values()
                   if a.raw_text and "Wider" in a.raw_text)
        comment.raw_text = comment.value = '=HYPERLINK("http://evil.example","click")'
        tag = add_tag(session, data["consultation_id"], "Safety")
        set_tags(session, data["consultation_id"], comment.id, [tag.id], None)
    rows = list(csv.DictReader(io.StringIO(export_csv(data)[1])))
    out = io.BytesIO()
    with session_scope(data["url"]) as session:
        count = export.write_xlsx(session, data["consultation_id"], "bike-lanes", out)
    sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True)["answers"]
    table = [[("" if v is None else str(v)) for v in row]
             for row in sheet.iter_rows(values_only=True)]
    assert count == len(rows) and table[0] == CSV_COLUMNS
    assert [dict(zip(CSV_COLUMNS, r, strict=True))["raw_text"] for r in table[1:]] == \
        [r["raw_text"] for r in rows]
    injected = next(r for r in rows if "HYPERLINK" in r["raw_text"])
    assert injected["raw_text"].startswith("'=") and injected["tags"] == "Safety"


def test_transcripts_are_one_json_line_per_participation(data: dict[str, Any]) -> None:
    with session_scope(data["url"]) as session:
        repo.record_outgoing(session, data["ann"], "Do you cycle in town?",
                             [{"title": "Yes", "payload": "/affirm"}])
        repo.record_incoming(session, data["ann"], "yes", "affirm", None)
    out = io.StringIO()
    with session_scope(data["url"]) as session:
        count = export.write_transcripts(session, data["consultation_id"], "bike-lanes", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines) == 2
    ann = next(line for line in lines if line["participation_id"] == data["ann"])
    assert [m["from"] for m in ann["messages"]] == ["bot", "citizen"]
    assert ann["messages"][0]["buttons"] == ["Yes"] and ann["quote_consent"] is True
    assert ann["participant"] == KEYS["ann"] and SENDERS["ann"] not in out.getvalue()
    assert ann["answers"]["routes"] == ["North", "East"]
