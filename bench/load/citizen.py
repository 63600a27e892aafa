"""A simulated citizen: takes part in one demo consultation from start to submission.

It picks a consultation, starts it (its button's payload, "hello" then the button, or
typed), consents, and answers every question, mixing typed answers and pressed buttons,
with each unhappy path once: a question about the service, "repeat", "pause" then
resume ("resume", or "hello" then "Continue"), "back" then the answer again, and a skip
of an optional question; then the quote question, the summary and submit. Everything it
decides comes from its seed.

It reads each reply (``script.read_reply``) and keeps what it believes: for each
question, the answer the bot acknowledged (it moved on, or the summary showed it), whether
its submission went through, and which of its messages the transcript must hold, in
order. ``bench.load.check`` holds the store to that.

A message whose reply did not arrive (``TransportError``) or that the bot could not take
("unavailable") is sent again with the same message id after a short backoff, up to
``max_resends`` times; after that the citizen gives up and the message's fate is unknown.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.load.check import Expectation
from bench.load.script import (
    CONSENT,
    PAUSED,
    PROBE,
    PROBE_REPLIES,
    QUESTION,
    QUOTE,
    SERVICE_QUESTIONS,
    SUBMITTED,
    SUMMARY,
    TYPED_STARTS,
    UNAVAILABLE,
    WELCOME,
    BotState,
    Intended,
    button_payloads,
    consultations,
    plan_answers,
    plan_events,
    read_reply,
    shown_value,
    typed_forms,
)
from bench.load.transports import Delivery, Transport, TransportError
from bot.dialogue.messages import payload

#: Kinds of reply that mean the citizen is inside the consultation's questions.
IN_FLOW = {QUESTION, PROBE, SUMMARY, QUOTE}
MAX_MESSAGES = 80
MAX_NOT_UNDERSTOOD = 3


@dataclass(frozen=True)
class CitizenSpec:
    """Who a citizen is: sender id, consultation, transport, seed, when it arrives (seconds
    after the run starts) and its socket.io affinity key."""

    sender: str
    slug: str
    transport: str
    seed: int
    arrival: float
    affinity: str = ""


@dataclass(frozen=True)
class CitizenSettings:
    """How citizens behave: think time before each message (uniform, seconds), how long
    to wait for a reply, how many times to send a message again and the first backoff."""

    think: tuple[float, float] = (0.0, 10.0)
    reply_timeout: float = 30.0
    max_resends: int = 6
    backoff: float = 0.5


@dataclass(frozen=True)
class Sample:
    """One message: when it was first sent, when its reply was accepted (socket.io: the
    reply's first message), both ``time.perf_counter``, how many times it was sent, and
    what it was (start, consent, answer, navigation, service question, end)."""

    transport: str
    sent_at: float
    replied_at: float
    attempts: int
    kind: str = "answer"

    @property
    def latency_ms(self) -> float:
        return (self.replied_at - self.sent_at) * 1000


@dataclass
class CitizenRecord:
    """What a citizen did and believes, for the statistics and the store check."""

    sender: str
    transport: str
    channel: str
    slug: str
    consented: bool = False
    #: question key -> (status, value) the bot acknowledged
    answers: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: questions whose last answer's fate is unknown (the citizen gave up on it)
    uncertain_keys: set[str] = field(default_factory=set)
    submitted: bool = False
    quote_consent: bool | None = None
    #: message ids the participation's transcript must hold, in the order sent
    transcript: list[str] = field(default_factory=list)
    #: a message given up on that the transcript may or may not hold (at its end)
    uncertain_message: str | None = None
    samples: list[Sample] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)
    resends: int = 0
    unavailable: int = 0
    gave_up: int = 0
    stale: int = 0
    not_understood: int = 0
    #: what the bot did not take as an answer ("key: text"), then pressed as a button
    misread: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    abandoned: str | None = None

    def expectation(self) -> Expectation:
        """What the store must hold for this citizen."""
        return Expectation(
            sender=self.sender, channel=self.channel, slug=self.slug,
            consented=self.consented, answers=dict(self.answers), submitted=self.submitted,
            transcript=tuple(self.transcript), uncertain_keys=frozenset(self.uncertain_keys),
            uncertain_message=self.uncertain_message, quote_consent=self.quote_consent)


class _Abandon(Exception):
    """The citizen stops here (the reason is kept in the record)."""


class Citizen:
    """One simulated citizen on one transport."""

    def __init__(self, spec: CitizenSpec, transport: Transport,
                 settings: CitizenSettings) -> None:
        self.spec = spec
        self.transport = transport
        self.settings = settings
        self.rng = random.Random(spec.seed)
        self.definition = consultations()[spec.slug]
        self.questions = {q["id"]: q for q in self.definition["questions"]}
        self.plan = plan_answers(self.definition, self.rng)
        self.events = plan_events(self.rng)
        self.record = CitizenRecord(spec.sender, transport.name, transport.channel, spec.slug)
        self.phase = "start"  # start | consent | flow | paused | done
        self.seen: list[str] = []
        self.sent = 0
        self.answering: str | None = None
        self.use_buttons: set[str] = set()
        self.misunderstood: Counter[str] = Counter()
        self.submitting = False
        self.last_text = ""

    # ------------------------------------------------------------------ running
    async def run(self) -> CitizenRecord:
        """Arrive, take part until submitted (or until giving up), and report."""
        await asyncio.sleep(self.spec.arrival)
        try:
            await self._open()
            state = await self._start()
            state = await self._consent(state)
            await self._converse(state)
        except _Abandon as stop:
            self.record.abandoned = str(stop)
            if self.answering is not None:
                self.record.uncertain_keys.add(self.answering)
        except Exception as exc:  # a bug of the generator: keep the others running
            self.record.abandoned = f"crashed: {exc!r}"
            if self.answering is not None:
                self.record.uncertain_keys.add(self.answering)
            if self.phase in ("consent", "flow", "paused") and self.sent:
                self.record.uncertain_message = f"{self.spec.sender}:{self.sent}"
        finally:
            await self.transport.close()
        return self.record

    async def _open(self) -> None:
        for attempt in range(self.settings.max_resends + 1):
            try:
                await self.transport.open()
                return
            except TransportError as exc:
                self.record.transport_errors[exc.reason] += 1
                if attempt == self.settings.max_resends:
                    break
                await asyncio.sleep(self._backoff(attempt + 1))
        self.record.gave_up += 1
        raise _Abandon("could not connect")

    def _backoff(self, attempt: int) -> float:
        return min(8.0, self.settings.backoff * 2 ** (attempt - 1)) * self.rng.uniform(0.75, 1.25)

    async def say(self, text: str, kind: str = "answer") -> BotState:
        """Send one message (after thinking) until its reply arrives; return what the bot
        now asks. ``kind`` labels its latency sample ("answer", "service question", …)."""
        if self.sent and self.settings.think[1] > 0:
            await asyncio.sleep(self.rng.uniform(*self.settings.think))
        if self.sent >= MAX_MESSAGES:
            raise _Abandon(f"still not done after {MAX_MESSAGES} messages")
        self.sent += 1
        self.last_text = text
        message_id = f"{self.spec.sender}:{self.sent}"
        before = self.phase
        started = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            delivery: Delivery | None = None
            try:
                delivery = await self.transport.send(text, message_id)
            except TransportError as exc:
                self.record.transport_errors[exc.reason] += 1
            if delivery is not None:
                self.record.stale += delivery.stale
                state = read_reply(delivery.messages)
                if state.kind != UNAVAILABLE:
                    break
                self.record.unavailable += 1
            if attempts > self.settings.max_resends:
                self.record.gave_up += 1
                if before in ("consent", "flow", "paused"):
                    self.record.uncertain_message = message_id
                raise _Abandon(f"no reply to {text!r} after {attempts - 1} re-sends")
            self.record.resends += 1
            await asyncio.sleep(self._backoff(attempts))
        replied = delivery.first_at if self.transport.name == "socketio" else delivery.last_at
        self.record.samples.append(Sample(self.transport.name, started, replied, attempts,
                                          kind))
        self._follow(message_id, before, state)
        return state

    def _follow(self, message_id: str, before: str, state: BotState) -> None:
        """Which messages the transcript holds, and where the citizen now stands.

        Every message sent inside the consultation is logged, and so is the one that
        enters it (consent, resume); nothing before consent or while paused is."""
        entered = state.kind in IN_FLOW
        if before == "flow" or (before in ("consent", "paused") and entered):
            self.record.transcript.append(message_id)
        if entered and before in ("consent", "paused"):
            self.record.consented = True
            self.phase = "flow"
        elif before == "flow" and state.kind == PAUSED:
            self.phase = "paused"
        elif before == "flow" and state.kind == SUBMITTED:
            self.phase = "done"
        elif before == "flow" and state.kind == WELCOME:
            # A message sent again after it had been handled: "pause" (welcome with
            # Continue) or "submit" (nothing left to continue).
            self.phase = "paused" if state.can_resume else \
                ("done" if self.submitting else "lost")

    def _note(self, what: str) -> None:
        self.record.unexpected.append(what)
        if len(self.record.unexpected) > 5:
            raise _Abandon("too many unexpected replies: " + "; ".join(self.record.unexpected))

    # ------------------------------------------------------------------ start and consent
    async def _start(self) -> BotState:
        start = payload("start_consultation", consultation=self.spec.slug)
        how = self.rng.choice(["payload", "hello", "typed"])
        self.record.events[f"start ({how})"] += 1
        if how == "hello":
            welcome = await self.say("hello", kind="start")
            pressed = next((p for _, p in welcome.buttons if p == start), start)
            state = await self.say(pressed, kind="start")
        elif how == "typed":
            state = await self.say(TYPED_STARTS[self.spec.slug], kind="start")
            if state.kind != CONSENT or self.definition["title"] not in state.text:
                self.record.events["typed start not understood"] += 1
                state = await self.say(start, kind="start")
        else:
            state = await self.say(start, kind="start")
        if state.kind != CONSENT:
            raise _Abandon(f"no consent request after starting ({state.kind})")
        self.phase = "consent"
        return state

    async def _consent(self, state: BotState) -> BotState:
        typed = self.rng.random() < 0.5
        state = await self.say(self.rng.choice(["yes", "yes, I agree"]) if typed
                               else (state.payload_of("I agree") or "/affirm"),
                               kind="consent")
        if state.kind != QUESTION and typed:
            self.record.not_understood += 1
            self.record.misread.append(f"consent: {self.last_text!r}")
            state = await self.say("/affirm", kind="consent")
        if state.kind != QUESTION:
            raise _Abandon(f"consent was not taken ({state.kind})")
        return state

    # ------------------------------------------------------------------ the questions
    async def _converse(self, state: BotState) -> None:
        while True:
            kind = state.kind
            if kind == QUESTION:
                state = await self._on_question(state)
            elif kind == PROBE:
                state = await self._on_probe(state)
            elif kind == QUOTE:
                state = await self._on_quote(state)
            elif kind == SUMMARY:
                state = await self._on_summary(state)
            elif kind == SUBMITTED or (kind == WELCOME and self.phase == "done"):
                self.record.submitted = True
                if kind == WELCOME:
                    self.record.events["submission seen on a re-send"] += 1
                return
            elif kind == PAUSED or (kind == WELCOME and state.can_resume):
                state = await self._resume(state)
            else:
                self._note(f"{kind} reply in the questions: {state.text[:80]!r}")
                if self.phase != "flow":
                    raise _Abandon(f"out of the consultation ({kind})")
                state = await self.say("repeat", kind="navigation")

    async def _on_question(self, state: BotState) -> BotState:
        key = state.key or ""
        q = self.questions.get(key)
        if q is None:
            self._note(f"a question of another consultation: {key}")
            return await self.say("repeat", kind="navigation")
        if key not in self.seen:
            self.seen.append(key)
        if state.current is not None and key in self.record.answers and \
                shown_value(self.record.answers[key]) != state.current:
            self.record.disagreements.append(
                f"{key}: shown {state.current!r}, acknowledged {self.record.answers[key]!r}")
        for event in self.events.due(len(self.seen)):
            if event == "service" and q["type"] == "open":
                continue  # in an open question a question may be an answer
            if event == "back" and state.payload_of("Back") is None:
                continue
            return await self._event(event, state, key)
        return await self._answer(state, q)

    async def _event(self, event: str, state: BotState, key: str) -> BotState:
        self.events.done.append(event)
        self.record.events[event] += 1
        if event == "service":
            new = await self.say(self.rng.choice(SERVICE_QUESTIONS[self.spec.slug]),
                                 kind="service question")
            if new.kind != QUESTION or new.key != key:
                self._note(f"after a service question: {new.kind} {new.key}")
        elif event == "repeat":
            new = await self.say(self.rng.choice(["repeat", "repeat the question please"]),
                                 kind="navigation")
            if new.kind != QUESTION or new.key != key:
                self._note(f"after repeat: {new.kind} {new.key}")
        elif event == "pause":
            new = await self.say(self.rng.choice(["pause", "I have to go, can we pause?"]),
                                 kind="navigation")
            if new.kind != PAUSED:
                self._note(f"after pause: {new.kind}")
        else:  # back
            how = self.rng.choice(["back", "go back", state.payload_of("Back") or "/go_back"])
            new = await self.say(how, kind="navigation")
            if new.kind != QUESTION or new.key == key:
                self._note(f"after back: {new.kind} {new.key}")
        return new

    async def _resume(self, state: BotState) -> BotState:
        if self.rng.random() < 0.5:
            self.record.events["resume (typed)"] += 1
            new = await self.say(self.rng.choice(["resume", "let's continue"]), kind="navigation")
        else:
            self.record.events["resume (Continue button)"] += 1
            if not state.can_resume:
                state = await self.say("hello", kind="navigation")
            new = await self.say(state.payload_of("Continue") or "/resume", kind="navigation")
        if new.kind not in IN_FLOW:
            self._note(f"after resuming: {new.kind}")
        return new

    async def _answer(self, state: BotState, q: dict[str, Any]) -> BotState:
        key = q["id"]
        intended = self.plan[key]
        self.answering = key
        buttons = key in self.use_buttons or self.rng.random() < 0.5
        if intended.skip:
            self.record.events["skip"] += 1
            skip = state.payload_of("Skip") if buttons else None
            new = await self.say(skip or self.rng.choice(["skip", "skip this one"]), kind="answer")
        elif q["type"] == "open":
            self.record.events["open answer"] += 1
            new = await self.say(str(intended.value), kind="answer")
        elif buttons and not state.selected:
            self.record.events[f"{q['type']} by button"] += 1
            presses = button_payloads(q, intended)
            for press in presses[:-1]:  # multi choice: each option, then Done
                new = await self.say(press, kind="answer")
                if new.kind != QUESTION or new.key != key:
                    self._note(f"after pressing an option of {key}: {new.kind} {new.key}")
                    return new
            new = await self.say(presses[-1], kind="answer")
        else:
            forms = typed_forms(q, intended, self.rng)
            name = self.rng.choice(sorted(forms))
            self.record.events[f"{q['type']} typed ({name})"] += 1
            new = await self.say(forms[name], kind="answer")
        return self._acknowledged(key, intended, new)

    def _acknowledged(self, key: str, intended: Intended, new: BotState) -> BotState:
        """Record the answer when the bot moved on (or asks its follow-up probe)."""
        if new.kind == QUESTION and new.key == key:
            self.record.not_understood += 1
            self.record.misread.append(f"{key}: {self.last_text!r}")
            self.misunderstood[key] += 1
            self.use_buttons.add(key)
            if self.misunderstood[key] > MAX_NOT_UNDERSTOOD:
                raise _Abandon(f"the answer to {key} was never understood")
            return new
        if new.kind in IN_FLOW:
            self.record.answers[key] = intended.stored
            self.answering = None
        else:
            self._note(f"after answering {key}: {new.kind}")
        return new

    async def _on_probe(self, state: BotState) -> BotState:
        key = state.key or ""
        self.record.events["probe answered"] += 1
        extra = self.rng.choice(PROBE_REPLIES)
        self.answering = key
        new = await self.say(extra, kind="answer")
        if new.kind in IN_FLOW and not (new.kind == PROBE and new.key == key):
            status, value = self.record.answers.get(key, ("answered", self.plan[key].value))
            self.record.answers[key] = (status, f"{value} — {' '.join(extra.split())}")
            self.answering = None
        return new

    async def _on_quote(self, state: BotState) -> BotState:
        agree = self.rng.random() < 0.5
        typed = "quote" not in self.use_buttons and self.rng.random() < 0.5
        if typed:
            text = self.rng.choice(["yes", "yes please"] if agree else ["no", "no thanks"])
        else:
            text = state.payload_of("Yes, you may" if agree else "No, please") or \
                ("/affirm" if agree else "/deny")
        new = await self.say(text, kind="end")
        if new.kind == SUMMARY:
            self.record.quote_consent = agree
        elif new.kind == QUOTE:
            self.record.not_understood += 1
            self.record.misread.append(f"quote: {text!r}")
            self.use_buttons.add("quote")
        return new

    async def _on_summary(self, state: BotState) -> BotState:
        for key, shown in state.summary:
            if key in self.record.answers and shown_value(self.record.answers[key]) != shown:
                self.record.disagreements.append(
                    f"summary {key}: shown {shown!r}, acknowledged {self.record.answers[key]!r}")
        typed = "summary" not in self.use_buttons and self.rng.random() < 0.5
        text = self.rng.choice(["submit", "submit my answers"]) if typed else \
            (state.payload_of("Submit") or "/submit")
        self.submitting = True
        new = await self.say(text, kind="end")
        self.submitting = False
        if new.kind == SUMMARY:
            self.record.not_understood += 1
            self.record.misread.append(f"summary: {text!r}")
            self.use_buttons.add("summary")
        return new
