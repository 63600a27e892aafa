"""The engine-share benchmark times real answer turns (bench/engine_turn.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from bench.engine_turn import ANSWERS, run
from bot.config import Settings
from bot.devtools.stack import launch_demo
from bot.dialogue.engine import ConversationEngine
from bot.store import repository
from bot.store.db import engine_for, session_scope
from bot.store.models import Answer, Participation
from tests.unit.test_engine import _Today


def test_each_timed_turn_stores_an_answer(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository, "date", _Today)  # inside the demo's opening dates
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    launch_demo(url)
    engine = ConversationEngine(Settings(database_url=url,
                                         secret_key=b"test-secret-0123456789abcdef"))
    calls: list[str] = []
    event.listen(engine_for(url), "before_cursor_execute",
                 lambda _c, _cur, sql, *_: calls.append(sql))
    times, counts = run(engine, 2, calls)
    assert len(times) == len(counts) == 2 * len(ANSWERS)
    assert all(count >= 3 for count in counts)  # read, store the answer, log the turn
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(Participation)) == 2
        assert session.scalar(select(func.count()).select_from(Answer)) == 2 * len(ANSWERS)
    engine_for(url).dispose()
