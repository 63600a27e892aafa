"""``rasa_ext.speedups``: a turn waiting for its conversation's lock looks again every
50 ms, in ticket order (run in the Rasa venv, on Rasa's own in-memory lock store)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"

SCRIPT = r"""
import asyncio, json
from rasa.core import lock_store
from rasa_ext import speedups

speedups.apply()
store = lock_store.InMemoryLockStore()
waits, order = [], []
real_sleep = asyncio.sleep

async def recording_sleep(seconds, *args, **kwargs):
    waits.append(seconds)
    return await real_sleep(seconds, *args, **kwargs)

lock_store.asyncio.sleep = recording_sleep

async def turn(name, hold):
    async with store.lock("citizen-1"):
        order.append(name)
        await real_sleep(hold)

async def main():
    first = asyncio.ensure_future(turn("first", 0.3))
    await real_sleep(0.01)
    await asyncio.gather(first, turn("second", 0))

asyncio.run(main())
print(json.dumps({"waits": waits, "order": order}))
"""


def test_a_waiting_turn_looks_for_the_lock_every_50_ms_in_order() -> None:
    assert RASA_PYTHON.exists(), "the Rasa venv is not set up: run make setup"
    done = subprocess.run([str(RASA_PYTHON), "-c", SCRIPT], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["order"] == ["first", "second"]
    assert seen["waits"] and set(seen["waits"]) == {0.05}
