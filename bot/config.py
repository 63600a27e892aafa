"""Settings read from the environment, with embedded-default fallbacks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """Return the writable data folder (``CODESIGN_VAR_DIR`` or ``./var``), creating it."""
    path = Path(os.environ.get("CODESIGN_VAR_DIR", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    """The embedded default: one SQLite file under ``var/``."""
    return f"sqlite:///{var_dir() / 'codesign.db'}"


@dataclass(frozen=True)
class Settings:
    """Process-wide settings.

    Attributes:
        database_url: SQLAlchemy URL of the app store (``DATABASE_URL``).
        secret_key: key for pseudonymous participant ids (``CODESIGN_SECRET_KEY``).
    """

    database_url: str
    secret_key: bytes

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from the environment.

        Raises:
            RuntimeError: when ``CODESIGN_SECRET_KEY`` is missing or too short.
        """
        secret = os.environ.get("CODESIGN_SECRET_KEY", "")
        if len(secret) < 16:
            raise RuntimeError(
                "CODESIGN_SECRET_KEY must be set to a random string of at least 16 characters "
                "(it keys the pseudonymous participant ids; `make run` creates one in var/)."
            )
        return cls(
            database_url=os.environ.get("DATABASE_URL") or default_database_url(),
            secret_key=secret.encode(),
        )
