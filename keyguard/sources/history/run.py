"""`keyguard scan --history`: the pipeline over a repository's commits.

commits (rev-list) -> one `log -p --raw` pass, the newest commits from its head start
(early) and the rest in worker processes: each commit's changes and the diff gate, then the
scans its part needs (diffpass) -> merges' resolutions (log --raw -c)
-> distinct blobs -> scan each blob once (scan_bytes) -> first sighting per (secret, path)
-> HEAD status, refs -> findings.
Every problem a repository can have (shallow, empty, submodules, LFS, huge, binary, missing
or corrupt objects) becomes a skip count or a note; only "no git / not a repository / bad
revision" is an error (GitError, exit 2).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from keyguard.config import Config
from keyguard.model import Finding, Location
from keyguard.pipeline.scan import Engine, FileResult, ScanResult, _engine
from keyguard.rulepack.load import load_ruleset
from keyguard.sources.history.attribute import first_sightings, history_finding
from keyguard.sources.history.blobscan import Job, default_workers, scan_blob, scan_jobs
from keyguard.sources.history.commits import (
    SUBMODULE_MODE,
    SYMLINK_MODE,
    Change,
    CommitList,
)
from keyguard.sources.history.diffpass import (
    Changes,
    DiffGate,
    Scanned,
    by_commit,
    merge_changes,
    ordered_changes,
    prepare_pass,
)
from keyguard.sources.history.gate import select
from keyguard.sources.history.git import Git
from keyguard.sources.history.objects import ObjectReader, read_blobs
from keyguard.sources.history.paths import BINARY, EXCLUDED, DisplayPaths, PathInfo, kind_of
from keyguard.sources.history.start import ALL_REFS, HistoryStart, head_tree_of, start_history


@dataclass
class HistoryResult(ScanResult):
    """A ScanResult whose `files_scanned` counts distinct blobs; `commits` the commits read."""

    commits: int = 0
    repository: str = ""
    gated_out: int = 0  # distinct blobs the diff gate showed need no scan


def scan_history(paths: Sequence[str], revisions: str, config: Config,
                 start: HistoryStart | None = None) -> HistoryResult:
    """Scan the commits `revisions` selects (see `parse_revisions`) in the repository holding
    `paths[0]`, limited to `paths`; `start`, when given, is that scan's `start_history`
    (made before the configuration was loaded). GitError for no git / not a repository /
    bad revision."""
    start = start or start_history(paths, revisions)
    try:
        with _fewer_collections():
            return _scan_history(start, config)
    finally:
        if start.early is not None:  # taken by the pass, unless the scan ended before it
            start.early.stop()


@contextmanager
def _fewer_collections(allocations: int = 200_000) -> Iterator[None]:
    """The cyclic garbage collector's youngest generation collected every `allocations`
    container allocations instead of every 700 (as mypy does), here and in the pass's worker
    processes (forked with it). A history builds a few hundred thousand small tuples that
    live to the end of the scan (changes, rows, jobs) and form no cycle; the default walks
    them again and again: 20-30 ms of a 1.4 s scan of 10,000 commits."""
    before = gc.get_threshold()
    gc.set_threshold(allocations, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _scan_history(start: HistoryStart, config: Config) -> HistoryResult:
    git, specs, words = start.git, start.specs, start.words
    result = HistoryResult(repository=git.root)
    where = os.path.relpath(git.root) if git.root else "."
    if start.listing is None:
        result.notes.append((where, "the repository has no commits yet: no history to scan"))
        return result
    if start.boundary:
        result.notes.append((where, (
            f"shallow clone: the history before {len(start.boundary)} commit(s) (e.g. "
            f"{start.boundary[0][:12]}) is not in this clone and was not scanned; "
            "`git fetch --unshallow` fetches it")))
    head_tree = head_tree_of(start)  # read first: the started ls-tree ends whatever follows
    scan_notes = len(result.notes)
    shown = DisplayPaths(git.root, config)
    engine = _engine(tuple(config.extend_rules), load_ruleset(tuple(config.extend_rules)).select(
        config.select, config.ignore))
    workers = default_workers(config.jobs)
    head_blobs = set(head_tree.values())
    # Every blob of HEAD is then in some selected commit, and HEAD's blobs are scanned
    # whatever the gate says: this process scans them while git lists the commits, and what
    # is left while the pass runs in its workers.
    scan_head_early = words == [ALL_REFS]
    unreadable: dict[str, str] = {}
    results: dict[tuple[str, str], FileResult] = {}
    head_jobs: list[Job] = []
    if scan_head_early:
        early: dict[tuple[str, str], Job] = {}
        for raw, blob in head_tree.items():
            info = shown.info(raw)
            if not info.left_out:
                _add_job(early, blob, info)
        head_jobs = list(early.values())
        if workers > 1:  # a whole history: a parallel pass, surely
            prepare_pass(engine)
        # While git lists the commits, HEAD's blobs are scanned (until the listing is done:
        # the rest are scanned while the pass runs).
        head_jobs = _scan_while(start.listing.running, git, head_jobs, engine, config, result,
                                results, unreadable)
    listed = start.listing.result()
    commits = listed.order
    result.commits = len(commits)
    if not commits:
        result.notes.append((where, f"no commits in {' '.join(words)}: nothing to scan"))
        return result
    # The combined pass (git log -p --raw, the longest step) runs in worker processes, which
    # then scan what their part of the history needs scanning; this process reads the
    # merges' resolutions and scans the rest of HEAD's blobs meanwhile.
    part_scan = PartScan(git.root, config, frozenset(head_blobs if scan_head_early else ()))
    gate = DiffGate(git, commits, specs, engine, workers=workers, extra=tuple(config.extend_rules),
                    part_scan=part_scan, early=start.early)
    if listed.parents is not None:
        merges = merge_changes(git, [c for c in commits if len(listed.parents[c]) > 1], specs)
    else:  # which commits are merges is not known: git tells, over all of them
        merges = merge_changes(git, commits, specs)
    _scan_jobs(git, head_jobs, engine, config, 1, result, results, unreadable)
    # Each part's changes are put in order as it arrives, while the workers run the next.
    by_merge = by_commit(merges)
    collected = _Collected(shown)
    gate_scan: set[str] = set()
    gate_seen: set[str] = set()
    scanned: Scanned = []
    for chunk, (part_passed, part_seen, part_changes, part_scanned) in gate.parts():
        gate_scan |= part_passed
        gate_seen |= part_seen
        scanned.extend(part_scanned)
        collected.add(ordered_changes(chunk, part_changes, by_merge))
    collected.count(result)
    changes, first = collected.changes, collected.first
    blobs = {blob for blob, _ in first}
    wanted = select(blobs, gate_scan, gate_seen, head_blobs)
    result.gated_out = len(blobs - wanted)
    # What the parts scanned and the whole history wants (a part cannot know that another
    # part showed a blob it never showed), once per blob and kind, as the path the history
    # first shows it at: a part that met the blob elsewhere first scanned it as another name,
    # which can read differently (a `.env` is a credential file, a `.txt` is not).
    kept: dict[tuple[str, str], tuple[Job, FileResult]] = {}
    for job, file_result in scanned:
        key = (job.blob, kind_of(job.path))
        if job.blob in wanted and first.get(key) == job.path and key not in results:
            kept.setdefault(key, (job, file_result))
    _keep(kept.values(), result, results, unreadable)
    _scan_jobs(git, [Job(blob, path) for (blob, kind), path in first.items()
                     if blob in wanted and (blob, kind) not in results],
               engine, config, workers, result, results, unreadable)
    # The scans' notes in one order whatever process scanned a blob first (which part of the
    # pass, or the head start, holds a commit depends on timing).
    result.notes[scan_notes:] = sorted(result.notes[scan_notes:])
    first_path: dict[str, str] = {}  # the path a blob is first seen at: names a missing one
    for (blob, _), path in first.items() if unreadable else ():
        first_path.setdefault(blob, path)
    order = {blob: i for i, blob in enumerate(first_path)}
    for blob in sorted(unreadable, key=lambda b: order.get(b, len(order))):
        path = first_path.get(blob, unreadable[blob])
        result.skip("missing or corrupt object")
        # Abbreviated as in `git log --oneline`: a full object id is key-shaped, and output
        # would redact it.
        result.notes.append((path, f"object {blob[:12]} is missing or corrupt: skipped, the "
                                   "scan went on (`git fsck` names what is damaged)"))

    reported, ignored = first_sightings(changes, results)
    head = _head_findings(git, shown, head_tree, {path for _, path in reported}, results, engine)
    refs = _refs(git, {seen.change.commit for seen in reported.values()},
                 listed if listed.every_ref else None)
    for (fingerprint, path), seen in reported.items():
        location = head.get((fingerprint, path))
        result.findings.append(history_finding(
            seen, in_head=location is not None, refs=refs.get(seen.change.commit, ()),
            head_location=location))
    for seen in ignored.values():
        result.ignored.append((history_finding(seen, in_head=False, refs=(), head_location=None),
                               seen.reason or "ignored"))
    if config.per_file_ignores:
        from keyguard.filter.ignores import apply_per_file_ignores

        result.findings, per_file = apply_per_file_ignores(result.findings, config)
        result.ignored.extend(per_file)
    result.findings.sort(key=_order)
    result.ignored.sort(key=lambda item: _order(item[0]))
    return result


def _scan_jobs(git: Git, jobs: list[Job], engine: Engine, config: Config, workers: int,
               result: HistoryResult, results: dict[tuple[str, str], FileResult],
               unreadable: dict[str, str]) -> None:
    """Scan `jobs` (oversized and missing blobs are counted, not read) into `results`."""
    _keep(scan_jobs(git, jobs, engine, tuple(config.extend_rules), workers, config.max_file_size),
          result, results, unreadable)


def _scan_while(going_on: Callable[[], bool], git: Git, jobs: list[Job], engine: Engine,
                config: Config, result: HistoryResult, results: dict[tuple[str, str], FileResult],
                unreadable: dict[str, str]) -> list[Job]:
    """Scan `jobs` in order (as `_scan_jobs`) while `going_on()` holds; the jobs left."""
    if not jobs or not going_on():
        return jobs
    scanned = scan_jobs(git, jobs, engine, tuple(config.extend_rules), 1, config.max_file_size)
    try:
        for job, file_result in scanned:
            _keep([(job, file_result)], result, results, unreadable)
            if not going_on():
                break
    finally:
        scanned.close()
    return [job for job in jobs if (job.blob, kind_of(job.path)) not in results]


@dataclass(frozen=True)
class PartScan:
    """Run in each worker of the diff pass, after its part: scans the blobs of that part the
    history scan will want (the gate passed them, or the part never showed them as text:
    binary files, a section git cut short), except `skip` (HEAD's, which the main process
    scans), so that these scans overlap the rest of the pass instead of following it.
    Excluded paths, submodules and symbolic links are left out as `_Collected` leaves them
    out. The main process keeps only what the whole history wants: a part cannot know that
    another part showed a blob as text.

    Immutable on purpose: the pool pickles each part's task in a thread while the main
    process goes on, so a shared cache it fills (its DisplayPaths) would change under the
    pickler ("dictionary changed size during iteration"). Each part builds its own."""

    root: str
    config: Config
    skip: frozenset[str]

    def __call__(self, git: Git, engine: Engine, changes: Changes, scan: set[str],
                 seen: set[str], reader: ObjectReader) -> Scanned:
        jobs: dict[tuple[str, str], Job] = {}
        shown = DisplayPaths(self.root, self.config)
        for _, rows in changes.values():
            for raw, blob, mode in rows:
                if mode in (SUBMODULE_MODE, SYMLINK_MODE) or blob in self.skip or (
                        blob in seen and blob not in scan):
                    continue
                info = shown.info(raw)
                if not info.left_out:
                    _add_job(jobs, blob, info)
        return list(scan_jobs(git, list(jobs.values()), engine, tuple(self.config.extend_rules),
                              1, self.config.max_file_size, reader))


def _add_job(jobs: dict[tuple[str, str], Job], blob: str, info: PathInfo) -> None:
    """Scan `blob` as the first path it is seen at, once per document kind. (Not setdefault:
    its argument would build a Job for each of a history's changes.)"""
    key = (blob, info.kind)
    if key not in jobs:
        jobs[key] = Job(blob, info.shown)


def _keep(scanned: Iterable[tuple[Job, FileResult]], result: HistoryResult,
          results: dict[tuple[str, str], FileResult], unreadable: dict[str, str]) -> None:
    for job, file_result in scanned:
        _count(result, job, file_result, unreadable)
        results[(job.blob, kind_of(job.path))] = file_result


class _Collected:
    """The changes of the history, added in commit order: `changes` holds (change, its path's
    info) of every blob the commits put somewhere, but for submodules, symbolic links (a
    link target, not content; tree scans do not follow links either), excluded paths and
    files binary by name; `first` maps (blob, document kind) to the first path the history
    shows it at, which is the path it is scanned as (once per kind). `count` puts what was
    left out into the result: excluded changes, binary blobs (each once), submodules."""

    def __init__(self, shown: DisplayPaths) -> None:
        self.shown = shown
        self.changes: list[tuple[Change, PathInfo]] = []
        self.first: dict[tuple[str, str], str] = {}
        self._submodules: set[str] = set()
        self._binary: set[str] = set()
        self._excluded = 0

    def add(self, ordered: Iterable[Change]) -> None:
        info, changes, first = self.shown.info, self.changes, self.first
        for change in ordered:
            if change.mode == SUBMODULE_MODE:
                self._submodules.add(self.shown.display(change.path))
                continue
            if change.mode == SYMLINK_MODE:
                continue
            path = info(change.path)
            if path.left_out:
                if path.left_out == BINARY:  # as in a tree scan: never read (a docs build's images)
                    self._binary.add(change.blob)
                else:
                    self._excluded += 1
                continue
            changes.append((change, path))
            key = (change.blob, path.kind)
            if key not in first:
                first[key] = path.shown

    def count(self, result: HistoryResult) -> None:
        if self._excluded:
            result.skip(EXCLUDED, self._excluded)
        if self._binary:
            result.skip(BINARY, len(self._binary))
        for name in sorted(self._submodules):
            result.skip("submodule (not followed)")
            result.notes.append((name, "submodule: not followed (scan its own repository)"))


def _order(finding: Finding) -> tuple[object, ...]:
    return (finding.commit_date or "", finding.commit or "", *finding.sort_key())


def _count(result: HistoryResult, job: Job, file_result: FileResult,
           unreadable: dict[str, str]) -> None:
    if file_result.skipped == "missing or corrupt object":
        unreadable.setdefault(job.blob, job.path)
        return
    if file_result.skipped:
        result.skip(file_result.skipped)
        return
    result.files_scanned += 1
    result.notes.extend((job.path, note) for note in file_result.notes
                        if not note.startswith("syntax error"))


def _head_findings(git: Git, shown: DisplayPaths, head_tree: dict[bytes, str], paths: set[str],
                   results: dict[tuple[str, str], FileResult], engine: object
                   ) -> dict[tuple[str, str], Location]:
    """(fingerprint, display path) -> location in HEAD, for the paths that have findings."""
    head_blobs = {shown.display(raw): blob for raw, blob in head_tree.items()}
    head_blobs = {path: blob for path, blob in head_blobs.items() if path in paths}
    missing = [Job(blob, path) for path, blob in head_blobs.items()
               if (blob, kind_of(path)) not in results]
    if missing:
        for job, (_, data) in zip(missing, read_blobs(git, [j.blob for j in missing])):
            results[(job.blob, kind_of(job.path))] = scan_blob(job, data, engine)  # type: ignore[arg-type]
    locations: dict[tuple[str, str], Location] = {}
    for path, blob in head_blobs.items():
        for finding in results[(blob, kind_of(path))].findings:
            locations.setdefault((finding.fingerprint, path), finding.location)
    return {key: _with_path(loc, key[1]) for key, loc in locations.items()}


def _with_path(location: Location, path: str) -> Location:
    return location if location.path == path else location._replace(path=path)


def _refs(git: Git, commits: set[str], graph: CommitList | None = None
          ) -> dict[str, tuple[str, ...]]:
    """Commit -> the refs (full names) whose history holds it, as `for-each-ref --contains`
    says, for every commit at once: each ref is a bit, and one walk of the commit graph
    (children before parents) passes each commit's bits to its parents. One `--contains`
    per commit walked the history once per finding (0.6 s for 20 findings in 10,000 commits).
    `graph`, when it holds the parents of every commit of every ref, saves the walk.
    """
    if not commits:
        return {}
    listing = git.run(["for-each-ref", "--format=%(refname)%00%(objecttype)%00%(objectname)"
                       "%00%(*objecttype)%00%(*objectname)"], check=False).stdout
    names: list[str] = []
    tips: dict[str, int] = {}
    nested: list[bytes] = []
    for line in listing.splitlines():
        fields = line.split(b"\0")
        if len(fields) != 5 or fields[0] == b"refs/stash":
            continue
        kind, target = (fields[3], fields[4]) if fields[3] else (fields[1], fields[2])  # a tag: its object
        if kind == b"tag":  # a tag of a tag: resolved below
            nested.append(fields[0])
        elif kind == b"commit":  # not refs/replace/ to a blob, nor a tag of a tree
            tips[target.decode()] = tips.get(target.decode(), 0) | (1 << len(names))
            names.append(fields[0].decode("utf-8", "replace"))
    if nested:
        peeled = git.run(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                         stdin=b"".join(n + b"^{commit}\n" for n in nested), check=False)
        for name, line in zip(nested, peeled.stdout.splitlines()):
            target, _, kind = line.partition(b" ")
            if kind == b"commit":
                tips[target.decode()] = tips.get(target.decode(), 0) | (1 << len(names))
                names.append(name.decode("utf-8", "replace"))
    if not tips:
        return {commit: () for commit in commits}
    pending: dict[str, int] = {}
    found: dict[str, tuple[str, ...]] = {}
    for commit, parents in _children_first(git, tips, graph):
        bits = pending.pop(commit, 0) | tips.get(commit, 0)
        for parent in parents:
            pending[parent] = pending.get(parent, 0) | bits
        if commit in commits:
            found[commit] = tuple(sorted(names[i] for i in range(len(names)) if bits >> i & 1))
    return {commit: found.get(commit, ()) for commit in commits}


def _children_first(git: Git, tips: dict[str, int], graph: CommitList | None
                    ) -> Iterator[tuple[str, list[str]]]:
    """(commit, parents) of every commit the tips reach, children before parents."""
    if graph is not None and graph.every_ref and graph.parents is not None:
        parents = graph.parents
        for commit in reversed(graph.order):
            yield commit, parents[commit]
        return
    walk = git.run(["rev-list", "--topo-order", "--parents", "--stdin"],
                   stdin="".join(f"{tip}\n" for tip in sorted(tips)).encode(), check=False)
    for line in walk.stdout.decode().splitlines():
        commit, *parents = line.split()
        yield commit, parents
