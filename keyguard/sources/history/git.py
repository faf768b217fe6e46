"""Running `git`: finding it, checking its version, locating the repository.

Every failure the user can cause (no git, a git older than MIN_VERSION, a path outside any
repository) is a `GitError` with a message that says what to do; the CLI prints it and
exits 2. Output of git is bytes: paths in history need not be UTF-8.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from typing import IO

# `for-each-ref --contains` (2.7), `rev-parse --is-shallow-repository` (2.15) and the
# `cat-file --batch` error lines keyguard reads ("<name> missing") are all older than this.
MIN_VERSION = (2, 20)
_VERSION = re.compile(rb"git version (\d+)\.(\d+)")


class GitError(ValueError):
    """git is missing or too old, or the path is not in a git repository."""


def git_binary() -> str:
    """Path of `git`; GitError when it is not on PATH or older than MIN_VERSION."""
    git = shutil.which("git")
    needed = ".".join(map(str, MIN_VERSION))
    if git is None:
        raise GitError(f"--history needs git {needed} or newer, and git is not on PATH")
    try:
        out = subprocess.run([git, "--version"], capture_output=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        raise GitError(f"--history needs git {needed} or newer; `git --version` failed") from None
    match = _VERSION.search(out)
    if match is None or (int(match.group(1)), int(match.group(2))) < MIN_VERSION:
        found = out.decode("utf-8", "replace").strip() or "an unknown version"
        raise GitError(f"--history needs git {needed} or newer (found {found})")
    return git


def environment() -> dict[str, str]:
    """The environment for git: no pager, no prompts, no replacement of our formats by the
    user's config (colour, external diff)."""
    env = dict(os.environ)
    env.update(GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    return env


class Git:
    """One repository: `root` is its top-level directory (the work tree)."""

    def __init__(self, root: str, binary: str) -> None:
        self.root = root
        self.binary = binary
        self.env = environment()
        # (HEAD resolves, shallow) as `at` learnt them, so that `state` need not ask again
        self._head_and_shallow: tuple[bool, bool] | None = None

    @classmethod
    def at(cls, path: str) -> Git:
        """The repository holding `path` (a file or directory); GitError if there is none."""
        binary = git_binary()
        directory = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise GitError(f"{path}: no such directory")
        # One call for the top level and what `state` needs: the top level and the shallow
        # flag are printed whether or not HEAD resolves (an unborn branch: exit 1).
        proc = subprocess.run([binary, "rev-parse", "--show-toplevel", "--is-shallow-repository",
                               "--verify", "--quiet", "HEAD"], cwd=directory,
                              capture_output=True, env=environment())
        lines = proc.stdout.splitlines()
        if proc.returncode in (0, 1):  # a work tree; HEAD resolves (0) or not (1)
            if len(lines) == 3 - proc.returncode and lines[1] in (b"true", b"false"):
                git = cls(os.fsdecode(lines[0]), binary)
                git._head_and_shallow = (proc.returncode == 0, lines[1] == b"true")
                return git
            # A top level whose name holds a newline: asked alone, and `state` asks the rest.
            top = subprocess.run([binary, "rev-parse", "--show-toplevel"], cwd=directory,
                                 capture_output=True, env=environment())
            if top.returncode == 0:
                return cls(os.fsdecode(top.stdout[:-1]), binary)
        # A bare repository has no top level: use the git dir.
        bare = subprocess.run([binary, "rev-parse", "--is-bare-repository", "--absolute-git-dir"],
                              cwd=directory, capture_output=True, env=environment())
        lines = bare.stdout.splitlines()
        if bare.returncode == 0 and lines and lines[0] == b"true":
            return cls(os.fsdecode(lines[1]), binary)
        raise GitError(f"{path}: not inside a git repository (--history scans a repository's "
                       "commits; run it inside a clone)")

    def command(self, args: Sequence[str]) -> list[str]:
        # -c options: our parsers need plain output whatever the user's configuration, and
        # the same commits: log.showRoot=false hides a root commit's files from `git log -p`,
        # log.follow=true makes a walk over one path follow it across renames (rev-list
        # does not).
        return [self.binary, "-c", "color.ui=false", "-c", "core.quotePath=false",
                "-c", "diff.external=", "-c", "log.showSignature=false",
                "-c", "log.showRoot=true", "-c", "log.follow=false", *args]

    def run(self, args: Sequence[str], *, stdin: bytes | None = None,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(self.command(args), cwd=self.root, input=stdin,
                              capture_output=True, env=self.env)
        if check and proc.returncode != 0:
            raise GitError(f"git {args[0]} failed: {_first_line(proc.stderr)}")
        return proc

    def popen(self, args: Sequence[str], *, stdin: bool = False) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(args), cwd=self.root, env=self.env,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def log_records(self, args: Sequence[str], commits: Sequence[str], separator: bytes,
                    chunk: int = 1 << 16) -> Iterator[bytes]:
        """Run `git log --no-walk=unsorted --stdin ARGS` over `commits` and yield its output
        cut at `separator` (the `--format` starts each commit with it), one record at a time,
        without the separator. Raises GitError (naming git's first error line) when git
        fails; the last record is then not yielded, since it may be cut short."""
        for block in self.log_blocks(args, commits, (separator,), chunk):
            records = block.split(separator)
            yield from records[1:] if block.startswith(separator) else records

    def log_blocks(self, args: Sequence[str], commits: Sequence[str],
                   boundaries: Sequence[bytes], chunk: int = 1 << 20) -> Iterator[bytes]:
        """Run `git log --no-walk=unsorted --stdin ARGS` over `commits` and yield its output
        in blocks of about `chunk` bytes or more, each cut just before an occurrence of one
        of `boundaries` (the next block starts with it). Linear in the output: a record longer
        than `chunk` is gathered in pieces and joined once. GitError as `log_records`, after
        a last block of the whole records git wrote (what follows the last boundary may be
        cut short, and is not yielded)."""

        def last_cut(data: bytes, start: int) -> int:
            return max(data.rfind(boundary, start) for boundary in boundaries)

        proc = self.popen(["log", "--no-walk=unsorted", "--stdin", *args], stdin=True)
        assert proc.stdin is not None and proc.stdout is not None
        # git reads all of stdin (to the end) before it writes: no deadlock with one thread.
        proc.stdin.write("".join(c + "\n" for c in commits).encode())
        proc.stdin.close()
        keep_back = max(map(len, boundaries)) - 1  # a boundary can straddle two reads
        pieces: list[bytes] = []  # the current block, but for its last `keep_back` bytes
        edge = b""
        for data in pipe_reads(proc.stdout, chunk):
            data = edge + data
            # From 1 when the block starts in `data`: its own leading boundary is no cut.
            cut = last_cut(data, 0 if pieces else 1)
            if cut >= 0:
                pieces.append(data[:cut])
                yield b"".join(pieces)
                pieces, data = [], data[cut:]
            split = max(len(data) - keep_back, 0)
            if split:
                pieces.append(data[:split])
            edge = data[split:]
        stderr = proc.stderr.read() if proc.stderr else b""
        rest = b"".join([*pieces, edge])
        if proc.wait() != 0:
            # The records before the last boundary are whole: yield them, so the caller
            # knows how far git got; only what follows it may be cut short.
            cut = last_cut(rest, 1)
            if cut > 0:
                yield rest[:cut]
            text = stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git log failed: {text[0] if text else 'no message'}")
        if rest:
            yield rest

    def state(self) -> tuple[bool, list[str]]:
        """(whether the repository has a commit, the commits whose parents are missing: []
        unless it is a shallow clone), from one `rev-parse` where it can."""
        if self._head_and_shallow is not None:
            head, shallow = self._head_and_shallow
        else:
            proc = self.run(["rev-parse", "--is-shallow-repository", "--verify", "--quiet",
                             "HEAD"], check=False)
            lines = proc.stdout.split()
            head, shallow = proc.returncode == 0, bool(lines) and lines[0] == b"true"
        has_commits = head or bool(
            self.run(["for-each-ref", "--count=1"], check=False).stdout.strip())
        if not shallow:
            return has_commits, []
        path = self.run(["rev-parse", "--git-path", "shallow"]).stdout.strip()
        shallow = os.path.join(self.root, os.fsdecode(path))
        try:
            with open(shallow, "rb") as handle:
                return has_commits, [line.strip().decode() for line in handle if line.strip()]
        except OSError:
            return has_commits, []


_PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size
_PAUSE_SECONDS = 0.002


def pipe_reads(stream: IO[bytes], size: int) -> Iterator[bytes]:
    """What a git process writes to `stream` (the read end of its stdout pipe), in pieces of
    `size` bytes or more, but for the last; nothing must have been read from `stream` yet.

    git writes 4 KB at a time (stdio's buffer on a pipe), and a reader that waits in read()
    is woken for each write: 0.13 s of CPU for the 10 MB of one `git log -p` here, a tenth
    of what git itself spent. Where the pipe can be enlarged (Linux: F_SETPIPE_SZ, to a
    megabyte), a read that finds less than a quarter of it pauses 2 ms before the next, so
    git fills the pipe meanwhile without ever waiting for room: about 30 KB a read, 0.02 s
    for the same 10 MB. Elsewhere the reads are plain blocking reads."""
    fd = stream.fileno()
    capacity = enlarge_pipe(fd)
    pause_below = capacity // 4 if capacity >= _PIPE_BYTES else 0
    pieces: list[bytes] = []
    held = 0
    while data := os.read(fd, max(capacity, 1 << 16)):
        pieces.append(data)
        held += len(data)
        if held >= size:
            yield b"".join(pieces)
            pieces, held = [], 0
        elif len(data) < pause_below:
            time.sleep(_PAUSE_SECONDS)
    if pieces:
        yield b"".join(pieces)


def enlarge_pipe(fd: int) -> int:
    """The pipe's capacity in bytes after asking for _PIPE_BYTES (0 when it is not known)."""
    try:
        import fcntl

        return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, not a pipe, over the user's quota
        return 0


def _first_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return text[0] if text else "no message"
