"""Online backups of a whole installation, and restoring one into an empty installation.

A backup is a folder (mode 0700, every file 0600)::

    manifest.json              what is included, the schema revision, a sha256 per file
    app-database.sqlite3       the app store (SQLite online backup API), or
    app-database.pgdump        the app store (pg_dump, custom format); on the default
                               set-up it also holds Rasa's tracker store (table events),
                               the knowledge generations, passages and embeddings, and
                               the Telegram bridge's outbox, contacts and sealed chat ids
    tracker.sqlite3|.pgdump    Rasa's tracker store, only when RASA_TRACKER_URL names
                               another database
    knowledge/gen-*/           the live local knowledge index generation
    uploads/<collection>/...   documents uploaded on the Knowledge page
    telegram/*.sqlite3         an older bridge's state files not yet imported
    secrets/                   the secrets kept under the data folder (secret.key, ...)

It is written as ``PATH.part`` and renamed to ``PATH`` only when complete.
"""


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""
