"""Private files and folders of a backup, and copying folders of regular files."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from bot.backup import BackupError
from bot.backup.progress import Advance

DIR_MODE = 0o700
FILE_MODE = 0o600
CHUNK = 1024 * 1024


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents, each readable by its owner only."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        folder.chmod(DIR_MODE)
    if path not in missing:
        path.chmod(DIR_MODE)
    return path


def new_private_file(path: Path) -> None:
    """Create an empty file only its owner can read; fails when it exists."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def copy_file(source: Path, target: Path, advance: Advance | None = None) -> int:
    """Copy a file's bytes into a new private file; returns the bytes copied."""
    private_dir(target.parent)
    new_private_file(target)
    copied = 0
    with source.open("rb") as reading, target.open("wb") as writing:
        while chunk := reading.read(CHUNK):
            writing.write(chunk)
            copied += len(chunk)
            if advance:
                advance(len(chunk))
    return copied


def regular_files(root: Path) -> Iterator[Path]:
    """Regular files under ``root``, sorted, skipping dot-files (partial writes, locks)
    and symbolic links; nothing when ``root`` does not exist."""
    if not root.is_dir():
        return
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder) / name
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                yield path


def tree_bytes(root: Path) -> int:
    """Total size of :func:`regular_files` under ``root``."""
    return sum(path.stat().st_size for path in regular_files(root))


def copy_tree(source: Path, target: Path, advance: Advance | None = None) -> list[Path]:
    """Copy the regular files under ``source`` to the same places under ``target``.

    Returns:
        The copies, relative to ``target``.
    """
    copied = []
    for path in regular_files(source):
        relative = path.relative_to(source)
        copy_file(path, target / relative, advance)
        copied.append(relative)
    return copied


def sha256_of(path: Path, advance: Advance | None = None) -> str:
    """The file's SHA-256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as reading:
        while chunk := reading.read(CHUNK):
            digest.update(chunk)
            if advance:
                advance(len(chunk))
    return digest.hexdigest()


def remove(path: Path) -> None:
    """Remove a file or a folder tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def inside(root: Path, relative: str) -> Path:
    """``root / relative`` for a relative path from a manifest that stays inside ``root``.

    Raises:
        BackupError: the path is absolute or leaves ``root``.
    """
    candidate = (root / relative).resolve()
    if os.path.isabs(relative) or not candidate.is_relative_to(root.resolve()):
        raise BackupError(f"the manifest names a file outside the backup: {relative!r}")
    return candidate
