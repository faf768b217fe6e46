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

# A bar appears only after this many seconds: short scans print nothing.
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
        self.bar = tqdm(
            total=sum(self.sizes.values()), unit="B", unit_scale=True, unit_divisor=1024,
            file=self.stream, delay=DELAY_SECONDS, leave=False, dynamic_ncols=True,
            desc="keyguard", bar_format="{desc}: {postfix} {percentage:3.0f}%|{bar}| "
            "{n_fmt}B/{total_fmt}B [{elapsed}<{remaining}, {rate_fmt}]",
        )
        self.bar.set_postfix_str(f"0/{self.total_files} files", refresh=False)

    def advance(self, path: str) -> None:
        if self.bar is None:
            return
        self.done += 1
        self.bar.set_postfix_str(f"{self.done}/{self.total_files} files", refresh=False)
        self.bar.update(self.sizes.get(path, 0))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
