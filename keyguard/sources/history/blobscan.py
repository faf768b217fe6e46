"""Scanning distinct blobs with the tree scan's own unit, `keyguard.pipeline.scan.scan_bytes`.

So syntax-tree call sites, aliases, notebooks, config files and ignore comments behave in
history exactly as in a working-tree scan. Each job is (blob name, path it is scanned as);
the path decides the document kind (.py, .ipynb, text). Workers of the process pool read
their blobs with their own `git cat-file`, so contents never travel between processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from keyguard.pipeline.scan import POOL_MIN_FILES, Engine, FileResult, _engine, scan_bytes
from keyguard.sources.history.git import Git
from keyguard.sources.history.objects import MISSING, ObjectReader, blob_sizes, read_blobs

LFS_POINTER = b"version https://git-lfs.github.com/spec/"
LFS_REASON = "Git LFS pointer (the content is not in git)"
UNREADABLE = "missing or corrupt object"


@dataclass(frozen=True)
class Job:
    """Scan blob `blob` as the file `path` (display path, relative to the current directory)."""

    blob: str
    path: str


def scan_blob(job: Job, data: bytes | None, engine: Engine) -> FileResult:
    """One blob's findings; LFS pointers and unreadable objects are skipped with a reason."""
    if data is None:
        return FileResult(job.path, skipped=UNREADABLE)
    if data.startswith(LFS_POINTER) and len(data) < 1024:
        return FileResult(job.path, skipped=LFS_REASON)
    try:
        return scan_bytes(job.path, data, engine)
    except RecursionError:
        return FileResult(job.path, skipped="too deeply nested to analyse")


def _scan_in_process(git: Git, jobs: Sequence[Job], engine: Engine,
                     reader: ObjectReader | None = None) -> Iterator[tuple[Job, FileResult]]:
    names = [job.blob for job in jobs]
    contents = reader.read(names) if reader is not None else read_blobs(git, names)
    for job, (_, data) in zip(jobs, contents):
        yield job, scan_blob(job, data, engine)


def _worker(args: tuple[str, str, tuple[str, ...], frozenset[str], list[Job]]) -> list[tuple[Job, FileResult]]:
    root, binary, extra, selected, jobs = args
    return list(_scan_in_process(Git(root, binary), jobs, _engine(extra, selected)))


def scan_blobs(git: Git, jobs: Sequence[Job], engine: Engine, extra: tuple[str, ...],
               workers: int, sizes: dict[str, int], reader: ObjectReader | None = None
               ) -> Iterable[tuple[Job, FileResult]]:
    """(job, result) for every job; in a process pool when there are many and workers > 1
    (`reader`, when given, reads them in this process)."""
    if reader is not None or workers <= 1 or len(jobs) < POOL_MIN_FILES:
        yield from _scan_in_process(git, jobs, engine, reader)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    total = sum(max(sizes.get(j.blob, 0), 0) for j in jobs)
    limit = max(min(4 << 20, total // (workers * 4) + 1), 1)
    batches: list[list[Job]] = [[]]
    size = 0
    for job in jobs:
        batches[-1].append(job)
        size += max(sizes.get(job.blob, 0), 0)
        if size >= limit or len(batches[-1]) >= 512:
            batches.append([])
            size = 0
    tasks = [(git.root, git.binary, extra, engine.selected, b) for b in batches if b]
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context(method)) as pool:
        for batch in pool.map(_worker, tasks):
            yield from batch


def scan_jobs(git: Git, jobs: Sequence[Job], engine: Engine, extra: tuple[str, ...],
              workers: int, max_size: int, reader: ObjectReader | None = None
              ) -> Iterator[tuple[Job, FileResult]]:
    """(job, result) for every job: blobs git cannot read come back skipped as UNREADABLE
    and blobs over `max_size` bytes as too large, without being read. `reader`: read with
    these open cat-file processes, in this process, instead of starting new ones."""
    names = {job.blob for job in jobs}
    sizes = reader.sizes(names) if reader is not None else blob_sizes(git, names)
    to_scan: list[Job] = []
    for job in jobs:
        size = sizes.get(job.blob, MISSING)
        if size == MISSING:
            yield job, FileResult(job.path, skipped=UNREADABLE)
        elif size > max_size:
            yield job, FileResult(job.path, skipped=f"larger than {max_size // (1024 * 1024)} MB")
        else:
            to_scan.append(job)
    yield from scan_blobs(git, to_scan, engine, extra, workers, sizes, reader)


def default_workers(jobs: int | None) -> int:
    return jobs or os.cpu_count() or 1
