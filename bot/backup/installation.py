"""Where an installation keeps its data, read from the environment as every command and
``scripts/env.sh`` read it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.backup.database import same_database
from bot.config import PROJECT_ROOT

#: The Knowledge page's uploads folder (``bot.web.knowledge_uploads.UPLOADS``; importing
#: that module loads the whole web app).
UPLOADS = "knowledge-uploads"
#: State files of older Telegram bridges, imported into the app store at the bridge's next
#: start (bot.telegram.legacy); kept until then.
TELEGRAM_FILES = ("telegram-outbox.sqlite3", "telegram-contacts.sqlite3")


@dataclass(frozen=True)
class Installation:
    """The data of one installation.

    Attributes:
        var: the data folder (``CODESIGN_VAR_DIR``, else ``var/``).
        database_url: the app store (``DATABASE_URL``, else ``<var>/codesign.db``).
        tracker_url: Rasa's tracker store (``RASA_TRACKER_URL``, else the app store).
        secret_key: ``CODESIGN_SECRET_KEY`` when the environment sets it.
    """

    var: Path
    database_url: str
    tracker_url: str
    secret_key: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Installation:
        """The installation the environment describes (the data folder is not created)."""
        env = os.environ if env is None else env
        var = Path(env.get("CODESIGN_VAR_DIR") or PROJECT_ROOT / "var").resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{var / 'codesign.db'}"
        return cls(var, database_url, env.get("RASA_TRACKER_URL") or database_url,
                   env.get("CODESIGN_SECRET_KEY") or None)

    @property
    def tracker_separate(self) -> bool:
        """Whether Rasa's tracker store is another database than the app store."""
        return not same_database(self.database_url, self.tracker_url)

    @property
    def uploads(self) -> Path:
        """Documents uploaded on the Knowledge page (``bot.web.knowledge_uploads``)."""
        return self.var / UPLOADS
