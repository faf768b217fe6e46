"""One `git log -p --raw` pass over the commits: the gate's diff sections and each commit's
changes come from the same stream, so git walks and diffs the history once.

Per commit the stream (`-z --raw -p --format=%x01%H %aI %P`) holds

    "\\x01" <sha> " " <author date> " " <parents> "\\0\\n"
    (":" <modes> " " <blobs> " " <status> "\\0" <path> "\\0")...   raw entries
    "\\0diff --git " <first section> ("\\ndiff --git " <section>)...

It is read in parts cut at "\\ndiff --git " (memory holds one file's diff at a time), so a
commit's header and raw entries sit at the end of the part that holds the previous commit's
last section, followed by the commit's first section. A header is only recognised at the
start of the stream or of a line, where diff content cannot put a "\\x01" (each patch line
starts with "+", "-", " ", "@" or "\\\\").

Merge commits are not diffed here (`--no-merges`): `merge_changes` reads their resolutions
with `git log --raw -c --merges`, which needs no blob contents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from keyguard.sources.history.commits import Change, iter_changes, raw_changes
from keyguard.sources.history.gate import Gate
from keyguard.sources.history.git import Git, GitError

if TYPE_CHECKING:
    from keyguard.pipeline.scan import Engine

_SECTION = b"\ndiff --git "
_FIRST_SECTION = b"\0diff --git "
_HEADER = re.compile(rb"\x01([0-9a-f]{40}|[0-9a-f]{64}) [^ \0\n]+(?: [0-9a-f]{40,64})* ?\0")
_PARTS_PER_WORKER = 8

# commit -> its changes as (path, blob, mode) with the commit's author date
Changes = dict[str, tuple[str, list[tuple[bytes, str, bytes]]]]
PassResult = tuple[set[str], set[str], Changes]


def _headers(part: bytes, start: int) -> list[re.Match[bytes]]:
    """The commit headers in `part` at or after `start`, each at a line start."""
    found = []
    at = 0 if part.startswith(b"\x01") and start == 0 else part.find(b"\n\x01", start)
    while at >= 0:
        begin = at if part[at] == 1 else at + 1
        match = _HEADER.match(part, begin)
        if match:
            found.append(match)
        at = part.find(b"\n\x01", begin + 1)
    return found


class _Stream:
    """Feeds the parts of one `git log` run to the gate and collects the changes."""

    def __init__(self, gate: Gate, changes: Changes) -> None:
        self.gate = gate
        self.changes = changes
        self.showing: str | None = None  # the commit whose header was read last

    def part(self, part: bytes) -> None:
        headers = _headers(part, 0)
        if not headers:
            self.gate.section(part)
            return
        if headers[0].start() > 0:  # the previous commit's last section
            self.gate.section(part[:headers[0].start()])
        for i, header in enumerate(headers):
            end = headers[i + 1].start() if i + 1 < len(headers) else len(part)
            at = self._raw_entries(part, header, end)
            if part.startswith(_FIRST_SECTION, at):
                self.gate.section(part[at + len(_FIRST_SECTION):end])

    def _raw_entries(self, part: bytes, header: re.Match[bytes], end: int) -> int:
        """Record the commit's raw entries; the offset just after them."""
        line = header.group(0)[1:-1]
        at = header.end()
        if part.startswith(b"\n", at):
            at += 1
        entries: list[tuple[bytes, bytes]] = []
        while part.startswith(b":", at):
            meta_end = part.find(b"\0", at, end)
            path_end = part.find(b"\0", meta_end + 1, end) if meta_end >= 0 else -1
            if path_end < 0:
                break
            entries.append((part[at:meta_end], part[meta_end + 1:path_end]))
            at = path_end + 1
        commit = header.group(1).decode()
        date = line.split(b" ", 2)[1].decode()
        self.changes[commit] = (date, [(c.path, c.blob, c.mode) for c in raw_changes(line, entries)])
        self.showing = commit
        return at


def _diff_pass(args: tuple[Git, list[str], list[str], Engine | None,
                            tuple[tuple[str, ...], frozenset[str]]]) -> PassResult:
    git, commits, specs, engine, engine_key = args
    if engine is None:  # in a worker process: the same engine, rebuilt from its key
        from keyguard.pipeline.scan import _engine

        engine = _engine(*engine_key)
    gate = Gate(engine)
    changes: Changes = {}
    stream = _Stream(gate, changes)
    # Deletions are left out (--diff-filter): a removed line adds no key (betterleaks does
    # the same); a deleted blob was scanned where it was added.
    log = ["-z", "--raw", "-p", "-U0", "--full-index", "--no-abbrev", "--no-merges",
           "--diff-filter=AMT", "--no-renames", "--no-ext-diff", "--no-textconv", "--no-color",
           "--format=%x01%H %aI %P", "--", *specs]
    remaining = list(commits)
    suspects: list[str] = []
    while remaining:
        stream.showing = None
        try:
            for part in git.log_records(log, remaining, _SECTION, chunk=1 << 20):
                stream.part(part)
            break
        except GitError:
            # git stops at the first object it cannot read (a missing or corrupt blob): go on
            # after the commit it was showing. That commit's last section may be cut short,
            # so its blobs stay unseen (scanned in full, or named as missing); the next
            # commit's header may have been lost with the unread tail. Both get their
            # changes from a raw-only pass, which reads no blob.
            at = remaining.index(stream.showing) if stream.showing in remaining else -1
            suspects.extend(remaining[max(at, 0):at + 2])
            remaining = remaining[at + 1:] if at >= 0 else remaining[1:]
    if suspects:
        for commit in dict.fromkeys(suspects):
            changes.pop(commit, None)
        for change in iter_changes(git, list(dict.fromkeys(suspects)), specs, "--no-merges"):
            changes.setdefault(change.commit, (change.date, []))[1].append(
                (change.path, change.blob, change.mode))
    return gate.scan, gate.seen, changes


class DiffGate:
    """The combined pass, started at construction: with `workers` > 1 the commits are split
    into parts that worker processes (forked now, from the calling thread) run one
    `git log -p --raw` each over, so the caller can do other work before `result()`."""

    def __init__(self, git: Git, commits: Sequence[str], specs: Sequence[str], engine: Engine,
                 *, workers: int = 1, extra: tuple[str, ...] = ()) -> None:
        self._args = (git, list(commits), list(specs), engine, (extra, engine.selected))
        self._pool = None
        self._futures: list = []
        if commits and workers > 1 and len(commits) >= 200:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # More parts than workers: commits differ wildly in diff size (a docs build adds
            # megabytes), and a worker that finishes its part early takes the next one.
            size = -(-len(commits) // (workers * _PARTS_PER_WORKER))
            chunks = [list(commits[i:i + size]) for i in range(0, len(commits), size)]
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(max_workers=workers,
                                             mp_context=multiprocessing.get_context(method))
            self._futures = [
                self._pool.submit(_diff_pass, (git, chunk, list(specs), None, (extra, engine.selected)))
                for chunk in chunks]

    def result(self) -> PassResult:
        """(blobs whose added lines may hold something new, blobs the pass showed as text,
        each non-merge commit's changes)."""
        if self._pool is None:
            return _diff_pass(self._args) if self._args[1] else (set(), set(), {})
        scan: set[str] = set()
        seen: set[str] = set()
        changes: Changes = {}
        try:
            for future in self._futures:
                part_scan, part_seen, part_changes = future.result()
                scan |= part_scan
                seen |= part_seen
                changes.update(part_changes)
        finally:
            self._pool.shutdown()
        return scan, seen, changes


def ordered_changes(commits: Sequence[str], changes: Changes, merges: Sequence[Change]
                    ) -> list[Change]:
    """Every change in commit order (parents before children, as `commits`), from the pass's
    changes and the merges' resolutions."""
    by_merge: dict[str, list[Change]] = {}
    for change in merges:
        by_merge.setdefault(change.commit, []).append(change)
    ordered: list[Change] = []
    for commit in commits:
        entry = changes.get(commit)
        if entry is not None:
            date, rows = entry
            ordered.extend(Change(commit, date, path, blob, mode, merge=False)
                           for path, blob, mode in rows)
        else:
            ordered.extend(by_merge.get(commit, ()))
    return ordered


def merge_changes(git: Git, commits: Sequence[str], specs: Sequence[str]) -> list[Change]:
    """The blobs merge resolutions among `commits` made (files differing from every parent)."""
    return list(iter_changes(git, commits, specs, "--merges"))
