"""Taking a backup of a running installation (``codesign backup PATH``).

The parts are written into ``PATH.part`` and the folder is renamed to ``PATH`` only once
the manifest with every file's checksum is in it, so an interrupted backup never looks
complete. The app database comes first: the files copied after it (knowledge index,
uploads) are at least as new as it, and a restore reconciles the index with it.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.backup import BackupError, database, keys, knowledge, manifest
from bot.backup.files import copy_file, copy_tree, private_dir, remove, tree_bytes
from bot.backup.installation import TELEGRAM_FILES, Installation
from bot.backup.manifest import Manifest, Part
from bot.backup.progress import Progress, size
from bot.backup.sqlite import snapshot

APP_DATABASE = "app-database"
TRACKER = "tracker"
UPLOADS = "uploads"
TELEGRAM = "telegram"
SECRETS = "secrets"
ENGINE_NAMES = {database.SQLITE: "SQLite", database.POSTGRESQL: "PostgreSQL"}


def take_backup(installation: Installation, path: Path, progress: Progress, *,
                force: bool = False) -> Manifest:
    """Back up ``installation`` into the folder ``path``.

    Raises:
        BackupError: ``path`` exists (without ``force``), its folder is missing, or a
            part cannot be backed up (``PATH.part`` is removed).
    """
    path = path.resolve()
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; choose another path or pass --force to "
                          "replace it")
    if path.is_relative_to(installation.var):
        raise BackupError(f"{path} is inside the data folder {installation.var}: keep backups "
                          "elsewhere (a lost disk must not take them too)")
    if not path.parent.is_dir():
        raise BackupError(f"the folder {path.parent} does not exist")
    key = keys.key_in_use(installation.secret_key, installation.var)
    partial = path.with_name(path.name + ".part")
    remove(partial)  # left by an interrupted backup
    private_dir(partial)
    try:
        parts = _take_parts(installation, partial, progress)
        revision = database.schema_revision(partial / parts[APP_DATABASE].files[0])
        made = Manifest(created_at=manifest.now(), codesign_version=manifest.codesign_version(),
                        app_schema_revision=revision,
                        engine=database.engine_name(installation.database_url),
                        secret_key=key.as_dict(), parts=parts,
                        files=manifest.checksums(partial, parts, progress))
        manifest.write(partial, made)
        _replace(partial, path)
    except BaseException:
        remove(partial)
        raise
    return made


def _replace(partial: Path, path: Path) -> None:
    """Rename the finished backup to ``path`` (an older one there is removed after)."""
    previous = path.with_name(path.name + ".replaced")
    remove(previous)
    if path.exists():
        path.rename(previous)
    partial.rename(path)
    remove(previous)


def _timed(progress: Progress, started: float, message: str) -> None:
    progress.part(f"{message} ({time.monotonic() - started:.1f} s)")


def _take_parts(installation: Installation, root: Path, progress: Progress) -> dict[str, Part]:
    parts: dict[str, Part] = {}
    engine = database.engine_name(installation.database_url)
    tracker_inside = not installation.tracker_separate
    started = time.monotonic()
    copy = database.back_up(installation.database_url, root / APP_DATABASE, progress,
                            "app database")
    parts[APP_DATABASE] = Part(
        "the app store: consultations, participations, answers, transcripts, staff accounts, "
        "the knowledge passages and generations, the Telegram bridge's state"
        + (", and Rasa's tracker store (table events)" if tracker_inside else ""),
        [copy.name], {"engine": engine, "tracker_store": tracker_inside})
    _timed(progress, started, f"app database ({ENGINE_NAMES[engine]}"
           + (", with Rasa's tracker store" if tracker_inside else "")
           + f"): {size(copy.stat().st_size)}")
    if not tracker_inside:
        started = time.monotonic()
        copy = database.back_up(installation.tracker_url, root / TRACKER, progress,
                                "tracker store")
        parts[TRACKER] = Part("Rasa's tracker store (the conversations)", [copy.name],
                              {"engine": database.engine_name(installation.tracker_url)})
        _timed(progress, started, f"Rasa's tracker store: {size(copy.stat().st_size)}")
    started = time.monotonic()
    live = knowledge.back_up_live(installation.var, root, progress)
    if live is None:
        progress.part("knowledge index: none built yet")
    else:
        name, files = live
        parts[knowledge.FOLDER] = Part("the live local knowledge index generation",
                                       [str(f) for f in files], {"generation": name})
        _timed(progress, started, f"knowledge index: generation {name}")
    started = time.monotonic()
    with progress.bar("uploads", tree_bytes(installation.uploads)) as advance:
        uploaded = copy_tree(installation.uploads, root / UPLOADS, advance)
    parts[UPLOADS] = Part("documents uploaded on the Knowledge page",
                          [str(Path(UPLOADS) / f) for f in uploaded])
    _timed(progress, started, f"uploads: {len(uploaded)} files")
    telegram = [name for name in TELEGRAM_FILES if (installation.var / name).is_file()]
    if telegram:
        private_dir(root / TELEGRAM)
        for name in telegram:
            snapshot(installation.var / name, root / TELEGRAM / name, progress, name)
        parts[TELEGRAM] = Part("an older Telegram bridge's state files, not yet imported",
                               [f"{TELEGRAM}/{name}" for name in telegram])
    progress.part("Telegram state: in the app database"
                  + (f", and {len(telegram)} older bridge files" if telegram else ""))
    kept = [name for name in keys.FILES if (installation.var / name).is_file()]
    for name in kept:
        copy_file(installation.var / name, root / SECRETS / name)
    parts[SECRETS] = Part("secrets kept in the data folder (the secret key keys the "
                          "pseudonyms and the sealed Telegram chat ids)",
                          [f"{SECRETS}/{name}" for name in kept])
    progress.part(f"secrets: {', '.join(kept) or 'none in the data folder'}")
    return parts
