"""How a path in git history shows, which kind of document its blobs are read as, and
whether they are read at all."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import NamedTuple

from keyguard.config import Config
from keyguard.config import is_excluded as config_excluded
from keyguard.read.documents import NOTEBOOK_SUFFIXES, PYTHON_SUFFIXES
from keyguard.sources.tree import BINARY, EXCLUDED, binary_by_name


@lru_cache(maxsize=1 << 16)  # asked once per change: a history has few paths, many changes
def kind_of(path: str) -> str:
    """The document kind a path is read as (a blob is scanned once per kind it appears as)."""
    lower = path.lower()
    if lower.endswith(NOTEBOOK_SUFFIXES):
        return "notebook"
    if lower.endswith(PYTHON_SUFFIXES):
        return "python"
    return "text"


class PathInfo(NamedTuple):
    """What a history needs to know of one path: `shown` (the display path), `kind` (the
    document kind, `kind_of`) and `left_out` ("" when its blobs are read, else why not:
    EXCLUDED or BINARY, the skip reasons of a tree scan)."""

    shown: str
    kind: str
    left_out: str


class DisplayPaths:
    """Raw git paths (bytes, relative to the repository root) -> display paths (relative to
    the current directory, as a tree scan prints them; non-UTF-8 bytes show as \\xNN) and
    `info` (`config` decides what is excluded). Both are cached per raw path: a history has
    a few thousand paths and a hundred thousand changes."""

    def __init__(self, root: str, config: Config | None = None) -> None:
        self.root = root
        self.cwd = os.getcwd()
        self.config = config
        self._cache: dict[bytes, str] = {}
        self._info: dict[bytes, PathInfo] = {}

    def info(self, raw: bytes) -> PathInfo:
        """The display path, kind and `left_out` reason of raw path `raw`."""
        known = self._info.get(raw)
        if known is None:
            shown = self.display(raw)
            known = self._info[raw] = PathInfo(shown, kind_of(shown), left_out(shown, self.config))
        return known

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


def left_out(path: str, config: Config | None) -> str:
    """Why a blob at display path `path` is never read ("" when it is read): excluded by
    configuration (EXCLUDED), or binary by name as in a tree scan (BINARY)."""
    if config is not None and config.exclude and config_excluded(path, config):
        return EXCLUDED
    return BINARY if binary_by_name(path) else ""
