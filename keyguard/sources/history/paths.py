"""How a path in git history shows, and which kind of document its blobs are read as."""

from __future__ import annotations

import os
from functools import lru_cache

from keyguard.read.documents import NOTEBOOK_SUFFIXES, PYTHON_SUFFIXES


@lru_cache(maxsize=1 << 16)  # asked once per change: a history has few paths, many changes
def kind_of(path: str) -> str:
    """The document kind a path is read as (a blob is scanned once per kind it appears as)."""
    lower = path.lower()
    if lower.endswith(NOTEBOOK_SUFFIXES):
        return "notebook"
    if lower.endswith(PYTHON_SUFFIXES):
        return "python"
    return "text"


class DisplayPaths:
    """Raw git paths (bytes, relative to the repository root) -> display paths (relative to
    the current directory, as a tree scan prints them). Non-UTF-8 bytes show as \\xNN."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.cwd = os.getcwd()
        self._cache: dict[bytes, str] = {}

    def display(self, raw: bytes) -> str:
        shown = self._cache.get(raw)
        if shown is None:
            text = raw.decode("utf-8", "backslashreplace")
            absolute = os.path.join(self.root, *text.split("/"))
            try:
                shown = os.path.relpath(absolute, self.cwd)
            except ValueError:
                shown = absolute
            shown = shown.replace(os.sep, "/")
            self._cache[raw] = shown
        return shown
