"""Restoring a backup into an empty installation (``codesign restore PATH``).

Everything is checked before anything is written: the checksums, the engine, the schema
revision, the secret key the data needs, and that the target holds no data. Then the
databases, secrets, uploads, Telegram files and knowledge index are put in place, the
schema is migrated to this version's head, and the knowledge index is matched with the
restored database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from bot.backup import BackupError, database, keys, knowledge, manifest
from bot.backup.files import copy_file, inside, regular_files, remove
from bot.backup.installation import TELEGRAM_FILES, Installation
from bot.backup.manifest import Manifest
from bot.backup.progress import Progress
from bot.backup.take import APP_DATABASE, SECRETS, TELEGRAM, TRACKER, UPLOADS
from bot.store.db import MIGRATIONS_DIR, migrate


@dataclass(frozen=True)
class Restored:
    """What a restore did.

    Attributes:
        backup_revision: the schema revision of the backup.
        revision: the schema revision after migrating (this version's head).
        knowledge: ``kept`` (the backed-up index fits the database), ``rebuilt`` or
            ``none``.
    """

    backup_revision: str | None
    revision: str
    knowledge: str


def _script() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def check_layout(made: Manifest) -> None:
    """Refuse a manifest whose parts name files a backup never holds (each file is put in
    a place derived from its name).

    Raises:
        BackupError: naming the first odd file.
    """
    allowed = {SECRETS: {f"{SECRETS}/{name}" for name in keys.FILES},
               TELEGRAM: {f"{TELEGRAM}/{name}" for name in TELEGRAM_FILES}}
    prefixes = {UPLOADS: f"{UPLOADS}/", knowledge.FOLDER: f"{knowledge.FOLDER}/"}
    for part_name, part in made.parts.items():
        for name in part.files:
            fits = (name in allowed[part_name] if part_name in allowed
                    else name.startswith(prefixes[part_name]) if part_name in prefixes
                    else len(part.files) == 1)
            if not fits:
                raise BackupError(f"the manifest's part {part_name} names an odd file: "
                                  f"{name!r}")


def check_compatible(made: Manifest, installation: Installation) -> None:
    """Refuse a backup this installation cannot take: another engine, a newer schema, or
    the tracker store laid out differently.

    Raises:
        BackupError: saying what differs.
    """
    engine = database.engine_name(installation.database_url)
    if made.engine != engine:
        raise BackupError(f"this is a {made.engine} backup and DATABASE_URL is {engine}: a "
                          "backup restores into the engine it was taken from (restoring "
                          "across engines is not supported)")
    if made.app_schema_revision is not None:
        try:
            _script().get_revision(made.app_schema_revision)
        except CommandError:
            raise BackupError(f"the backup's schema revision {made.app_schema_revision} is "
                              "newer than this codesign knows: upgrade codesign first") from None
    app = made.parts.get(APP_DATABASE)
    if app is None:
        raise BackupError("the backup has no app database part")
    if app.details.get("tracker_store") and installation.tracker_separate:
        raise BackupError("the backup keeps Rasa's tracker store in the app database, but "
                          "RASA_TRACKER_URL names another database: unset it (or point it "
                          "at DATABASE_URL's database) to restore")
    tracker = made.parts.get(TRACKER)
    if tracker is not None:
        if not installation.tracker_separate:
            raise BackupError("the backup has a separate tracker store database: set "
                              "RASA_TRACKER_URL to an empty database for it")
        tracker_engine = database.engine_name(installation.tracker_url)
        if tracker.details.get("engine") != tracker_engine:
            raise BackupError(f"the backup's tracker store is {tracker.details.get('engine')} "
                              f"and RASA_TRACKER_URL is {tracker_engine}: restoring across "
                              "engines is not supported")


def _check_empty(url: str, what: str, force: bool) -> bool:
    """Refuse a target database that holds data; True when its empty tables must go."""
    found = database.contents(url)
    if found.with_rows:
        shown = ", ".join(found.with_rows[:6]) + (", ..." if len(found.with_rows) > 6 else "")
        raise BackupError(f"the target {what} already holds data (tables {shown}): restore "
                          "only into an empty installation (a new, empty database)")
    if found.tables and not force:
        raise BackupError(f"the target {what} has tables already (all empty): pass --force "
                          "to replace them, or use a new, empty database")
    return bool(found.tables)


def _check_var_empty(installation: Installation) -> None:
    """Refuse a data folder holding uploads or an older bridge's files."""
    held = [str(p) for p in regular_files(installation.uploads)][:3]
    held += [name for name in TELEGRAM_FILES if (installation.var / name).exists()]
    if held:
        raise BackupError(f"the data folder {installation.var} already holds data "
                          f"({', '.join(held)}): restore into an empty data folder")


def restore_backup(installation: Installation, path: Path, progress: Progress, *,
                   force: bool = False) -> Restored:
    """Restore the backup folder ``path`` into the empty ``installation``.

    Args:
        installation: the target (its databases must be empty, or with ``force`` hold
            empty tables only).
        path: a folder written by ``codesign backup``.
        progress: receives a line per part.
        force: replace empty tables in the target databases.

    Raises:
        BackupError: the backup is damaged or does not fit, or the target holds data.
    """
    path = path.resolve()
    made = manifest.read(path)
    started = time.monotonic()
    manifest.verify(path, made, progress)
    progress.part(f"checksums: {len(made.files)} files verified "
                  f"({time.monotonic() - started:.1f} s)")
    check_layout(made)
    check_compatible(made, installation)
    backed_up_key = keys.read_kept(path / SECRETS, keys.KEY_FILE) \
        if f"{SECRETS}/{keys.KEY_FILE}" in made.files else None
    keys.check_restored_key(made.secret_key, installation.secret_key, backed_up_key)
    targets = [(APP_DATABASE, installation.database_url, "app database")]
    if TRACKER in made.parts:
        targets.append((TRACKER, installation.tracker_url, "tracker store database"))
    clear = [_check_empty(url, what, force) for _, url, what in targets]
    _check_var_empty(installation)

    try:
        for (part, url, what), must_clear in zip(targets, clear, strict=True):
            started = time.monotonic()
            if must_clear and database.engine_name(url) == database.POSTGRESQL:
                database.clear_empty_schema(url)
            database.restore(inside(path, made.parts[part].files[0]), url)
            progress.part(f"{what}: restored ({time.monotonic() - started:.1f} s)")
        _restore_files(made, path, installation, progress)
        migrate(installation.database_url)
    except Exception as exc:
        raise BackupError(f"the restore stopped half-way ({exc}); before trying again, empty "
                          "the target: a new database, and an empty data folder") from exc
    head = _script().get_current_head() or ""
    if made.app_schema_revision != head:
        progress.part(f"schema: migrated from {made.app_schema_revision} to {head}")
    kept = knowledge.match_database(installation.database_url, installation.var)
    progress.part(f"knowledge index: {kept}")
    return Restored(made.app_schema_revision, head, kept)


def _restore_files(made: Manifest, path: Path, installation: Installation,
                   progress: Progress) -> None:
    """Secrets, uploads, an older bridge's files and the knowledge index."""
    installation.var.mkdir(parents=True, exist_ok=True)
    secrets = made.parts.get(SECRETS)
    for name in secrets.files if secrets else []:
        target = installation.var / Path(name).name
        remove(target)
        copy_file(inside(path, name), target)
    progress.part(f"secrets: {len(secrets.files) if secrets else 0} files")
    uploads = made.parts.get(UPLOADS)
    for name in uploads.files if uploads else []:
        relative = Path(name).relative_to(UPLOADS)
        copy_file(inside(path, name), inside(installation.uploads, str(relative)))
    progress.part(f"uploads: {len(uploads.files) if uploads else 0} files")
    telegram = made.parts.get(TELEGRAM)
    for name in telegram.files if telegram else []:
        copy_file(inside(path, name), installation.var / Path(name).name)
    generation = made.parts.get(knowledge.FOLDER)
    if generation is not None:
        knowledge.restore_live(path, generation, installation.var)
