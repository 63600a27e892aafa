"""The local knowledge index generation under ``<var>/knowledge/``.

The database holds the truth (passages, embeddings and the recorded generations, see
``bot.knowledge.generations``), and is in the app database's backup. The live local
generation is copied too, so a restored machine answers at once without rebuilding; a
restore checks it against the restored database and rebuilds it from the stored
passages (no re-embedding) when it does not fit (an ingest ran while the backup was
being taken).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from bot.backup import BackupError
from bot.backup.files import copy_file, copy_tree, inside, remove, tree_bytes
from bot.backup.manifest import Part
from bot.backup.progress import Progress
from bot.knowledge import generations
from bot.knowledge import index as ix
from bot.knowledge.follow import fits
from bot.store.db import session_scope
from bot.store.models import KnowledgePassage

FOLDER = "knowledge"
#: A rebuild elsewhere may prune the generation being copied: try the new live one.
ATTEMPTS = 3


def back_up_live(var: Path, backup: Path, progress: Progress) -> tuple[str, list[Path]] | None:
    """Copy the live generation into ``<backup>/knowledge/<its name>/``.

    Returns:
        Its name and the copied files (relative to ``backup``); None when there is none.
    """
    for _ in range(ATTEMPTS):
        live = ix.current_generation(var)
        if live is None:
            return None
        target = backup / FOLDER / live.name
        try:
            with progress.bar("knowledge index", tree_bytes(live)) as advance:
                copied = copy_tree(live, target, advance)
        except FileNotFoundError:
            remove(target)
            continue
        if (live / "manifest.json").is_file():  # still whole after the copy
            return live.name, [Path(FOLDER) / live.name / path for path in copied]
        remove(target)
    raise BackupError(f"the knowledge index under {var} kept changing during the backup; "
                      "try again")


def restore_live(backup: Path, part: Part, var: Path) -> Path:
    """Put the backed-up generation of ``part`` under ``<var>/knowledge/`` and make it the
    live one (only the files the manifest lists are copied)."""
    name = str(part.details.get("generation", ""))
    if not name.startswith("gen-") or Path(name).name != name:
        raise BackupError(f"the manifest names an odd knowledge generation: {name!r}")
    root = ix.knowledge_dir(var)
    partial = root / f".{name}.restoring"
    remove(partial)
    source = backup / FOLDER / name
    for file in part.files:
        relative = Path(file).relative_to(Path(FOLDER) / name)
        copy_file(inside(source, str(relative)), partial / relative)
    final = root / name
    remove(final)
    partial.rename(final)
    pointer = root / f".CURRENT.{name}.restoring"
    pointer.write_text(name)
    os.replace(pointer, root / "CURRENT")
    return final


def match_database(database_url: str, var: Path) -> str:
    """Rebuild the live local generation from the database when it does not fit it.

    Returns:
        ``"kept"``, ``"rebuilt"``, or ``"none"`` (no passages and no generation).
    """
    with session_scope(database_url) as session:
        latest = generations.latest(session)
        live = ix.current_generation(var)
        if live is not None and fits(ix.read_stamp(live), latest):
            return "kept"
        if latest is None and live is None and not session.scalar(
                select(func.count()).select_from(KnowledgePassage)):
            return "none"
        generations.build_local(session, var, latest)
    return "rebuilt"
