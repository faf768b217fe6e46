"""Which commits to scan, and which blob each commit introduced at which path.

`Listing` (`list_commits`) resolves the user's revisions with `git rev-list` (anything it accepts:
`--all`, `origin/main..HEAD`, `A..B --since=2024-01-01`), parents before children.
`iter_changes` streams `git log --raw` over exactly those commits: one `Change` per blob a
commit put at a path, including blobs made by a merge resolution (`-c`: files that differ
from every parent); the scan reads the same raw entries from its diff pass (`raw_rows`) and
uses `iter_changes` for merges and for commits git could not diff. Deletions are dropped; renames are a delete and an add (`--no-renames`:
the key is then also at the new path, from the renaming commit on).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from keyguard.sources.history.git import Git, GitError

SUBMODULE_MODE = b"160000"
SYMLINK_MODE = b"120000"
NULL_SHA = "0" * 40
_NULL = NULL_SHA.encode()


class Change(NamedTuple):
    """Commit `commit` (authored at `date`, ISO 8601) put blob `blob` at `path` (raw bytes).

    `mode` is git's file mode ("100644", "120000" symlink, "160000" submodule); `merge` says
    the commit is a merge and the blob is its resolution (differs from every parent). A
    named tuple: a history has one per file version, and these are built ~4x faster.
    """

    commit: str
    date: str
    path: bytes
    blob: str
    mode: bytes
    merge: bool


class CommitList(NamedTuple):
    """The selected commits, oldest first (parents before children). `parents` (commit ->
    parent SHAs) when rev-list printed the true parents, else None; `every_ref` when the
    selection is every commit of every ref (so `parents` is the whole graph)."""

    order: list[str]
    parents: dict[str, list[str]] | None
    every_ref: bool = False


class Listing:
    """`git rev-list` over the commits `revisions` select, started at construction and read by
    `result()`, so that git lists the commits while the caller goes on (keyguard imports its
    scanners and loads its configuration meanwhile). The parents come along (`--parents`, at
    no cost) when there are no paths and no options besides `--all`: paths make rev-list
    rewrite parents and change the list itself, and options such as `--first-parent` drop
    parents."""

    def __init__(self, git: Git, revisions: Sequence[str], pathspecs: Sequence[str]) -> None:
        self.revisions = list(revisions)
        self.every_ref = not pathspecs and self.revisions == ["--all"]
        self.graph = self.every_ref or (
            not pathspecs and all(not r.startswith("-") for r in self.revisions))
        self._proc = git.popen(["rev-list", "--reverse", "--topo-order", "--full-history",
                                *(["--parents"] if self.graph else []), *self.revisions, "--",
                                *pathspecs])
        # Read as git writes (a listing outgrows the pipe), so that `running` says when git
        # is done, not when the pipe is full; read in the thread too (8 ms for 10,000
        # commits), which the scan would otherwise wait for when it asks for the result.
        self._error: bytes | None = None
        self._listed: CommitList | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        out, err = self._proc.communicate()
        if self._proc.returncode != 0:
            self._error = err
        elif not self.graph:
            self._listed = CommitList(out.decode().split(), None)
        else:
            parents: dict[str, list[str]] = {}
            for line in out.decode().splitlines():
                commit, *rest = line.split()
                parents[commit] = rest
            self._listed = CommitList(list(parents), parents, self.every_ref)

    def running(self) -> bool:
        """Whether git is still listing."""
        return self._reader.is_alive()

    def result(self) -> CommitList:
        """The commits, oldest first; GitError when rev-list does not accept the revisions."""
        self._reader.join()
        if self._listed is None:
            message = (self._error or b"").decode("utf-8", "replace").strip().splitlines()
            detail = message[0] if message else "no message"
            raise GitError(f"git rev-list does not accept {' '.join(self.revisions)!r}: {detail}")
        return self._listed

    def stop(self) -> None:
        """End the listing unread (the scan it was for will not run)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._reader.join()


def list_commits(git: Git, revisions: Sequence[str], pathspecs: Sequence[str]) -> CommitList:
    """The commits `revisions` select (`Listing`, read at once)."""
    return Listing(git, revisions, pathspecs).result()


# The most commits one `git log` is given: its memory grows with the history it shows
# (34,075 merges of a PennyLane mirror in one `git log --raw -c`: 402 MB; 5,000: 113 MB).
COMMITS_PER_RUN = 5_000


def iter_changes(git: Git, commits: Sequence[str], pathspecs: Sequence[str],
                 only: str = "") -> Iterator[Change]:
    """Each blob each of `commits` (in that order) introduced, streamed from `git log --raw`
    (one run per COMMITS_PER_RUN commits). `only` is "" (every commit), "--merges" or
    "--no-merges"."""
    args = ["-z", "--raw", "-c", "--no-abbrev", "--no-renames", "--no-ext-diff", "--no-textconv",
            *([only] if only else []), "--format=%x01%H %aI %P", "--", *pathspecs]
    known: dict[bytes, bytes] = {}
    for start in range(0, len(commits), COMMITS_PER_RUN):
        for record in git.log_records(args, commits[start:start + COMMITS_PER_RUN], b"\x01"):
            yield from _parse_record(record, known)


def _parse_record(record: bytes, known: dict[bytes, bytes] | None = None) -> Iterator[Change]:
    """One commit of `git log -z --raw -c --format=%x01%H %aI %P` output."""
    if not record.strip(b"\0\n"):
        return
    header, _, body = record.partition(b"\0")
    fields = header.decode().split()
    commit, date, merge = fields[0], fields[1], len(fields) > 3
    tokens = body.lstrip(b"\n\0").split(b"\0")
    for path, blob, mode in raw_rows(zip(tokens[::2], tokens[1::2]), known):
        yield Change(commit, date, path, blob, mode, merge)


def raw_rows(entries: Iterable[tuple[bytes, bytes]], known: dict[bytes, bytes] | None = None
             ) -> list[tuple[bytes, str, bytes]]:
    """(path, blob, mode) of each blob one commit put at a path, from its raw diff entries
    given as (":<modes> <blobs> <status>", path) pairs (`git log -z --raw [-c]`). With
    `known`, each path and mode is the first equal one it holds (added when new): a history
    has few paths and modes and many changes, and the shared objects are pickled once."""
    rows = []
    for meta, path in entries:
        if not meta.startswith(b":"):
            continue
        parts = meta.lstrip(b":").split()
        n = (len(parts) - 1) // 2  # modes (parents + result), then as many blob names, status
        if n < 2:
            continue
        blob = parts[2 * n - 1]
        if blob != _NULL:  # not deleted in this commit
            mode = parts[n - 1]
            if known is not None:
                path, mode = known.setdefault(path, path), known.setdefault(mode, mode)
            rows.append((path, blob.decode(), mode))
    return rows
