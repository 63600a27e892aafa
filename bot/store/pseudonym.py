"""Pseudonymous participant ids: raw channel sender ids are never stored."""

from __future__ import annotations

import hashlib
import hmac


def participant_key(secret: bytes, channel: str, sender_id: str) -> str:
    """HMAC-SHA256 of ``channel:sender_id`` under ``secret``, as 64 hex characters."""
    message = f"{channel}:{sender_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
