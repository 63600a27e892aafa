"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
#: Sign-in forms read at most this many characters of a password.
MAX_LENGTH = 1024
#: What ``check_strength`` asks for, as forms tell it.
RULES = (f"At least {MIN_LENGTH} characters, with no space at the start or end and at least "
         "5 different characters.")


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_strength(password: str) -> None:
    """Raise ``ValueError`` when a new password is too weak (or too long) to accept."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password must have at most {MAX_LENGTH} characters")
    if password.strip() != password or len(set(password)) < 5:
        raise ValueError("the password is too simple (no leading or trailing spaces, "
                         "at least 5 different characters)")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (salted; encodes its own parameters)."""
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (never raises for a wrong password)."""
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(stored_hash)
