"""A head start for the diff pass: its `git log`, walking the newest commits, started with
the commit listing.

Until the listing is done (rev-list over 10,000 commits: ~150 ms after keyguard starts,
while it imports its scanners and loads its configuration) the pass cannot be cut into
parts, and one core is mostly idle. `EarlyLog` runs the pass's own `git log` (PASS_LOG)
meanwhile, walking the selected revisions newest first, into a pipe enlarged to a megabyte
and at a lower priority, so that it takes what the listing and keyguard leave of the
machine; git stops when the pipe is full. When the pass starts, `take()` ends git and
keeps the commits it wrote whole: the pass does not ask git for those again (diffpass).
A pre-push of a few commits is then usually done before the listing is.

Imported by `start`, before the scan pipeline: it needs nothing but `git`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from contextlib import suppress

from keyguard.sources.history.git import Git, enlarge_pipe

# The diff pass's `git log` arguments (keyguard.sources.history.diffpass reads the stream).
# Deletions are left out (--diff-filter): a removed line adds no key (betterleaks does the
# same); a deleted blob was scanned where it was added.
PASS_LOG = ("-z", "--raw", "-p", "-U0", "--full-index", "--no-abbrev", "--no-merges",
            "--diff-filter=AMT", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color",
            "--format=%x01%H %aI %P")
# A commit's header in that stream: "\x01" <sha> " " <author date> " " <parents> "\0".
HEADER = re.compile(rb"\x01([0-9a-f]{40}|[0-9a-f]{64}) [^ \0\n]+(?: [0-9a-f]{40,64})* ?\0")
_NICER = 10  # the head start yields to the listing and to keyguard's own start


class EarlyLog:
    """`git log PASS_LOG REVISIONS -- PATHSPECS` in git's default order (newest first, as it
    walks: no sorting walk before the first diff), started at construction."""

    def __init__(self, git: Git, revisions: Sequence[str], pathspecs: Sequence[str]) -> None:
        self._proc = git.popen(["log", "--full-history", *PASS_LOG, *revisions, "--",
                                *pathspecs])
        assert self._proc.stdout is not None
        enlarge_pipe(self._proc.stdout.fileno())
        with suppress(AttributeError, OSError):  # not POSIX, or git is already gone
            os.setpriority(os.PRIO_PROCESS, self._proc.pid, _NICER)
        self._taken = False

    def take(self) -> tuple[bytes, list[str]]:
        """(what git wrote, up to the end of its last whole commit; those commits, newest
        first). Ends git: a commit it was still writing (or failed on) is left out, and
        the pass asks for it again. (b"", []) after the first call or `stop()`."""
        if self._taken:
            return b"", []
        self._taken = True
        finished = self._proc.poll() is not None
        if not finished:
            self._proc.kill()
        data, _ = self._proc.communicate()
        headers = _headers(data)
        if not (finished and self._proc.returncode == 0) and headers:
            # cut before the "\n" that ends the commit before the last one
            data = data[:max(headers.pop().start() - 1, 0)]
        return data, [header.group(1).decode() for header in headers]

    def stop(self) -> None:
        """End git unread (the scan will not use it)."""
        if not self._taken:
            self._taken = True
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.communicate()


def _headers(data: bytes) -> list[re.Match[bytes]]:
    """Each commit header, in order: at the start of the stream or of a line (diff lines
    start with "+", "-", " ", "@" or "\\\\", never "\\x01")."""
    first = HEADER.match(data, 0)
    headers = [first] if first else []
    at = data.find(b"\n\x01")
    while at >= 0:
        header = HEADER.match(data, at + 1)
        if header:
            headers.append(header)
        at = data.find(b"\n\x01", at + 2)
    return headers
