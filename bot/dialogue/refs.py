"""Signed references to a row that only its owner may act on, for buttons.

A reference is ``"<id>.<signature>"``: the row's id and the first 20 hex digits of an
HMAC-SHA256, under the secret key, of ``"<scope>:<id>"``, where the scope names both the
kind of row and its owner (``knowledge-query:<participant key>``). A button can carry it
through any channel; whoever presses it cannot swap in another id, or someone else's
reference, without the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import re

#: Hex digits of the HMAC kept in a reference (80 bits: Telegram's 64-byte callback data
#: must also hold the button's prefix).
SIGNATURE_CHARS = 20
_REF = re.compile(rf"(0|[1-9][0-9]{{0,18}})\.([0-9a-f]{{{SIGNATURE_CHARS}}})")


def _signature(secret: bytes, scope: str, row_id: int) -> str:
    message = f"{scope}:{row_id}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def sign(secret: bytes, scope: str, row_id: int) -> str:
    """The reference to row ``row_id`` (an id from 0 to 2**63 - 1) for ``scope``."""
    return f"{row_id}.{_signature(secret, scope, row_id)}"


def verify(secret: bytes, scope: str, ref: object) -> int | None:
    """The row id that ``ref`` names, if ``sign`` made it for this scope and secret.

    Returns:
        The id; None for anything else: not text, malformed, altered, made for another
        scope (another owner) or under another secret. Never raises.
    """
    found = _REF.fullmatch(ref) if isinstance(ref, str) else None
    if found is None:
        return None
    row_id = int(found.group(1))
    expected = _signature(secret, scope, row_id)
    return row_id if hmac.compare_digest(found.group(2), expected) else None
