"""Progress of a long scan on a terminal: files done / total and MB/s, on stderr.

Shown only when stderr is a terminal, no `CI` variable is set (CI logs are not terminals,
but some runners fake one) and the user did not ask for `-q`; and then only once a scan has
run for half a second, so a pre-commit run never flickers. The bar is tqdm's, imported only
when it is shown. It names no file (a path is not a secret, but a bar is noise to quote).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

# A bar appears only after this many seconds: short scans print nothing
# (KEYGUARD_PROGRESS_DELAY overrides it, for tests and demos).
DELAY_SECONDS = 0.5


def wanted(stream: TextIO | None = None, *, quiet: bool = False) -> bool:
    """Whether to show progress on `stream` (default stderr)."""
    stream = stream if stream is not None else sys.stderr
    if quiet or os.environ.get("CI"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


def _delay() -> float:
    try:
        return max(float(os.environ.get("KEYGUARD_PROGRESS_DELAY", DELAY_SECONDS)), 0.0)
    except ValueError:
        return DELAY_SECONDS


class Progress:
    """Counts finished files and their bytes; `start`, `advance` per file, `close`."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        self.sizes: dict[str, int] = {}

    def start(self, files: Sequence[str]) -> None:
        from tqdm import tqdm  # only on a terminal

        for path in files:
            try:
                self.sizes[path] = os.path.getsize(path)
            except OSError:
                self.sizes[path] = 0
        self.total_files = len(files)
        self.done = 0
        # A terminal that reports no size (a bare pty) would get a bar zero columns wide, or
        # none at all (tqdm hides bars below the last of zero rows).
        try:
            width, height = os.get_terminal_size(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            width = height = 0
        self.bar = tqdm(
            total=sum(self.sizes.values()), unit="B", unit_scale=True, unit_divisor=1024,
            file=self.stream, delay=_delay(), leave=False, ncols=width or 80,
            nrows=height or 24, dynamic_ncols=bool(width),
            desc=self._counts(), bar_format="{desc} {percentage:3.0f}%|{bar}| "
            "{n_fmt}{unit}/{total_fmt}{unit} [{elapsed}<{remaining}, {rate_fmt}]",
        )

    def _counts(self) -> str:
        return f"keyguard: {self.done}/{self.total_files} files"

    def advance(self, path: str) -> None:
        if self.bar is None:
            return
        self.done += 1
        self.bar.set_description_str(self._counts(), refresh=False)
        self.bar.update(self.sizes.get(path, 0))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
