"""Pseudonymous participant ids: raw channel sender ids are never stored."""

from __future__ import annotations

import hashlib
import hmac


def participant_key(secret: bytes, channel: str, sender_id: str) -> str:
    """HMAC-SHA256 of ``channel:sender_id`` under ``secret``, as 64 hex characters.

    Any text is accepted: a lone surrogate (a sender id no channel should send, but a
    JSON body can hold) is encoded as it is rather than failing the turn.
    """
    message = f"{channel}:{sender_id}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
