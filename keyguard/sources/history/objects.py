"""Reading blobs from the object store with `git cat-file`, streamed.

`blob_sizes` asks `--batch-check` for sizes (cheap: no content is inflated), so huge blobs
are skipped without being read. `read_blobs` streams contents from one `--batch` process; a
writer thread feeds the names so neither side blocks. A missing object is reported as
missing; a corrupt one that kills cat-file is named and reading resumes after it.
`ObjectReader` answers both from cat-file processes kept open between calls.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from keyguard.sources.history.git import Git

MISSING = -1
_CHECK_FORMAT = "--batch-check=%(objectname) %(objecttype) %(objectsize)"
_DIED = object()  # cat-file stopped before (or while) answering


def _size_in(line: bytes) -> int:
    """The size a `_CHECK_FORMAT` answer gives, or MISSING (absent, or not a blob)."""
    parts = line.split()
    return int(parts[2]) if len(parts) == 3 and parts[1] == b"blob" else MISSING


def _next_answer(out: IO[bytes]) -> bytes | object | None:
    """The next `--batch` answer on `out`: the blob's content, None (missing, ambiguous or
    not a blob) or _DIED (cat-file died on this object, before or while streaming it)."""
    header = out.readline()
    if not header:
        return _DIED
    parts = header.split()
    if len(parts) != 3:  # "<name> missing" / "ambiguous"
        return None
    size = int(parts[2])
    data = out.read(size)
    out.read(1)  # the newline after the content
    if len(data) != size:
        return _DIED
    return data if parts[1] == b"blob" else None


def _feed(stream: object, names: Sequence[str]) -> None:
    try:
        for name in names:
            stream.write(name.encode() + b"\n")  # type: ignore[attr-defined]
        stream.close()  # type: ignore[attr-defined]
    except (BrokenPipeError, OSError, ValueError):
        pass  # cat-file died (a corrupt object): the reader notices and restarts


def blob_sizes(git: Git, names: Iterable[str]) -> dict[str, int]:
    """Blob name -> size in bytes, or MISSING for objects that are absent or not blobs."""
    names = list(names)
    if not names:
        return {}
    proc = git.run(["cat-file", _CHECK_FORMAT], stdin="".join(n + "\n" for n in names).encode(),
                   check=False)
    sizes: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        size = _size_in(line)
        if size != MISSING:
            sizes[line.split(None, 1)[0].decode()] = size
    return {n: sizes.get(n, MISSING) for n in names}


def read_blobs(git: Git, names: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
    """(name, content) for each name in order; content None when git cannot read it."""
    pending = list(names)
    while pending:
        done = 0
        proc = git.popen(["cat-file", "--batch"], stdin=True)
        assert proc.stdin is not None and proc.stdout is not None
        writer = threading.Thread(target=_feed, args=(proc.stdin, pending), daemon=True)
        writer.start()
        out = proc.stdout
        try:
            for name in pending:
                answer = _next_answer(out)
                if answer is _DIED:
                    break
                yield name, answer  # type: ignore[misc]
                done += 1
        finally:
            out.close()
            proc.kill() if proc.poll() is None else None
            proc.wait()
            writer.join(timeout=5)
        if done < len(pending):
            yield pending[done], None  # the object cat-file could not read
            done += 1
        pending = pending[done:]


class ObjectReader:
    """`blob_sizes` and `read_blobs` answered by two `git cat-file` processes (`--batch-check`
    and `--batch`) that stay open between calls: for a process that reads a few blobs at a
    time, many times over (each part of the diff pass), where starting two git processes per
    call cost more than the answers. Each name is answered before the next is written, so no
    pipe can fill up and block either side. A process that dies (a corrupt object kills
    cat-file) is started again for the next name. `close()` ends both."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def _ask(self, kind: str, name: str) -> subprocess.Popen[bytes] | None:
        proc = self._procs.get(kind)
        if proc is None or proc.poll() is not None:
            self._end(kind)
            args = ["cat-file", _CHECK_FORMAT if kind == "check" else "--batch"]
            proc = self._procs[kind] = self.git.popen(args, stdin=True)
        assert proc.stdin is not None
        try:
            proc.stdin.write(name.encode() + b"\n")
            proc.stdin.flush()
        except OSError:
            self._end(kind)
            return None
        return proc

    def sizes(self, names: Iterable[str]) -> dict[str, int]:
        """As `blob_sizes`."""
        sizes: dict[str, int] = {}
        for name in names:
            proc = self._ask("check", name)
            line = proc.stdout.readline() if proc is not None and proc.stdout else b""
            sizes[name] = _size_in(line)
            if not line:
                self._end("check")
        return sizes

    def read(self, names: Sequence[str]) -> Iterator[tuple[str, bytes | None]]:
        """As `read_blobs`."""
        for name in names:
            proc = self._ask("batch", name)
            answer = _next_answer(proc.stdout) if proc is not None and proc.stdout else _DIED
            if answer is _DIED:
                self._end("batch")
                answer = None
            yield name, answer  # type: ignore[misc]

    def _end(self, kind: str) -> None:
        proc = self._procs.pop(kind, None)
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def close(self) -> None:
        for kind in list(self._procs):
            self._end(kind)
