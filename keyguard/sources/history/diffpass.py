"""One `git log -p --raw` pass over the commits: the gate's diff sections and each commit's
changes come from the same stream, so git walks and diffs the history once.

Per commit the stream (`-z --raw -p --format=%x01%H %aI %P`) holds

    "\\x01" <sha> " " <author date> " " <parents> "\\0\\n"
    (":" <modes> " " <blobs> " " <status> "\\0" <path> "\\0")...   raw entries
    "\\0diff --git " <first section> ("\\ndiff --git " <section>)...

It is read in blocks of about a megabyte cut before a "\\ndiff --git " or a commit header
(git.log_blocks), so every block holds whole sections and headers, and the gate tests a block's sections together
(one search per block for what can make a section pass). A header is only recognised at the
start of the stream or of a line, where diff content cannot put a "\\x01" (each patch line
starts with "+", "-", " ", "@" or "\\\\").

Merge commits are not diffed here (`--no-merges`): `merge_changes` reads their resolutions
with `git log --raw -c --merges`, which needs no blob contents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

from keyguard.sources.history.commits import COMMITS_PER_RUN, Change, iter_changes, raw_rows
from keyguard.sources.history.early import HEADER, PASS_LOG, EarlyLog
from keyguard.sources.history.gate import Gate
from keyguard.sources.history.git import Git, GitError
from keyguard.sources.history.objects import ObjectReader

if TYPE_CHECKING:
    from keyguard.pipeline.scan import Engine, FileResult
    from keyguard.sources.history.blobscan import Job

_SECTION = b"\ndiff --git "
_FIRST_SECTION = b"\0diff --git "
_HEADER_START = b"\n\x01"
_SHARE_PARTS = 8  # no part but the last is under 1/8 of a worker's share of the commits
# Nor over COMMITS_PER_RUN (on a 137,138-commit mirror the largest `git log -p` took 263 MB
# with parts of 8,600 commits, 304 MB with one of 34,000, 200 MB with 5,000).
_LARGEST_PART = COMMITS_PER_RUN

# commit -> its changes as (path, blob, mode) with the commit's author date
Changes = dict[str, tuple[str, list[tuple[bytes, str, bytes]]]]
Scanned = list[tuple["Job", "FileResult"]]
PassResult = tuple[set[str], set[str], Changes, Scanned]
# Called in the process that ran a part of the pass, with (git, engine, the part's changes,
# the blobs its gate passed, the blobs it showed as text): the scans that part can do now.
# The last argument reads the blobs (the process's cat-file, kept open over its parts).
PartScan = Callable[[Git, "Engine", Changes, set[str], set[str], ObjectReader], Scanned]
# The worker process's reader (set by the pool's initializer), or None in the main process.
_READER: ObjectReader | None = None


def _start_worker(git: Git) -> None:
    """Pool initializer: the worker keeps one pair of cat-file processes for all its parts,
    and ends them (and waits for them) as it exits: left to the kernel, they would be
    orphans that a container's init may never reap."""
    from multiprocessing.util import Finalize

    global _READER
    _READER = ObjectReader(git)
    Finalize(_READER, _READER.close, exitpriority=10)  # run by the worker's exit


class _Stream:
    """Feeds the blocks of one `git log` run to the gate and collects the changes."""

    def __init__(self, gate: Gate, changes: Changes) -> None:
        self.gate = gate
        self.changes = changes
        self.showing: str | None = None  # the commit whose header was read last
        self.known: dict[bytes, bytes] = {}  # paths and modes, each kept once (raw_rows)

    def block(self, block: bytes) -> None:
        """Whole records: commit headers with their raw entries, and diff sections. A block
        starts at the stream's start, a "\\ndiff --git " or a "\\n\\x01" (a commit header)
        and ends before the next one."""
        marks: list[tuple[int, int]] = []  # (where a section starts, where its text begins)
        at = block.find(_SECTION)
        while at >= 0:
            marks.append((at, at + len(_SECTION)))
            at = block.find(_SECTION, at + 1)
        at = block.find(b"\x01")  # one byte: memchr, faster than a two-byte search
        while at >= 0:
            header = HEADER.match(block, at) if at == 0 or block[at - 1] == 0x0A else None
            if header:
                raw_end = self._raw_entries(block, header)
                marks.append((at, -1))  # a header ends the section before it
                if block.startswith(_FIRST_SECTION, raw_end):
                    marks.append((raw_end, raw_end + len(_FIRST_SECTION)))
            at = block.find(b"\x01", at + 1)
        marks.sort()
        sections = [(text, marks[i + 1][0] if i + 1 < len(marks) else len(block))
                    for i, (_, text) in enumerate(marks) if text >= 0]
        self.gate.block(block, sections)

    def _raw_entries(self, block: bytes, header: re.Match[bytes]) -> int:
        """Record the commit's raw entries; the offset just after them."""
        line = header.group(0)[1:-1]
        at = header.end()
        if block.startswith(b"\n", at):
            at += 1
        entries: list[tuple[bytes, bytes]] = []
        while block.startswith(b":", at):
            meta_end = block.find(b"\0", at)
            path_end = block.find(b"\0", meta_end + 1) if meta_end >= 0 else -1
            if path_end < 0:
                break
            entries.append((block[at:meta_end], block[meta_end + 1:path_end]))
            at = path_end + 1
        commit = header.group(1).decode()
        self.changes[commit] = (line.split(b" ", 2)[1].decode(), raw_rows(entries, self.known))
        self.showing = commit
        return at


def _diff_pass(args: tuple[Git, list[str], list[str], Engine | None,
                            tuple[tuple[str, ...], frozenset[str]], PartScan | None]) -> PassResult:
    git, commits, specs, engine, engine_key, part_scan = args
    if engine is None:  # in a worker process: the same engine, rebuilt from its key
        from keyguard.pipeline.scan import _engine

        engine = _engine(*engine_key)
    gate = Gate(engine)
    changes: Changes = {}
    stream = _Stream(gate, changes)
    log = [*PASS_LOG, "--", *specs]
    # Newest first (`commits` is parents first): the pack stores older versions as deltas
    # of newer ones, so git then resolves each version from the one it just read; callgrind
    # counted 10% fewer instructions for `git log` over the same 2,500 commits.
    remaining = commits[::-1]
    suspects: list[str] = []
    while remaining:
        stream.showing = None
        try:
            for block in git.log_blocks(log, remaining, (_SECTION, _HEADER_START)):
                stream.block(block)
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
    if part_scan is None:
        return gate.scan, gate.seen, changes, []
    reader = _READER or ObjectReader(git)
    try:
        scanned = part_scan(git, engine, changes, gate.scan, gate.seen, reader)
    finally:
        if reader is not _READER:
            reader.close()
    return gate.scan, gate.seen, changes, scanned


def _parts(commits: list[str], workers: int) -> list[list[str]]:
    """`commits` cut into consecutive parts, largest first (guided self-scheduling): each
    part is 1/(2 x workers) of the commits not yet given out, none is smaller than
    1/(8 x workers) of all, and none larger than _LARGEST_PART. Commits differ wildly in diff
    size (a docs build adds megabytes), so a worker that finishes early takes the next part,
    and the small last parts leave little for one worker alone at the end. Few parts,
    because each starts a `git log` whose caches start cold: first reads resolve whole delta
    chains again (git alone, 15 paired runs on 10,000 commits: 16 equal parts 1.30 s CPU,
    2 parts 1.23 s, these 9 parts 2.5% under the 16)."""
    smallest = -(-len(commits) // (workers * _SHARE_PARTS))
    parts: list[list[str]] = []
    at = 0
    while at < len(commits):
        size = min(max(smallest, -(-(len(commits) - at) // (2 * workers))), _LARGEST_PART)
        parts.append(commits[at:at + size])
        at += size
    return parts


def _spans(commits: list[str], runs: list[list[str]]) -> list[list[str]]:
    """`commits` cut where each of `runs` (consecutive pieces of a subsequence of it, in
    order) starts: the commits between two runs' starts go with the first of them, those
    before the first run with it, all of them in one span when there is no run."""
    if not runs:
        return [commits] if commits else []
    index = {c: i for i, c in enumerate(commits)}
    cuts = [0, *(index[run[0]] for run in runs[1:]), len(commits)]
    return [commits[a:b] for a, b in pairwise(cuts)]


def prepare_pass(engine: Engine) -> None:
    """Before a pass in forked workers: import the process pool and build what every process
    scans with (`Engine.prepare`, the gate's rule groups), once, in the process that forks
    them; each worker would otherwise build its own. Cheap when called again."""
    import concurrent.futures.process  # noqa: F401  (the pool, forked next)

    engine.prepare()
    Gate(engine)


class DiffGate:
    """The combined pass, started at construction: with `workers` > 1 the commits are split
    into parts that worker processes (forked now, from the calling thread) run one
    `git log -p --raw` each over, so the caller can do other work before `result()`.

    With `early` (the head start, keyguard.sources.history.early), the commits it wrote
    whole are taken from it, and the parts hold the rest; this process gates them while the
    workers run. Each part then also carries the head start's commits that lie among its
    own, so that parts still come in commit order.
    """

    def __init__(self, git: Git, commits: Sequence[str], specs: Sequence[str], engine: Engine,
                 *, workers: int = 1, extra: tuple[str, ...] = (),
                 part_scan: PartScan | None = None, early: EarlyLog | None = None) -> None:
        key = (extra, engine.selected)
        commits = list(commits)
        self._git, self._engine, self._part_scan = git, engine, part_scan
        self._early_data, written = early.take() if early is not None else (b"", [])
        listed = set(commits)
        self._written = {c for c in written if c in listed}
        todo = [c for c in commits if c not in self._written] if self._written else commits
        self._args = (git, todo, list(specs), engine, key, part_scan)
        self._pool = None
        self._futures: list = []
        runs: list[list[str]] = [todo] if todo else []
        if todo and workers > 1 and len(todo) >= 200:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            runs = _parts(todo, workers)
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            if method == "fork":
                prepare_pass(engine)
            self._pool = ProcessPoolExecutor(max_workers=workers,
                                             mp_context=multiprocessing.get_context(method),
                                             initializer=_start_worker, initargs=(git,))
            self._futures = [
                self._pool.submit(_diff_pass, (git, run, list(specs), None, key, part_scan))
                for run in runs]
        self._runs = runs
        self.chunks = _spans(commits, runs)

    def parts(self) -> Iterator[tuple[list[str], PassResult]]:
        """(the part's commits, in the order given, and what `result` gives for them) for
        each part in commit order, each as soon as it is done: the caller works on one part
        while the workers run the later ones."""
        early = self._early_part()  # first: this process's share, while the workers run
        try:
            for i, chunk in enumerate(self.chunks):
                if i >= len(self._runs):  # the head start wrote every commit
                    part: PassResult = (set(), set(), {}, [])
                elif self._pool is None:
                    part = _diff_pass(self._args)
                else:
                    part = self._futures[i].result()
                    # The caller keeps what it needs of the part; a future still holding it
                    # all held every part's changes twice (53 MB of Cirq's 137 MB).
                    self._futures[i] = None
                if early is not None and i == 0:  # its gate's blobs and scans: any part will do
                    part = (part[0] | early[0], part[1] | early[1], part[2], part[3] + early[3])
                if early is not None:
                    changes = early[2]
                    part[2].update((c, changes[c]) for c in chunk if c in changes)
                yield chunk, part
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)

    def _early_part(self) -> PassResult | None:
        """The gate and the part scan over the head start's whole commits (None without)."""
        if not self._written:
            return None
        gate = Gate(self._engine)
        changes: Changes = {}
        _Stream(gate, changes).block(self._early_data)
        self._early_data = b""
        changes = {c: entry for c, entry in changes.items() if c in self._written}
        scanned: Scanned = []
        if self._part_scan is not None:
            reader = ObjectReader(self._git)
            try:
                scanned = self._part_scan(self._git, self._engine, changes, gate.scan,
                                          gate.seen, reader)
            finally:
                reader.close()
        return gate.scan, gate.seen, changes, scanned

    def result(self) -> PassResult:
        """(blobs whose added lines may hold something new, blobs the pass showed as text,
        each non-merge commit's changes, what `part_scan` scanned in each part)."""
        scan: set[str] = set()
        seen: set[str] = set()
        changes: Changes = {}
        scanned: Scanned = []
        for _, (part_scan, part_seen, part_changes, part_scanned) in self.parts():
            scan |= part_scan
            seen |= part_seen
            changes.update(part_changes)
            scanned.extend(part_scanned)
        return scan, seen, changes, scanned


def ordered_changes(commits: Sequence[str], changes: Changes,
                    merges: Sequence[Change] | dict[str, list[Change]]) -> list[Change]:
    """Every change in commit order (parents before children, as `commits`), from the pass's
    changes and the merges' resolutions (a list, or `by_commit` of it)."""
    by_merge = merges if isinstance(merges, dict) else by_commit(merges)
    ordered: list[Change] = []
    for commit in commits:
        entry = changes.get(commit)
        if entry is not None:
            date, rows = entry
            for path, blob, mode in rows:  # a loop, not extend(genexpr): half the time
                ordered.append(Change(commit, date, path, blob, mode, False))
        else:
            ordered.extend(by_merge.get(commit, ()))
    return ordered


def by_commit(changes: Iterable[Change]) -> dict[str, list[Change]]:
    """Commit -> its changes, in the order given."""
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.commit, []).append(change)
    return grouped


def merge_changes(git: Git, commits: Sequence[str], specs: Sequence[str]) -> list[Change]:
    """The blobs merge resolutions among `commits` made (files differing from every parent)."""
    return list(iter_changes(git, commits, specs, "--merges"))
