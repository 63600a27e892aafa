"""URLs of static files with a content hash, so browsers may cache them for good."""

from __future__ import annotations

import hashlib
from pathlib import Path


class Assets:
    """Maps a URL prefix to a folder and versions each file's URL by its content.

    Args:
        mounts: URL prefix (e.g. ``/static``) -> folder served under it.
    """

    def __init__(self, mounts: dict[str, Path]) -> None:
        self.mounts = mounts
        self._versions: dict[str, str] = {}

    def url(self, prefix: str, name: str) -> str:
        """``<prefix>/<name>?v=<hash>`` of a file served under ``prefix``.

        Raises:
            FileNotFoundError: when the file does not exist (a broken page is better
                found at start-up than by a citizen).
        """
        key = f"{prefix}/{name}"
        version = self._versions.get(key)
        if version is None:
            path = self.mounts[prefix] / name
            version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            self._versions[key] = version
        return f"{key}?v={version}"
