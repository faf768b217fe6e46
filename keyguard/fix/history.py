"""Is a fixed key in git history? Asked of `git` itself, so the fix summary says "it is still in
your git history" only when a commit really holds it.

For each fixed file: every blob that file ever had in any commit (`git log --all --raw`), read
with one `git cat-file --batch`, searched for the file's keys. Keys never go on a command line
(other local users can read argv); they are only compared in this process. A file outside a
git repository, or no `git` at all, means "not in history". At most `MAX_VERSIONS` versions
of a file are read (the newest), so a long history costs bounded time.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable

from keyguard.fix.redaction import Scrubber

MAX_VERSIONS = 200
_TIMEOUT = 20.0  # seconds per git call


def keys_in_history(keys_by_path: dict[str, Iterable[str]]) -> set[str]:
    """The keys (of `keys_by_path`: file path -> secret values) that a commit holds in that file."""
    found: set[str] = set()
    for path, keys in keys_by_path.items():
        wanted = set(keys) - found
        if not wanted:
            continue
        finder = Scrubber(wanted) if len(wanted) > 64 else None
        for blob in _committed_blobs(path):
            if finder is None:
                found |= {k for k in wanted if k.encode() in blob}
            else:  # many keys in one file: one linear pass instead of one search per key
                text = blob.decode("utf-8", "replace")
                found |= {text[a:b] for a, b in finder.spans(text)}
            wanted -= found
            if not wanted:
                break
    return found


def _git(args: list[str], cwd: str, data: bytes | None = None) -> bytes | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True,
                              timeout=_TIMEOUT, check=False, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _committed_blobs(path: str) -> list[bytes]:
    real = os.path.realpath(path)
    folder = os.path.dirname(real)
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if not top:
        return []
    root = top.decode("utf-8", "surrogateescape").strip()
    rel = os.path.relpath(real, root)
    log = _git(["log", "--all", "--format=", "--raw", "--no-abbrev", "--no-renames",
                f"-n{MAX_VERSIONS}", "--", rel], root)
    if not log:
        return []
    blobs: list[str] = []
    for line in log.decode("ascii", "replace").splitlines():
        fields = line.split("\t", 1)[0].split()
        if len(fields) >= 4 and fields[0].startswith(":"):
            new = fields[3]
            if new.strip("0") and new not in blobs:
                blobs.append(new)
    if not blobs:
        return []
    out = _git(["cat-file", "--batch"], root, ("\n".join(blobs) + "\n").encode())
    return _split_batch(out or b"")


def _split_batch(out: bytes) -> list[bytes]:
    """The contents in `git cat-file --batch` output (`<oid> <type> <size>\\n<content>\\n` ...)."""
    contents = []
    pos = 0
    while pos < len(out):
        end = out.find(b"\n", pos)
        if end < 0:
            break
        header = out[pos:end].split()
        if len(header) != 3:  # "<oid> missing"
            pos = end + 1
            continue
        size = int(header[2])
        contents.append(out[end + 1:end + 1 + size])
        pos = end + 1 + size + 1
    return contents
