"""Citizens of the chat fuzz (``test_chat_fuzz_e2e.py``) on the REST channel and socket.io.

Each fuzz chat is driven into a state with ordinary moves (the welcome, the consent
request, a question of each type, the summary, the change menu, the offer to pass a
service question on, the "forget me" prompt), is sent its hostile messages one after
the other, and finally must still work: a normal answer to where it stands is
acknowledged. Chats run concurrently in batches. Every reply is classified for the
counts: its kind (``bench.load.script.read_reply``), the polite "too long" reply, an
HTTP status, or a refused socket.io packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import socketio

from bench.load.script import (
    OPEN_ANSWERS,
    QUESTION,
    SUMMARY,
    WELCOME,
    Message,
    is_unavailable,
    read_reply,
)
from bench.load.transports import rest_message, socket_message
from bot.devtools.fuzz import Envelope, Hostile, HostileInput, World
from bot.text.limits import too_long_reply

TIMEOUT = 120.0
STATES = ("welcome", "consent", "single_choice", "multi_choice", "multi_pending", "scale",
          "open", "summary", "change", "service", "forget")
#: A service question the demo documents do not answer: the bot offers to pass it on.
UNCOVERED = "Can I send a fax from the library?"
_REF = re.compile(r'"choice":"(?:missed|forward):(\d+\.[0-9a-f]+)"')


@dataclass
class Outcome:
    """What one message got: the HTTP status (200 for socket.io replies; 0 when the
    channel refused the packet and closed the connection) and the reply's messages."""

    status: int
    messages: list[Message] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    def kind(self, limit: int) -> str:
        """How the reply is counted."""
        if self.status == 0:
            return "refused (connection closed)"
        if self.status != 200:
            return f"HTTP {self.status}"
        if not self.messages:
            return "empty reply"
        if any(is_unavailable(m) for m in self.messages):
            return "unavailable"
        if self.text.strip() == too_long_reply(limit):
            return "too long"
        return f"reply: {read_reply(self.messages).kind}"

    def payload_of(self, title: str) -> str | None:
        """The payload of the first button whose title contains ``title``."""
        for message in self.messages:
            for button_title, button_payload in message.buttons:
                if title.casefold() in button_title.casefold():
                    return button_payload
        return None


class Chat(Protocol):
    """One fuzz citizen's connection."""

    channel: str
    sender: str

    async def send(self, text: str, message_id: str | None = None) -> Outcome: ...

    async def envelope(self, envelope: Envelope) -> Outcome: ...

    async def close(self) -> None: ...


class RestChat:
    """POST /webhooks/rest/webhook."""

    channel = "rest"

    def __init__(self, session: aiohttp.ClientSession, rasa_url: str, sender: str) -> None:
        self.session = session
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = sender

    async def send(self, text: str, message_id: str | None = None) -> Outcome:
        body = {"sender": self.sender, "message": text,
                "metadata": {"message_id": message_id or uuid.uuid4().hex}}
        return await self._post(json.dumps(body).encode())

    async def envelope(self, envelope: Envelope) -> Outcome:
        assert envelope.rest_body is not None
        return await self._post(envelope.rest_body)

    async def _post(self, body: bytes) -> Outcome:
        async with self.session.post(self.url, data=body,
                                     headers={"Content-Type": "application/json"}) as response:
            if response.status != 200:
                await response.read()
                return Outcome(response.status)
            items = await response.json(content_type=None)
        return Outcome(200, [rest_message(item) for item in items])

    async def close(self) -> None:
        return None


class SocketChat:
    """A socket.io client (websocket) with the widget's protocol. A message's reply is
    every ``bot_uttered`` event before the server acknowledges the message (the channel
    acknowledges once it has handled it)."""

    channel = "web"

    def __init__(self, rasa_url: str, sender: str) -> None:
        self.url = rasa_url
        self.sender = sender
        self.client: Any = None
        self.replies: list[dict[str, Any]] = []
        self.gone = asyncio.Event()

    async def open(self) -> None:
        client = socketio.AsyncClient(reconnection=False)
        confirmed = asyncio.Event()
        self.gone = asyncio.Event()
        client.on("bot_uttered", self.replies.append)
        client.on("session_confirm", lambda *_: confirmed.set())
        client.on("disconnect", lambda *_: self.gone.set())
        await client.connect(self.url, socketio_path="socket.io", transports=["websocket"],
                             wait_timeout=30)
        await client.emit("session_request", {"session_id": self.sender})
        await asyncio.wait_for(confirmed.wait(), 30)
        self.client = client

    async def send(self, text: str, message_id: str | None = None) -> Outcome:
        return await self._emit({"message": text, "session_id": self.sender,
                                 "metadata": {"channel": "web",
                                              "message_id": message_id or uuid.uuid4().hex}})

    async def envelope(self, envelope: Envelope) -> Outcome:
        data = envelope.socket_data
        if isinstance(data, dict) and "session_id" not in data:
            data = {**data, "session_id": self.sender}
        return await self._emit(data)

    async def _emit(self, data: Any) -> Outcome:
        if self.client is None or not self.client.connected:
            await self.open()
        self.replies.clear()
        acked = asyncio.get_running_loop().create_future()
        await self.client.emit("user_uttered", data,
                               callback=lambda *_: acked.done() or acked.set_result(True))
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            done, _ = await asyncio.wait({acked, gone}, timeout=TIMEOUT,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if acked not in done:
            await self.close()
            if not done:
                raise TimeoutError(f"no acknowledgement within {TIMEOUT} s")
            return Outcome(0)
        return Outcome(200, [socket_message(item) for item in self.replies])

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()


# ---------------------------------------------------------------------------- driving
class Stuck(AssertionError):
    """A chat could not be driven where it was meant to go."""


async def normal(chat: Chat, text: str) -> Outcome:
    """An ordinary move: it must get a real reply."""
    outcome = await chat.send(text)
    kind = outcome.kind(10**9)
    if outcome.status != 200 or kind in ("empty reply", "unavailable"):
        raise Stuck(f"{chat.channel} {chat.sender}: {text!r} got {kind}: {outcome.text[:300]}")
    return outcome


async def answer_current(chat: Chat, reply: Outcome, questions: dict[str, dict[str, Any]],
                         number: int = 0) -> Outcome:
    """Answer the question ``reply`` asks, validly (the first option, the lowest point, a
    specific text; a multi-choice question with one option, then Done)."""
    state = read_reply(reply.messages)
    q = questions[str(state.key)]
    if q["type"] == "open":
        return await normal(chat, OPEN_ANSWERS[number % len(OPEN_ANSWERS)])
    if q["type"] == "scale":
        return await normal(chat, f'/choose{{"choice":"{q["id"]}:{q["min"]}"}}')
    if q["type"] == "multi_choice" and q["options"][0] in (state.selected or "").split(", "):
        return await normal(chat, f'/choose{{"choice":"{q["id"]}:done"}}')  # already chosen
    reply = await normal(chat, f'/choose{{"choice":"{q["id"]}:1"}}')
    if q["type"] == "multi_choice":
        reply = await normal(chat, f'/choose{{"choice":"{q["id"]}:done"}}')
    return reply


async def drive(chat: Chat, slug: str, definition: dict[str, Any], target: str) -> Outcome:
    """Bring ``chat`` to ``target`` (one of ``STATES``) in consultation ``slug``."""
    questions = {q["id"]: q for q in definition["questions"]}
    reply = await normal(chat, "hello")
    if target == "welcome":
        return reply
    if target == "service":
        return await normal(chat, UNCOVERED)
    if target == "forget":
        return await normal(chat, "/forget_me")
    reply = await normal(chat, f'/start_consultation{{"consultation":"{slug}"}}')
    if target == "consent":
        return reply
    reply = await normal(chat, "/affirm")
    wanted = {"multi_pending": "multi_choice"}.get(target, target)
    for number in range(30):
        state = read_reply(reply.messages)
        if state.kind == QUESTION and questions[str(state.key)]["type"] == wanted:
            if target == "multi_pending":
                reply = await normal(chat, f'/choose{{"choice":"{state.key}:1"}}')
            return reply
        if state.kind == QUESTION:
            reply = await answer_current(chat, reply, questions, number)
        elif state.kind == SUMMARY:
            if target == "summary":
                return reply
            return await normal(chat, "/change_answer")
        elif "quote your words" in reply.text:
            reply = await normal(chat, "/deny")
        elif "Could you tell me" in reply.text or "tell me a bit more" in reply.text:
            reply = await normal(chat, "/skip")  # a probe
        else:
            raise Stuck(f"{chat.sender} driving to {target}: {reply.text[:300]}")
    raise Stuck(f"{chat.sender} never reached {target}")


async def acknowledged(chat: Chat, slug: str, definitions: dict[str, Any]) -> str:
    """After the fuzz: ask where the chat stands ("repeat"), make the ordinary moves that
    lead from there to a question (resume, start, agree, change an answer, decline a
    pending yes/no…), and answer it: the answer must be taken. The question may be of
    another consultation than ``slug`` (forged payloads start them). Returns how many
    moves it took; raises ``Stuck`` otherwise."""
    questions = {q["id"]: q for d in definitions.values() for q in d["questions"]}
    reply = await normal(chat, "/repeat")
    path = []
    for step in range(10):
        state = read_reply(reply.messages)
        text = reply.text
        if state.kind == QUESTION:
            after = read_reply((await answer_current(chat, reply, questions)).messages)
            if after.kind == QUESTION and after.key == state.key and not after.selected:
                raise Stuck(f"{chat.sender}: the answer to {state.key} was not taken")
            return f"answer taken after {len(path)} moves"
        if state.kind == SUMMARY:
            move = "/change_answer"
        elif "Which answer would you like to change?" in text:
            move = "1"
        elif state.kind in ("quote", "paused") or "agree to take part?" in text:
            move = {"quote": "/deny", "paused": "/resume"}.get(state.kind, "/affirm")
        elif state.kind == WELCOME:
            move = "/resume" if state.can_resume else \
                f'/start_consultation{{"consultation":"{slug}"}}'
        elif "Would you like us to tell you" in text:
            move = '/choose{"choice":"follow_up:no"}'
        else:  # a pending yes/no (forget me, pass a question on) or a plain reply
            move = "/deny" if step % 2 == 0 else "hello"
        path.append(move.split("{")[0])
        reply = await normal(chat, move)
    raise Stuck(f"{chat.sender}: no question reached after {path}: {reply.text[:300]}")


def harvest_refs(outcome: Outcome) -> list[str]:
    """The signed references in a reply's buttons (a service answer's)."""
    return [found.group(1) for m in outcome.messages for _, p in m.buttons
            for found in [_REF.search(p)] if found]


# ---------------------------------------------------------------------------- the run
@dataclass
class Tally:
    """What each class of input produced, and what went wrong."""

    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_channel: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    acknowledged: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    #: A few inputs that got each failing result (an error, an apology, no reply).
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, channel: str, result: str, sent: Any = None) -> None:
        self.counts[kind][result] += 1
        self.by_channel[channel] += 1
        failed = "HTTP 5" in result or "unavailable" in result or result == "empty reply"
        if failed and len(self.examples[result]) < 5:
            self.examples[result].append(f"{kind} on {channel}: {sent!r:.300}")

    @property
    def tried(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    def report(self) -> str:
        lines = [f"{self.tried} hostile inputs ({dict(self.by_channel)}); start states "
                 f"{dict(self.states)}; afterwards {dict(self.acknowledged)}"]
        for kind in sorted(self.counts):
            counter = self.counts[kind]
            results = ", ".join(f"{result}: {n}" for result, n in counter.most_common())
            lines.append(f"  {kind:12s} {sum(counter.values()):6d}  {results}")
        for result, sent in self.examples.items():
            lines += [f"  {result} after:"] + [f"    {text}" for text in sent]
        return "\n".join(lines)


@dataclass(frozen=True)
class FuzzPlan:
    """One fuzz chat: its channel, consultation, start state and messages."""

    channel: str
    slug: str
    state: str
    messages: list[Hostile]
    envelopes: list[Envelope]


async def run_chat(chat: Chat, plan: FuzzPlan, definitions: dict[str, Any], world: World,
                   tally: Tally, limit: int, seed: int) -> None:
    """Drive, fuzz and check one chat; problems go to ``tally.problems``."""
    import random

    rng = random.Random(seed)
    try:
        await drive(chat, plan.slug, definitions[plan.slug], plan.state)
        tally.states[plan.state] += 1
        for envelope in plan.envelopes:
            outcome = await chat.envelope(envelope)
            tally.add("envelope", chat.channel, f"{envelope.kind}: {outcome.kind(limit)}",
                      envelope)
        for hostile in plan.messages:
            reused = world.message_ids and rng.random() < 0.05  # another citizen's id
            message_id = rng.choice(world.message_ids) if reused else None
            outcome = await chat.send(hostile.text, message_id)
            tally.add(hostile.kind, chat.channel, outcome.kind(limit), hostile.text)
        tally.acknowledged[await acknowledged(chat, plan.slug, definitions)] += 1
    except Stuck as exc:
        tally.problems.append(str(exc))
    except Exception as exc:  # a transport failure is a finding too
        tally.problems.append(f"{chat.channel} {chat.sender} ({plan.state}): "
                              f"{exc.__class__.__name__}: {exc}")
    finally:
        await chat.close()


async def run_plans(rasa_url: str, plans: list[FuzzPlan], definitions: dict[str, Any],
                    world: World, limit: int, concurrency: int, seed: int) -> Tally:
    """Run every plan, ``concurrency`` chats at a time."""
    tally = Tally()
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def one(index: int, plan: FuzzPlan) -> None:
            async with gate:
                sender = f"fuzz-{seed}-{index:05d}"
                chat: Chat
                if plan.channel == "rest":
                    chat = RestChat(http, rasa_url, sender)
                else:
                    chat = SocketChat(rasa_url, sender)
                await run_chat(chat, plan, definitions, world, tally, limit,
                               seed * 100_003 + index)

        await asyncio.gather(*(one(i, plan) for i, plan in enumerate(plans)))
    return tally


def plans_for(generator: HostileInput, slugs: list[str], chats: int, per_chat: int,
              socket_share: float, envelope_chats: int) -> list[FuzzPlan]:
    """``chats`` plans cycling through channels, consultations and states; the first
    ``envelope_chats`` of each channel also send the malformed envelopes."""
    plans = []
    for index in range(chats):
        channel = "web" if generator.rng.random() < socket_share else "rest"
        envelopes = [e for e in generator.envelopes(f"fuzz-envelope-{index}")
                     if (e.rest_body is not None) == (channel == "rest")]
        with_envelopes = sum(p.channel == channel and bool(p.envelopes) for p in plans) < \
            envelope_chats
        plans.append(FuzzPlan(channel, slugs[index % len(slugs)],
                              STATES[index % len(STATES)],
                              [generator.message() for _ in range(per_chat)],
                              envelopes if with_envelopes else []))
    return plans
