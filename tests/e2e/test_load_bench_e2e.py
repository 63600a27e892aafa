"""A short real run of the load benchmark (bench/load): 10 citizens over REST and
socket.io against the real servers, then the store check."""

from __future__ import annotations

import os

import pytest

from bench.load.citizen import CitizenSettings
from bench.load.scenario import LoadConfig, Target, run
from bot.devtools.stack import Stack

pytestmark = pytest.mark.e2e


def test_ten_citizens_on_both_transports_lose_nothing(stack: Stack) -> None:
    target = Target("embedded", stack.rasa_url, stack.database_url,
                    os.environ["CODESIGN_SECRET_KEY"].encode())
    config = LoadConfig(citizens=10, arrival=2.0, transport="mixed", seed=7, label="e2e",
                        settings=CitizenSettings(think=(0.0, 0.5), reply_timeout=60))
    result = run(target, config)

    figures, check = result.figures, result.check
    assert check.clean, check.problems
    assert figures.submitted == 10 and figures.abandoned == 0, figures.notes
    assert figures.unrecovered == 0 and figures.disagreements == 0, figures.notes
    assert sorted(r.transport for r in result.records) == ["rest"] * 5 + ["socketio"] * 5
    assert {r.channel for r in result.records} == {"rest", "web"}
    for path in ("service", "repeat", "pause", "back", "skip"):
        assert figures.events.get(path, 0) >= 10, (path, figures.events)
    # Every citizen's acknowledged answers, submission and transcript were checked.
    assert check.citizens == 10 and check.submissions_checked == 10
    assert check.transcripts_checked == 10
    assert check.answers_checked >= 10 * 7
    assert check.messages_checked >= 10 * 12
    assert figures.turns == sum(len(r.samples) for r in result.records) > 10 * 15
