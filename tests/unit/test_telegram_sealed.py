"""Sealed Telegram values: only the secret key that sealed them opens them."""

from __future__ import annotations

import pytest

from bot.telegram.sealed import Sealer, SealError

KEY = b"test-secret-key-0123456789abcdef"


def test_a_chat_id_round_trips_and_is_not_in_the_token() -> None:
    sealer = Sealer(KEY)
    token = sealer.seal_chat(700_000_123)
    assert sealer.open_chat(token) == 700_000_123
    assert "700000123" not in token and sealer.seal_chat(700_000_123) != token  # random IV
    assert Sealer(KEY).open_chat(token) == 700_000_123  # another process, same key
    assert sealer.open_chat(sealer.seal_chat(-1_001_234_567_890)) == -1_001_234_567_890


def test_another_key_cannot_open_it() -> None:
    token = Sealer(KEY).seal("a private update")
    with pytest.raises(SealError, match="sealed under another CODESIGN_SECRET_KEY"):
        Sealer(KEY + b"x").open(token)


def test_a_tampered_token_fails() -> None:
    sealer = Sealer(KEY)
    token = sealer.seal_chat(42)
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    with pytest.raises(SealError, match="or it was altered"):
        sealer.open_chat(altered)
    with pytest.raises(SealError):
        sealer.open("not a token at all")


def test_a_token_without_a_number_is_no_chat_id() -> None:
    sealer = Sealer(KEY)
    with pytest.raises(SealError, match="no number"):
        sealer.open_chat(sealer.seal("hello"))
