"""The load benchmark's parts (bench/load): statistics, what citizens answer and expect,
reading the bot's replies, the transcript comparison and the store check."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.load.check import Expectation, check_store, compare_transcript
from bench.load.citizen import Sample
from bench.load.scenario import LoadConfig, make_specs, step_sizes
from bench.load.script import (
    CONSENT,
    OTHER,
    PAUSED,
    QUESTION,
    SUBMITTED,
    SUMMARY,
    UNAVAILABLE,
    WELCOME,
    Intended,
    Message,
    button_payloads,
    consultations,
    misspell,
    plan_answers,
    read_reply,
    reply_complete,
    reply_status,
    shown_value,
    stored_value,
    typed_forms,
)
from bench.load.stats import latency_figures, throughput
from bench.load.transports import SocketTransport, TransportError, rest_message, socket_message
from bot.consultations.answers import Parsed, parse_answer
from bot.dialogue import render
from bot.dialogue.messages import BotMessage
from bot.store import repository as repo
from bot.store.db import engine_for, session_scope
from bot.store.models import (
    Answer,
    Base,
    Consultation,
    Participant,
    Participation,
    Question,
    TranscriptEntry,
    utcnow,
)
from bot.store.pseudonym import participant_key

LIBRARY = "library-hours-2027"
PARK = "park-redesign-2027"
SECRET = b"load-test-secret-0123456789"


def question(slug: str, key: str) -> dict[str, Any]:
    return next(q for q in consultations()[slug]["questions"] if q["id"] == key)


def as_message(message: BotMessage) -> Message:
    return Message(message.text, tuple((b.title, b.payload) for b in message.buttons))


# ------------------------------------------------------------------ statistics

def test_percentiles_are_nearest_rank() -> None:
    samples = [Sample("rest", 0.0, ms / 1000, 1) for ms in range(1, 101)]
    figures = latency_figures(samples)
    assert figures["p50"] == pytest.approx(50)
    assert figures["p95"] == pytest.approx(95)
    assert figures["p99"] == pytest.approx(99)
    assert figures["n"] == 100
    assert latency_figures([Sample("rest", 1.0, 1.2, 1)])["p99"] == pytest.approx(200)
    assert latency_figures([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0, "n": 0}


def test_throughput_is_turns_over_first_send_to_last_reply() -> None:
    samples = [Sample("rest", 10.0, 10.5, 1), Sample("socketio", 11.0, 12.0, 2),
               Sample("rest", 14.0, 15.0, 1)]
    rate, duration = throughput(samples)
    assert duration == pytest.approx(5.0) and rate == pytest.approx(3 / 5)
    assert throughput([]) == (0.0, 0.0)


def test_find_rate_doubles_then_bisects() -> None:
    limit = 500
    assert step_sizes(100, 1600, lambda n: n <= limit) == [100, 200, 400, 800, 600, 500]
    assert step_sizes(100, 300, lambda n: True) == [100, 200]
    assert step_sizes(100, 1600, lambda n: n <= 30) == [100, 50, 25, 40, 30]
    # The embedded default on 2 cores: 100 sustainable, 150 and 200 not, 125 sustainable.
    assert step_sizes(100, 1600, lambda n: n <= 125) == [100, 200, 150, 125]
    assert step_sizes(40, 1600, lambda n: False) == [40, 20, 10]


def test_specs_are_reproducible_and_half_each_transport() -> None:
    config = LoadConfig(citizens=10, arrival=5.0, seed=3)
    first, again = make_specs(config, "a"), make_specs(config, "b")
    assert [(s.slug, s.seed, s.arrival) for s in first] == \
        [(s.slug, s.seed, s.arrival) for s in again]
    assert [s.transport for s in first].count("rest") == 5
    assert len({s.sender for s in first + again}) == 20
    assert max(s.arrival for s in first) < 5.0
    burst = make_specs(LoadConfig(citizens=50, burst=True), "c")
    assert max(s.arrival for s in burst) <= 1.0


# ------------------------------------------------------------------ expected values

@pytest.mark.parametrize("slug", [LIBRARY, PARK])
def test_every_typed_form_parses_to_the_expected_value(slug: str) -> None:
    definition = consultations()[slug]
    for seed in range(30):
        rng = random.Random(seed)
        plan = plan_answers(definition, rng)
        for q in definition["questions"]:
            intended = plan[q["id"]]
            forms = typed_forms(q, intended, rng)
            assert forms, (q["id"], intended)
            if intended.skip:
                continue
            for name, text in forms.items():
                result = parse_answer(q, text)
                assert isinstance(result, Parsed) and result.value == intended.value, \
                    (q["id"], name, text, result)


@pytest.mark.parametrize("slug", [LIBRARY, PARK])
def test_plans_skip_one_optional_question(slug: str) -> None:
    definition = consultations()[slug]
    optional = {q["id"] for q in definition["questions"] if not q.get("required", True)}
    for seed in range(20):
        plan = plan_answers(definition, random.Random(seed))
        skipped = {key for key, intended in plan.items() if intended.skip}
        assert len(skipped) == 1 and skipped <= optional
        assert plan[next(iter(skipped))].stored == ("skipped", None)


def test_expected_value_of_each_question_type() -> None:
    visits = question(LIBRARY, "visits")
    assert stored_value(visits, (3,)) == "A few times a year"
    times = question(LIBRARY, "preferred_times")
    assert stored_value(times, (4, 1)) == ["Early mornings (before 10am)", "Saturdays"]
    evenings = question(LIBRARY, "evenings")
    assert stored_value(evenings, (4,)) == 4
    barriers = question(LIBRARY, "barriers")
    assert stored_value(barriers, (), "  buses   stop early ") == "buses stop early"
    assert shown_value(("answered", ["Saturdays", "Sundays"])) == "Saturdays, Sundays"
    assert shown_value(("skipped", None)) == "(skipped)"


def test_typed_forms_include_words_numbers_labels_and_lists() -> None:
    evenings = question(LIBRARY, "evenings")
    forms = typed_forms(evenings, Intended(value=5, choices=(5,)))
    assert forms["number"] == "5" and forms["word"] == "five"
    assert forms["label"] == "very important" and forms["fraction"] == "5/5"
    times = question(LIBRARY, "preferred_times")
    multi = typed_forms(times, Intended(value=["Early mornings (before 10am)", "Saturdays"],
                                        choices=(1, 4)))
    assert multi["numbers"] == "1, 4"
    assert multi["texts"] == "early mornings (before 10am), saturdays"


def test_misspellings_still_mean_the_option() -> None:
    options = question(LIBRARY, "visits")["options"]
    for index in range(len(options)):
        text = misspell(options, index, random.Random(index))
        if text is not None:
            assert text != options[index].lower()
            assert parse_answer(question(LIBRARY, "visits"), text) == Parsed(options[index])
    assert misspell(["Yes", "No"], 0, random.Random(1)) is None  # too short to be safe


def test_button_payloads() -> None:
    times = question(LIBRARY, "preferred_times")
    assert button_payloads(times, Intended(value=["Weekday daytime", "Sundays"],
                                           choices=(2, 5))) == [
        '/choose{"choice":"preferred_times:2"}', '/choose{"choice":"preferred_times:5"}',
        '/choose{"choice":"preferred_times:done"}']
    assert button_payloads(question(PARK, "after_dark"), Intended(skip=True)) == ["/skip"]
    assert button_payloads(question(PARK, "access"), Intended(value="No", choices=(2,))) == \
        ['/choose{"choice":"access:2"}']


# ------------------------------------------------------------------ reading replies

def test_questions_are_recognised_from_the_rendered_text() -> None:
    for slug, definition in consultations().items():
        for q in definition["questions"]:
            rendered = render.question(definition, q, (3, 8), previous_answer="Monthly",
                                       pending=["Saturdays"])
            state = read_reply([Message("Hello again! Let’s continue."), as_message(rendered)])
            assert (state.kind, state.key, state.current) == (QUESTION, q["id"], "Monthly"), slug
    access = render.question(consultations()[PARK], question(PARK, "access"), (4, 8))
    assert "(optional)" in access.text
    assert read_reply([as_message(access)]).payload_of("Skip") == "/skip"


def test_other_replies_are_recognised() -> None:
    definition = consultations()[LIBRARY]
    summary = render.summary([(1, question(LIBRARY, "visits")["text"], "Monthly"),
                              (2, question(LIBRARY, "evenings")["text"], "(skipped)")])
    state = read_reply([as_message(summary)])
    assert state.kind == SUMMARY
    assert state.summary == (("visits", "Monthly"), ("evenings", "(skipped)"))
    assert read_reply([as_message(render.consent_request(definition))]).kind == CONSENT
    welcome = render.welcome([(LIBRARY, definition)], definition["title"])
    assert read_reply([as_message(welcome)]).can_resume
    assert read_reply([as_message(welcome)]).kind == WELCOME
    assert read_reply([Message("Paused. Your answers so far are saved. Come back …")]).kind \
        == PAUSED
    submitted = [Message("Thank you! Your answers have been submitted.\n\nWhat happens next"),
                 Message("Would you like us to tell you what the council decides as a result?")]
    assert read_reply(submitted).kind == SUBMITTED
    assert read_reply([Message("Something else")]).kind == OTHER


def test_the_unavailable_marker_on_both_channels() -> None:
    rest = [rest_message({"recipient_id": "x", "custom": {"data": {"codesign": "unavailable"}}}),
            rest_message({"recipient_id": "x", "text": "Sorry … send it again in a minute."})]
    assert read_reply(rest).kind == UNAVAILABLE
    socket = [socket_message({"codesign": "unavailable"})]
    assert read_reply(socket).kind == UNAVAILABLE
    assert not reply_complete(socket)  # the text follows the marker
    assert reply_complete([*socket, socket_message({"text": "Please try again in a minute."})])
    assert read_reply([Message("Please try again in a minute.")]).kind == UNAVAILABLE


def test_socket_replies_are_complete_at_the_last_message_of_a_turn() -> None:
    definition = consultations()[LIBRARY]
    fragments = [socket_message({"text": part}) for part in
                 render.consent_request(definition).text.split("\n\n")]
    assert not reply_complete(fragments[:-1])
    assert reply_complete(fragments)
    service = [socket_message({"text": "The library opens at 9am.",
                               "quick_replies": [{"title": "That didn’t answer it",
                                                  "payload": "/choose"}]}),
               socket_message({"text": "Now, back to the consultation:"})]
    assert not reply_complete(service)
    assert reply_status(service) == "unrecognised"  # the question is still to come
    assert reply_status(fragments[:1]) == "unrecognised"
    submitted = [socket_message({"text": "Thank you! Your answers have been submitted."})]
    assert reply_status(submitted) == "partial"  # the follow-up offer may follow
    q = render.question(definition, question(LIBRARY, "visits"), (1, 8))
    assert reply_complete([*service, socket_message({
        "text": q.text, "quick_replies": [{"title": b.title, "payload": b.payload}
                                          for b in q.buttons]})])


# ------------------------------------------------------------------ socket.io replies

class FakeSocket:
    """Stands in for the socket.io client: each emitted message gets the replies
    scripted for it, after a delay (seconds), as ``bot_uttered`` events would."""

    connected = True

    def __init__(self, transport: SocketTransport,
                 script: list[list[tuple[float, dict[str, Any]]]]) -> None:
        self.transport = transport
        self.script = script
        self.sent: list[str] = []

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        self.sent.append(data["metadata"]["message_id"])
        for delay, reply in self.script.pop(0):
            asyncio.get_running_loop().call_later(
                delay, self.transport.replies.put_nowait, (0.0, reply))


def socket_with(script: list[list[tuple[float, dict[str, Any]]]],
                timeout: float = 0.3) -> tuple[SocketTransport, FakeSocket]:
    transport = SocketTransport("http://x", "s", "a", timeout, reply_status, quiet=0.05)
    fake = FakeSocket(transport, script)
    transport.client = fake
    transport.confirmed.set()
    return transport, fake


def asked(key: str, slug: str = LIBRARY) -> dict[str, Any]:
    q = question(slug, key)
    return {"text": render.question(consultations()[slug], q, (1, 8)).text}


def test_a_socket_reply_ends_with_the_message_a_turn_ends_with() -> None:
    async def scenario() -> None:
        transport, _ = socket_with([[(0.01, {"text": "Now, back to the consultation:"}),
                                     (0.02, asked("visits"))]])
        delivery = await transport.send("what time does it open?", "m1")
        assert read_reply(delivery.messages).key == "visits"
        assert len(delivery.messages) == 2 and not transport.pending

    asyncio.run(scenario())


def test_late_replies_to_a_resent_message_are_not_taken_for_the_next() -> None:
    async def scenario() -> None:
        transport, fake = socket_with([
            [(0.5, asked("preferred_times"))],  # the first copy's reply comes too late
            [(0.01, asked("evenings"))],  # the re-sent copy (handled as a duplicate)
            [(0.01, asked("trade_off"))],  # the next message
        ])
        with pytest.raises(TransportError):
            await transport.send("2", "m1")
        assert list(transport.pending) == ["m1"]
        await asyncio.sleep(0.6)  # the late reply is in the queue now
        again = await transport.send("2", "m1")
        assert read_reply(again.messages).key == "evenings"  # the last reply: the state now
        nxt = await transport.send("4", "m2")
        assert read_reply(nxt.messages).key == "trade_off" and nxt.stale == 0
        assert fake.sent == ["m1", "m1", "m2"]

    asyncio.run(scenario())


def test_a_reply_arriving_after_a_resend_waits_for_the_copy() -> None:
    async def scenario() -> None:
        transport, _ = socket_with([
            [(0.4, asked("preferred_times"))],  # late: arrives while the copy is awaited
            [(0.2, asked("evenings"))],
        ], timeout=0.3)
        with pytest.raises(TransportError):
            await transport.send("2", "m1")
        delivery = await transport.send("2", "m1")
        assert read_reply(delivery.messages).key == "evenings"
        assert not transport.pending

    asyncio.run(scenario())


# ------------------------------------------------------------------ transcripts

def test_transcript_in_order_is_clean() -> None:
    assert compare_transcript(["a", "b", "c"], ["a", "b", "c"]).clean


def test_transcript_problems_are_counted() -> None:
    assert compare_transcript(["a", "b", "c"], ["a", "c"]).missing == 1
    assert compare_transcript(["a", "b"], ["a", "b", "b"]).duplicated == 1
    assert compare_transcript(["a", "b", "c", "d"], ["a", "c", "b", "d"]).out_of_order == 1
    assert compare_transcript(["a", "b", "c", "d"], ["d", "a", "b", "c"]).out_of_order == 1
    assert compare_transcript(["a"], ["a", "zzz", None]).unexpected == 2


def test_a_message_given_up_on_may_end_the_transcript_or_be_absent() -> None:
    assert compare_transcript(["a", "b"], ["a", "b"], optional="c").clean
    assert compare_transcript(["a", "b"], ["a", "b", "c"], optional="c").clean
    assert compare_transcript(["a", "b"], ["c", "a", "b"], optional="c").out_of_order == 1


# ------------------------------------------------------------------ the store check

@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    """A SQLite app store with the demo consultations launched, filled by hand below."""
    url = f"sqlite:///{tmp_path / 'load.db'}"
    Base.metadata.create_all(engine_for(url))
    with session_scope(url) as session:
        for slug in (LIBRARY, PARK):
            path = Path(__file__).resolve().parents[2] / "consultations" / f"{slug}.yml"
            repo.launch_consultation(session, consultations()[slug], path.read_text())
    yield url
    engine_for(url).dispose()


def participate(url: str, sender: str, answers: dict[str, tuple[str, Any]], *,
                channel: str = "rest", status: str = "completed",
                transcript: list[str] | None = None, slug: str = LIBRARY) -> None:
    """Store one participation as the bot would have."""
    key = participant_key(SECRET, channel, sender)
    with session_scope(url) as session:
        consultation = session.query(Consultation).filter_by(slug=slug).one()
        version = consultation.current_version
        assert version is not None
        if session.get(Participant, key) is None:
            session.add(Participant(id=key))
        participation = Participation(participant_id=key, version_id=version.id,
                                      channel=channel, status=status, consent_at=utcnow(),
                                      state={})
        session.add(participation)
        session.flush()
        ids = {q.key: q.id for q in session.query(Question).filter_by(version_id=version.id)}
        for qkey, (answer_status, value) in answers.items():
            session.add(Answer(participation_id=participation.id, question_id=ids[qkey],
                               status=answer_status, value=value, raw_text=str(value)))
        for message_id in transcript or []:
            session.add(TranscriptEntry(participation_id=participation.id, direction="in",
                                        text="…", message_id=message_id))
            session.add(TranscriptEntry(participation_id=participation.id, direction="out",
                                        text="…"))


ANSWERS: dict[str, tuple[str, Any]] = {
    "visits": ("answered", "Monthly"),
    "preferred_times": ("answered", ["Weekday daytime", "Saturdays"]),
    "evenings": ("skipped", None),
    "trade_off": ("answered", "No preference"),
}


def expect(sender: str, answers: dict[str, tuple[str, Any]] | None = None,
           **changes: Any) -> Expectation:
    fields: dict[str, Any] = {"sender": sender, "channel": "rest", "slug": LIBRARY,
                              "consented": True, "answers": dict(answers or ANSWERS),
                              "submitted": True, "transcript": ("m1", "m2", "m3")}
    fields.update(changes)
    return Expectation(**fields)


def test_a_faithful_store_is_clean(store: str) -> None:
    participate(store, "alice", ANSWERS, transcript=["m1", "m2", "m3"])
    participate(store, "bob", {"visits": ("answered", "Weekly or more")}, channel="web",
                status="active", transcript=["b1"])
    result = check_store(store, SECRET, [
        expect("alice"),
        expect("bob", {"visits": ("answered", "Weekly or more")}, channel="web",
               submitted=False, transcript=("b1",)),
        expect("carol", {}, consented=False, submitted=False, transcript=()),
    ])
    assert result.clean, result.problems
    assert (result.citizens, result.answers_checked, result.submissions_checked) == (3, 5, 1)
    assert result.messages_checked == 4


def test_a_lost_answer_is_detected(store: str) -> None:
    stored = {k: v for k, v in ANSWERS.items() if k != "trade_off"}
    participate(store, "alice", stored, transcript=["m1", "m2", "m3"])
    result = check_store(store, SECRET, [expect("alice")])
    assert (result.lost, result.duplicated, result.wrong) == (1, 0, 0)
    assert "trade_off lost" in result.problems[0]


def test_a_duplicated_answer_is_detected(store: str) -> None:
    participate(store, "alice", ANSWERS, transcript=["m1", "m2", "m3"])
    participate(store, "alice", {"visits": ("answered", "Monthly")}, status="active")
    result = check_store(store, SECRET, [expect("alice")])
    assert (result.lost, result.duplicated, result.wrong) == (0, 1, 0)
    assert result.extra_participations == 1 and not result.clean


def test_wrong_answers_are_detected(store: str) -> None:
    wrong = dict(ANSWERS, preferred_times=("answered", ["Saturdays"]),
                 evenings=("answered", 3))  # skipped by the citizen, stored as answered
    participate(store, "alice", wrong, transcript=["m1", "m2", "m3"])
    result = check_store(store, SECRET, [expect("alice")])
    assert (result.lost, result.duplicated, result.wrong) == (0, 0, 2)


def test_unacknowledged_answers_and_incomplete_participations_are_detected(store: str) -> None:
    extra = dict(ANSWERS, services=("answered", ["Borrowing books"]))
    participate(store, "alice", extra, status="paused", transcript=["m1", "m2", "m3"])
    result = check_store(store, SECRET, [expect("alice")])
    assert result.unexpected == 1 and result.not_completed == 1
    assert result.failures == 2


def test_transcript_problems_fail_the_check(store: str) -> None:
    participate(store, "alice", ANSWERS, transcript=["m1", "m3", "m2"])
    participate(store, "bob", ANSWERS, transcript=["m1", "m2"])
    result = check_store(store, SECRET, [expect("alice"), expect("bob")])
    assert result.transcript_out_of_order == 1 and result.transcript_missing == 1
    assert not result.clean


def test_what_a_citizen_gave_up_on_is_not_held_against_the_store(store: str) -> None:
    stored = dict(ANSWERS, services=("answered", ["Borrowing books"]))
    participate(store, "alice", stored, status="active", transcript=["m1", "m2", "m3", "m4"])
    result = check_store(store, SECRET, [expect(
        "alice", submitted=False, uncertain_keys=frozenset({"services"}),
        uncertain_message="m4")])
    assert result.clean, result.problems


def test_a_participation_under_the_wrong_channel_is_missing(store: str) -> None:
    participate(store, "alice", ANSWERS, channel="socketio", transcript=["m1", "m2", "m3"])
    result = check_store(store, SECRET, [expect("alice", channel="web")])
    assert result.missing_participations == 1 and result.lost == len(ANSWERS)


# ------------------------------------------------------------------ CPU per part

def test_cpu_meter_charges_a_busy_child_to_its_part() -> None:
    """A process whose command line names the Rasa server is counted as Rasa, with the
    CPU it burnt. It runs below a parent of its own, the root of the reading, so servers
    other tests of this run keep going are not counted."""
    import subprocess
    import sys
    import time

    from bench.load import cpu

    busy = ("import time\nend = time.process_time() + 0.6\n"
            "while time.process_time() < end: pass\ntime.sleep(30)")
    parent = subprocess.Popen([sys.executable, "-c",
                               "import subprocess, sys\n"
                               f"subprocess.run([sys.executable, '-c', {busy!r}, "
                               "'rasa_ext.serve'])"])
    try:
        deadline = time.monotonic() + 20
        spent: dict[str, float] = {}
        while time.monotonic() < deadline:
            spent = cpu.spent({}, cpu.snapshot(parent.pid))
            if spent.get("rasa", 0.0) >= 0.5:
                break
            time.sleep(0.1)
    finally:
        for process in cpu.descendants(parent.pid, cpu.processes()):
            subprocess.run(["kill", str(process.pid)], check=False)
        parent.kill()
        parent.wait()
    assert 0.5 <= spent["rasa"] < 5
    assert set(spent) <= {"rasa", "postgres", "redis"}


def test_cpu_meter_parts_and_differences() -> None:
    from bench.load import cpu

    every = [cpu.Process(10, 1, "python", "python -m bench.load", 1.0),
             cpu.Process(11, 10, "python3.10", ".venv-rasa/bin/python -m rasa_ext.serve", 5.0),
             cpu.Process(12, 10, "python", ".venv/bin/python -m bot.action_server", 2.0),
             cpu.Process(13, 12, "python", "something else", 1.0),
             cpu.Process(20, 1, "bash", "bash", 9.0)]
    assert sorted(p.pid for p in cpu.descendants(10, every)) == [11, 12, 13]
    assert [cpu.part_of(p) for p in every[1:4]] == ["rasa", "actions", "other"]
    before = {11: ("rasa", 5.0), 12: ("actions", 2.0)}
    after = {11: ("rasa", 7.5), 12: ("actions", 2.5), 14: ("nginx", 0.25)}
    assert cpu.spent(before, after) == {"rasa": 2.5, "actions": 0.5, "nginx": 0.25}
