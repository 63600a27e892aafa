"""The manifest of a backup: what it holds, and a SHA-256 of every file.

``manifest.json``::

    {"format": "codesign-backup", "version": 1, "created_at": "2027-03-01T02:00:00Z",
     "codesign_version": "0.1.0", "app_schema_revision": "0008", "engine": "sqlite",
     "secret_key": {"source": "var", "check": "<hmac>"},
     "parts": {"app-database": {"description": "...", "files": ["app-database.sqlite3"],
                                "details": {...}}, ...},
     "files": {"app-database.sqlite3": {"bytes": 1234, "sha256": "<hex>"}, ...}}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.backup import BackupError
from bot.backup.files import inside, new_private_file, sha256_of
from bot.backup.progress import Progress

NAME = "manifest.json"
FORMAT = "codesign-backup"
VERSION = 1


@dataclass(frozen=True)
class Part:
    """One part of a backup.

    Attributes:
        description: what it holds, for people.
        files: its files, relative to the backup folder.
        details: facts the restore needs (e.g. the knowledge generation's name).
    """

    description: str
    files: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileSum:
    """A file's size and SHA-256."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a backup holds (see the module docstring for the JSON)."""

    created_at: str
    codesign_version: str
    app_schema_revision: str | None
    engine: str
    secret_key: dict[str, str]
    parts: dict[str, Part]
    files: dict[str, FileSum]
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> str:
        """The manifest as indented JSON."""
        data = asdict(self)
        ordered = {key: data[key] for key in ("format", "version", "created_at",
                                              "codesign_version", "app_schema_revision",
                                              "engine", "secret_key", "parts", "files")}
        return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"


def codesign_version() -> str:
    """The installed codesign package's version ("unknown" when not installed)."""
    try:
        return metadata.version("codesign")
    except metadata.PackageNotFoundError:
        return "unknown"


def now() -> str:
    """The current UTC time, ISO 8601 with a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def checksums(root: Path, parts: dict[str, Part], progress: Progress) -> dict[str, FileSum]:
    """Size and SHA-256 of every file the parts name."""
    names = sorted(name for part in parts.values() for name in part.files)
    total = sum((root / name).stat().st_size for name in names)
    sums = {}
    with progress.bar("checksums", total) as advance:
        for name in names:
            path = root / name
            sums[name] = FileSum(path.stat().st_size, sha256_of(path, advance))
    return sums


def write(root: Path, manifest: Manifest) -> None:
    """Write ``manifest.json`` (a private file) into the backup folder."""
    path = root / NAME
    new_private_file(path)
    path.write_text(manifest.to_json(), encoding="utf-8")


def read(root: Path) -> Manifest:
    """Read and check a backup's manifest.

    Raises:
        BackupError: no backup there, an unreadable manifest, or a format this version
            does not know.
    """
    path = root / NAME
    if not root.is_dir():
        raise BackupError(f"{root} is not a backup folder (made by `codesign backup`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{root} has no {NAME}: it is not a complete backup") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{path} is not a codesign backup manifest")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise BackupError(f"{path} has format version {data.get('version')!r}; this codesign "
                          f"reads version {VERSION} or older: upgrade codesign to restore it")
    try:
        return Manifest(
            created_at=str(data["created_at"]),
            codesign_version=str(data["codesign_version"]),
            app_schema_revision=data["app_schema_revision"],
            engine=str(data["engine"]),
            secret_key={str(k): str(v) for k, v in data["secret_key"].items()},
            parts={name: Part(str(part["description"]), [str(f) for f in part["files"]],
                              dict(part["details"]))
                   for name, part in data["parts"].items()},
            files={name: FileSum(int(entry["bytes"]), str(entry["sha256"]))
                   for name, entry in data["files"].items()},
            version=int(data["version"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(f"{path} is incomplete or malformed ({exc!r})") from None


def verify(root: Path, manifest: Manifest, progress: Progress) -> None:
    """Check that every file the manifest lists is there with its size and SHA-256.

    Raises:
        BackupError: naming each missing, truncated or altered file.
    """
    listed = {name for part in manifest.parts.values() for name in part.files}
    problems = [f"{name}: listed in a part but has no checksum"
                for name in sorted(listed - manifest.files.keys())]
    present: dict[str, Path] = {}
    for name, expected in sorted(manifest.files.items()):
        path = inside(root, name)
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != expected.bytes:
            problems.append(f"{name}: {path.stat().st_size} bytes, the manifest says "
                            f"{expected.bytes}")
        else:
            present[name] = path
    with progress.bar("verifying", sum(manifest.files[n].bytes for n in present)) as advance:
        for name, path in present.items():
            if sha256_of(path, advance) != manifest.files[name].sha256:
                problems.append(f"{name}: its SHA-256 differs from the manifest's (altered "
                                "or damaged)")
    if problems:
        raise BackupError("the backup is damaged; nothing was restored:\n  "
                          + "\n  ".join(problems))
