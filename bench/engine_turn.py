"""The consultation engine's share of an answer turn, in-process, without Rasa.

``ConversationEngine.handle`` is timed for the same six typed answers as
``bench/turn_latency.py`` sends through Rasa (intents as the trained NLU gives them), on
an SQLite store, with the SQL statements each turn sends counted. It shows what the
action server's own work costs, which the full turn hides under Rasa's noise.

Run: ``.venv/bin/python -m bench.engine_turn`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.common import latency, summary, write_results
from bot.config import Settings
from bot.devtools.stack import launch_demo
from bot.dialogue.engine import ConversationEngine
from bot.dialogue.messages import UserTurn, payload
from bot.store.db import engine_for

#: The turn_latency answers with the intent the trained NLU classifies them as.
ANSWERS = [("monthly", "inform"), ("saturdays, sundays", "inform"), ("4", "choose"),
           ("2", "choose"), ("borrowing books, study space", "inform"),
           ("I would use the study space in the evenings after work", "inform")]
START = payload("start_consultation", consultation="library-hours-2027")


class Participant:
    """One citizen on the REST channel, keeping the flow state as the slot would."""

    def __init__(self, engine: ConversationEngine) -> None:
        self.engine = engine
        self.sender = f"bench-{uuid.uuid4().hex[:12]}"
        self.state: dict[str, Any] | None = None

    def say(self, text: str, intent: str, confidence: float = 0.9,
            **entities: str) -> None:
        turn = UserTurn(self.sender, "rest", text, intent, confidence, dict(entities),
                        uuid.uuid4().hex)
        self.state = self.engine.handle(turn, self.state).state


def run(engine: ConversationEngine, participants: int,
        statements: list[str]) -> tuple[list[float], list[int]]:
    """Milliseconds and database calls (statements and commits, which the listeners of
    ``main`` add to ``statements``) of each answer turn of ``participants`` people."""
    times: list[float] = []
    counts: list[int] = []
    for _ in range(participants):
        citizen = Participant(engine)
        citizen.say(START, "start_consultation", 1.0, consultation="library-hours-2027")
        citizen.say("/affirm", "affirm", 1.0)
        for text, intent in ANSWERS:
            statements.clear()
            started = time.perf_counter()
            citizen.say(text, intent)
            times.append((time.perf_counter() - started) * 1000)
            counts.append(len(statements))
    return times, counts


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=200,
                        help="participants timed (6 answer turns each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="codesign-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        launch_demo(url)
        engine = ConversationEngine(Settings(database_url=url,
                                             secret_key=b"bench-secret-0123456789abcdef"))
        statements: list[str] = []
        database = engine_for(url)
        event.listen(database, "before_cursor_execute",
                     lambda _c, _cur, sql, *_: statements.append(sql.split()[0]))
        event.listen(database, "commit", lambda _c: statements.append("COMMIT"))
        run(engine, 5, statements)  # warm-up: caches, compiled statements
        times, calls = run(engine, args.participants, statements)
        database.dispose()
    handle = summary(times)
    figures = {"handle_ms": handle, "database_calls_per_turn_max": max(calls),
               "database_calls_per_turn_min": min(calls)}
    print("Consultation answer turn, engine only (ConversationEngine.handle, SQLite)")
    print(f"  handle()               {latency(handle)}")
    spread = f"{min(calls)}" if min(calls) == max(calls) else f"{min(calls)}-{max(calls)}"
    print(f"  database calls         {spread} per answer turn (SQL statements and commits)")
    write_results("bench-engine-turn", figures)


if __name__ == "__main__":
    main()
