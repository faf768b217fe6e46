"""The file on disk: the bytes a plan starts from, and their atomic replacement.

Writing a fix: the new bytes go to a temporary file inside a private folder next to the
target, `.keyguard-tmp-<pid>-<random>/`, which holds a `.gitignore` of `*` (so git ignores the
folder and everything in it, as for ruff's and pytest's cache folders); then os.replace. Where
the kernel allows it (Linux O_TMPFILE) the content has no name at all until the instant
before the rename, so even SIGKILL leaves no fixed-content file behind; SIGINT, SIGTERM and
SIGHUP are held for the few system calls of the write window, so Ctrl-C or a CI timeout
lands after the cleanup. Folders left by a process that died anyway (power loss, SIGKILL at
the rename) are removed by the next run that writes in that directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from keyguard.documents import Document
from keyguard.fix.records import FixPlan

TMP_PREFIX = ".keyguard-tmp-"
_TMP_DIR = re.compile(re.escape(TMP_PREFIX) + r"(\d+)-[0-9a-f]+$")
_OLD_TMP_FILE = re.compile(r"^\..+\.keyguard-tmp$")  # temp files of keyguard before 0.x: no pid
_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
_cleaned: set[str] = set()


class FileChangedError(RuntimeError):
    """The file on disk is not the one `plan_fixes` read, or may not be written; nothing was written."""


def read_bytes(document: Document, data: bytes | None) -> tuple[bytes, tuple[int, int, int] | None]:
    """The document's bytes (`data` when given) and (st_mtime_ns, st_size, mode) when on disk."""
    if data is not None:
        try:
            st = os.stat(document.path)
            return data, (st.st_mtime_ns, st.st_size, stat.S_IMODE(st.st_mode))
        except OSError:
            return data, None
    path = Path(document.path)
    st = path.stat()
    return path.read_bytes(), (st.st_mtime_ns, st.st_size, stat.S_IMODE(st.st_mode))


def inside(path: str, roots: Iterable[str]) -> bool:
    """True when `path`, all symlinks resolved, is one of `roots` or inside one of them."""
    real = os.path.realpath(path)
    for root in roots:
        base = os.path.realpath(root)
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def apply(plan: FixPlan, roots: Iterable[str] | None = None) -> bool:
    """Write `plan.new` atomically; True when the file was written, False when nothing changed.

    `roots`: the paths the user asked to scan (the CLI always passes them; None: no limit).
    A file whose real path (symlinks resolved) is outside them is never written: a symlink
    pointing out of the scanned tree is not followed. Inside them a symlink's target is
    rewritten and the link stays. The permission bits are kept. Raises FileChangedError, writing nothing, when
    the file is outside the roots or its bytes differ from those `plan_fixes` read; OSError on
    I/O failure (no temporary file is left).
    """
    if not plan.changed or plan.new is None:
        return False
    if roots is not None and not inside(plan.path, roots):
        raise FileChangedError(
            f"{plan.path}: resolves (through a symlink) to a file outside the scanned paths; "
            "not written: fix the key where the file really lives, or scan that path"
        )
    target = Path(os.path.realpath(plan.path))
    try:
        current = target.read_bytes()
        st = target.stat()
    except FileNotFoundError:
        raise FileChangedError(f"{plan.path}: file disappeared since it was read; not written") from None
    if current != plan.original:
        raise FileChangedError(f"{plan.path}: file changed on disk since it was read; not written")

    def unchanged() -> bool:
        # Last look right before the rename: a writer that raced us since the first check wins.
        return target.stat().st_mtime_ns == st.st_mtime_ns and target.read_bytes() == plan.original

    with _signals_held():
        clean_stale(target.parent)
        _write_replace(target, plan.new, stat.S_IMODE(st.st_mode), unchanged, plan.path)
    return True


def _write_replace(target: Path, data: bytes, mode: int, unchanged: Callable[[], bool], shown: str) -> None:
    folder = target.parent / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    os.mkdir(folder, 0o700)
    try:
        (folder / ".gitignore").write_bytes(b"*\n")
        if not _write_anonymous(folder, data, mode, unchanged, shown):
            fd = os.open(folder / "fixed", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(fd, data, mode)
            finally:
                os.close(fd)
            if not unchanged():
                raise FileChangedError(f"{shown}: file changed on disk while fixing; not written")
        os.replace(folder / "fixed", target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_anonymous(folder: Path, data: bytes, mode: int, unchanged: Callable[[], bool], shown: str) -> bool:
    """Write `data` to a nameless file in `folder` and name it `fixed` only once complete and
    the target is still unchanged; False when the kernel or file system cannot (O_TMPFILE)."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return False
    try:
        fd = os.open(folder, flag | os.O_WRONLY, 0o600)
    except OSError:
        return False
    dfd = -1
    try:
        _write_all(fd, data, mode)
        if not unchanged():
            raise FileChangedError(f"{shown}: file changed on disk while fixing; not written")
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:  # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N: the way to name an O_TMPFILE file
            os.link(f"/proc/self/fd/{fd}", "fixed", dst_dir_fd=dfd, follow_symlinks=True)
        except OSError:
            return False
        return True
    finally:
        os.close(fd)
        if dfd >= 0:
            os.close(dfd)


def _write_all(fd: int, data: bytes, mode: int) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)
    os.fchmod(fd, mode)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP (main thread only) so they land after the write window."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def clean_stale(directory: Path) -> list[str]:
    """Remove temporary folders of keyguard runs that are no longer alive (once per directory
    and run); returns the names removed."""
    key = str(directory)
    if key in _cleaned:
        return []
    _cleaned.add(key)
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        m = _TMP_DIR.match(entry.name)
        if m and entry.is_dir(follow_symlinks=False) and not _alive(int(m.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
        elif _OLD_TMP_FILE.match(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > 600:
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
