"""The file on disk: the bytes a plan starts from, and their atomic replacement."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from keyguard.documents import Document
from keyguard.fix.records import FixPlan


class FileChangedError(RuntimeError):
    """The file on disk is not the one `plan_fixes` read; nothing was written."""


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


def apply(plan: FixPlan) -> bool:
    """Write `plan.new` atomically; True when the file was written, False when nothing changed.

    Same directory temporary file, fsync, the original permission bits, then os.replace (a
    symlink is followed: its target is rewritten, the link stays). Raises FileChangedError,
    writing nothing, when the file's bytes differ from those `plan_fixes` read; OSError on I/O
    failure (the temporary file is removed).
    """
    if not plan.changed or plan.new is None:
        return False
    target = Path(os.path.realpath(plan.path))
    try:
        current = target.read_bytes()
        st = target.stat()
    except FileNotFoundError:
        raise FileChangedError(f"{plan.path}: file disappeared since it was read; not written") from None
    if current != plan.original:
        raise FileChangedError(f"{plan.path}: file changed on disk since it was read; not written")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".keyguard-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(plan.new)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        # Last look right before the rename: a writer that raced us since the first check wins.
        if target.stat().st_mtime_ns != st.st_mtime_ns or target.read_bytes() != plan.original:
            raise FileChangedError(f"{plan.path}: file changed on disk while fixing; not written")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True
