"""Sealing the Telegram values the bridge must keep in the app database.

The app store never holds Telegram ids in the clear. The bridge still has to answer a
chat after a restart on another machine, so it stores the chat id (and an update waiting
to be handled) as a Fernet token: AES-128-CBC with an HMAC-SHA256, under a key derived
from ``CODESIGN_SECRET_KEY`` with HKDF-SHA256. Anyone with the database alone learns
nothing; whoever also holds the secret key can open it, as the bridge does.
"""

from __future__ import annotations

from base64 import urlsafe_b64encode

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: Names the derived key's use, so the same secret never keys two things alike.
INFO = b"codesign telegram sealed values v1"


class SealError(ValueError):
    """A sealed value cannot be opened: another secret key sealed it, or it was altered."""


class Sealer:
    """Seals and opens values under a key derived from the secret key.

    Args:
        secret_key: ``CODESIGN_SECRET_KEY`` (the derived key depends on all of it).
    """

    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(algorithm=SHA256(), length=32, salt=None, info=INFO).derive(secret_key)
        self._fernet = Fernet(urlsafe_b64encode(key))

    def seal(self, value: str) -> str:
        """A token for ``value`` (a different one each time: the IV is random)."""
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, token: str) -> str:
        """The value sealed in ``token``.

        Raises:
            SealError: the token was made under another secret key, or altered.
        """
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SealError("cannot open a sealed Telegram value: it was sealed under another "
                            "CODESIGN_SECRET_KEY, or it was altered") from exc

    def seal_chat(self, chat_id: int) -> str:
        """A token for a chat id."""
        return self.seal(str(chat_id))

    def open_chat(self, token: str) -> int:
        """The chat id sealed in ``token``.

        Raises:
            SealError: as :meth:`open`, or the token holds no chat id.
        """
        value = self.open(token)
        try:
            return int(value)
        except ValueError:
            raise SealError("a sealed chat id holds no number") from None
