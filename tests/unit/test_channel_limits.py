"""The channels' limits outside Rasa's own code: the body size Rasa's launcher sets and
nginx's for the channel routes agree and fit the longest message, and Rasa's internal
intents are read as words (``rasa_ext/serve.py`` and ``rasa_ext/payloads.py``, loaded by
their paths: the package imports Rasa, which is in the other environment)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.ops import layout as layouts
from bot.ops import render
from bot.ops.layout import Mode
from bot.text.limits import TELEGRAM_MAX_CHARS
from tests.conftest import ROOT


def load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"rasa_ext_{name}",
                                                  ROOT / f"rasa_ext/{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SERVE = load("serve")
PAYLOADS = load("payloads")


def test_the_body_limit_fits_the_longest_message_in_its_worst_encoding() -> None:
    worst = json.dumps({"sender": "s" * 128, "message": "\U0001F600" * TELEGRAM_MAX_CHARS,
                        "metadata": {"message_id": "m" * 128, "channel": "telegram"}})
    assert len(worst.encode()) < SERVE.MAX_BODY_BYTES == 64 * 1024


def test_the_launcher_sets_sanics_request_limit_unless_already_set() -> None:
    environ: dict[str, str] = {}
    SERVE.body_limits(environ)
    assert environ == {"SANIC_REQUEST_MAX_SIZE": "65536"}
    environ = {"SANIC_REQUEST_MAX_SIZE": "1000"}
    SERVE.body_limits(environ)
    assert environ == {"SANIC_REQUEST_MAX_SIZE": "1000"}


def test_nginx_caps_the_channel_routes_at_the_same_size(tmp_path: Path) -> None:
    layout = layouts.from_env(Mode.scaled, {"CODESIGN_VAR_DIR": str(tmp_path),
                                            "TELEGRAM_BOT_TOKEN": "1:x",
                                            "TELEGRAM_MODE": "webhook"})
    text = render.nginx_conf(layout, render.NginxUser.for_layout(layout))
    for route in ("location = /webhooks/rest/webhook {", "location /socket.io/ {"):
        block = text[text.index(route):]
        block = block[:block.index("\n        }")]  # the location's closing brace
        assert re.findall(r"client_max_body_size (\w+);", block) == ["64k"], block
    assert SERVE.MAX_BODY_BYTES == 64 * 1024


@pytest.mark.parametrize(("sent", "read"), [
    ("/restart", "restart"), ("/back", "back"), ("/session_start", "session_start"),
    ('/restart{"a": 1}', 'restart{"a": 1}'), ("/restart@0.9", "restart@0.9"),
    ("/affirm", "/affirm"), ('/choose{"choice":"visits:1"}', '/choose{"choice":"visits:1"}'),
    ("/restarting", "/restarting"), ("restart", "restart"), ("", ""),
])
def test_rasas_internal_intents_are_read_as_words(sent: str, read: str) -> None:
    assert PAYLOADS.as_citizen_text(sent) == read
