"""Documents uploaded on the Knowledge page: checking them, and keeping a copy under the
data folder (``<var>/knowledge-uploads/<collection>/<file name>``) that is then ingested.

A file name is made safe (its last part only, no leading dots, letters, digits, ``.``,
``-`` and ``_``; the extension is kept). Uploading a file with the same name replaces
the copy, so ingesting it again re-embeds only what changed. The document's path in the
knowledge base is that file name, so removing the document can remove the copy too.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from starlette.datastructures import UploadFile

from bot.knowledge.documents import SUPPORTED_SUFFIXES
from bot.knowledge.ingest import check_collection

UPLOADS = "knowledge-uploads"
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_FILES = 20
MAX_NAME = 120
FORMATS = ("Markdown (.md, .markdown), HTML (.html, .htm), PDF (.pdf), plain text (.txt) "
           "and FAQ files (.csv, .jsonl with question and answer fields)")
_UNSAFE = re.compile(r"[^\w.-]+")


class UploadError(ValueError):
    """A file that cannot be taken (its message names it)."""


@dataclass
class Checked:
    """The files of one upload that passed the checks, and the problems of the others."""

    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def safe_name(filename: str) -> str:
    """The name an uploaded file is kept under.

    Raises:
        UploadError: when its type is not one the knowledge base reads.
    """
    last = PurePosixPath(filename.replace("\\", "/")).name
    stem, dot, suffix = last.rpartition(".")
    if not dot:
        stem, suffix = last, ""
    if f".{suffix.lower()}" not in SUPPORTED_SUFFIXES:
        shown = f"'.{suffix}'" if suffix else "no extension"
        raise UploadError(f"{filename}: unsupported file type ({shown}); use {FORMATS}")
    stem = _UNSAFE.sub("-", stem).strip(".-_ ")[:MAX_NAME] or "document"
    return f"{stem}.{suffix.lower()}"


def uploads_dir(var: Path, collection: str) -> Path:
    """Where a collection's uploaded files are kept (``collection`` must be valid)."""
    return var / UPLOADS / check_collection(collection)


def saved_copy(var: Path, collection: str, path: str) -> Path | None:
    """The kept copy of the document ``path`` of ``collection``, if it was uploaded here."""
    try:
        folder = uploads_dir(var, collection)
    except ValueError:
        return None
    if not path or path != PurePosixPath(path).name or "\\" in path or path.startswith("."):
        return None
    copy = folder / path
    return copy if copy.is_file() else None


def uploaded_names(var: Path, collection: str) -> set[str]:
    """The names of a collection's kept copies."""
    try:
        folder = uploads_dir(var, collection)
    except ValueError:
        return set()
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


async def check_uploads(uploads: list[UploadFile]) -> Checked:
    """Read the uploaded files within the limits; every problem names its file."""
    checked = Checked()
    chosen = [u for u in uploads if u.filename]
    if not chosen:
        checked.problems.append("Choose at least one file.")
        return checked
    if len(chosen) > MAX_FILES:
        checked.problems.append(f"Upload at most {MAX_FILES} files at a time "
                                f"({len(chosen)} were chosen).")
        return checked
    total = 0
    for upload in chosen:
        name = upload.filename or ""
        try:
            kept = safe_name(name)
        except UploadError as problem:
            checked.problems.append(str(problem))
            continue
        if kept in checked.files:
            checked.problems.append(f"{name}: another chosen file is also kept as {kept}")
            continue
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            checked.problems.append(f"{name}: the file is larger than "
                                    f"{MAX_FILE_BYTES // (1024 * 1024)} MB")
            continue
        if not data.strip():
            checked.problems.append(f"{name}: the file is empty")
            continue
        total += len(data)
        checked.files[kept] = data
    if total > MAX_TOTAL_BYTES:
        checked.problems.append(f"The files add up to more than "
                                f"{MAX_TOTAL_BYTES // (1024 * 1024)} MB: upload fewer at a time.")
    return checked


def save(var: Path, collection: str, files: dict[str, bytes]) -> list[Path]:
    """Keep the files (each replaced in one step) and return where they are."""
    folder = uploads_dir(var, collection)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for name, data in files.items():
        target = folder / name
        if target.resolve().parent != folder.resolve():  # safe_name makes this impossible
            raise UploadError(f"{name}: not a plain file name")
        partial = folder / f".{name}.{secrets.token_hex(4)}.part"
        partial.write_bytes(data)
        os.replace(partial, target)
        saved.append(target)
    return saved
