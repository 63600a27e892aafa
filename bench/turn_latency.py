"""Latency of a consultation answer turn against a bare Rasa turn with a trivial action.

Both kinds of turn go through the same Rasa server: typed text -> NLU -> one custom
action over HTTP. The baseline runs ``action_ping`` (does nothing); the answer turn runs
``action_flow`` (loads the participation, parses the answer, commits it and the
transcript, renders the next question). Turns of the two kinds are interleaved so
drift affects both alike. Then 10 participants answer concurrently.

Run: ``make bench`` (or ``.venv/bin/python -m bench.turn_latency``).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path

from bench.common import latency, summary, write_results
from bot.devtools.stack import Chat, Stack, ingest_demo_knowledge, launch_demo

SERVICE_QUESTIONS = ["what time does the central library open on saturdays?",
                     "how much does it cost to print a page?",
                     "how many books can I borrow at once?",
                     "can I renew my books online?",
                     "is there step-free access to the library?",
                     "how do I book the community room?"]
ANSWERS = ["monthly", "saturdays, sundays", "4", "2", "borrowing books, study space",
           "I would use the study space in the evenings after work"]




def started_chat(stack: Stack) -> Chat:
    """A participant who has consented and sees question 1 of the library consultation."""
    chat = stack.chat()
    chat.say('/start_consultation{"consultation":"library-hours-2027"}')
    chat.say("/affirm")
    return chat


def timed(chat: Chat, text: str) -> float:
    """Milliseconds for one turn."""
    start = time.perf_counter()
    chat.say(text)
    return (time.perf_counter() - start) * 1000


def sequential(stack: Stack, rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Interleaved baseline, answer and service-question turns, one at a time.

    Service questions are asked at question 1 of the library consultation, so the bot
    searches the consultation's collection, cites a source and re-asks the question.
    """
    baseline: list[float] = []
    answer: list[float] = []
    grounded: list[float] = []
    for _ in range(rounds):
        # Fresh conversations of equal length, so tracker size does not favour any.
        chat = started_chat(stack)
        asker = started_chat(stack)
        pinger = stack.chat()
        pinger.say("ping")
        pinger.say("ping")
        for text, question in zip(ANSWERS, SERVICE_QUESTIONS, strict=True):
            baseline.append(timed(pinger, "ping"))
            answer.append(timed(chat, text))
            grounded.append(timed(asker, question))
    return baseline, answer, grounded


def concurrent(stack: Stack, participants: int, think: tuple[float, float] | None) -> list[float]:
    """Participants in conversation at the same time.

    With ``think`` each waits a random (min, max) seconds before each answer, as people
    read and type; without it every answer of every participant is sent at the same
    instant (a worst-case burst).
    """
    chats = [started_chat(stack) for _ in range(participants)]
    samples: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(participants)
    rng = random.Random(7)
    pauses = [[rng.uniform(*think) if think else 0.0 for _ in ANSWERS] for _ in chats]

    def run(chat: Chat, waits: list[float]) -> None:
        for text, wait in zip(ANSWERS, waits, strict=True):
            if think:
                time.sleep(wait)
            else:
                barrier.wait()
            elapsed = timed(chat, text)
            with lock:
                samples.append(elapsed)

    threads = [threading.Thread(target=run, args=(chat, waits))
               for chat, waits in zip(chats, pauses, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25,
                        help="participants answered sequentially (6 answer turns each)")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--concurrent-rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="codesign-bench-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        launch_demo(url)
        ingest_demo_knowledge(url, workdir)
        stack = Stack(url, workdir, rasa_port=5305, action_port=5355)
        stack.start()
        try:
            sequential(stack, 2)  # warm-up
            baseline, answer, grounded = sequential(stack, args.rounds)
            loaded: list[float] = []
            burst: list[float] = []
            for _ in range(args.concurrent_rounds):
                loaded += concurrent(stack, args.concurrency, (1.0, 3.0))
                burst += concurrent(stack, args.concurrency, None)
            memory = stack.memory_mb()
        finally:
            stack.stop()

    base, turn, service = summary(baseline), summary(answer), summary(grounded)
    figures = {
        "baseline_ping_turn_ms": base,
        "answer_turn_ms": turn,
        "ratio_p50": turn["p50"] / base["p50"],
        "grounded_answer_turn_ms": service,
        "grounded_adds_p50_ms": service["p50"] - turn["p50"],
        "concurrent_participants": args.concurrency,
        "concurrent_think_1_3s_ms": summary(loaded),
        "concurrent_burst_ms": summary(burst),
        "rss_mb": memory,
    }
    print("Consultation answer turn vs bare Rasa turn with a trivial custom action (SQLite)")
    print(f"  baseline (ping) turn   {latency(base)}")
    print(f"  answer turn            {latency(turn)}")
    print(f"  ratio at p50           {figures['ratio_p50']:.2f}   (target <= 1.2)")
    print(f"  service question turn  {latency(service)}   "
          f"adds {figures['grounded_adds_p50_ms']:.1f} ms at p50 (target <= 25 ms)")
    print(f"  {args.concurrency} participants at once, 1-3 s to read and answer each question:")
    print(f"                         {latency(summary(loaded))}   (target p95 <= 200 ms)")
    print(f"  {args.concurrency} answers sent at the same instant (worst case):")
    print(f"                         {latency(summary(burst))}")
    print(f"  resident memory        Rasa server {memory['rasa_server']:.0f} MiB, "
          f"action server {memory['action_server']:.0f} MiB")
    write_results("bench-turn-latency", figures)


if __name__ == "__main__":
    main()
