"""The unified diff of a plan, with every leaked key redacted unless asked otherwise."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from keyguard.fix.records import FixPlan
from keyguard.fix.redaction import Scrubber


def unified_diff(plan: FixPlan, *, show_secrets: bool = False) -> str:
    """A unified diff (`a/path`, `b/path`) of the planned change; "" when nothing changes.

    The removed lines hold the leaked keys, and diffs end up in CI logs: unless
    `show_secrets`, every secret of the plan and every other key-shaped word (context lines
    may show a key accepted by an ignore comment or the baseline; the file name may hold one)
    is shown redacted (`ab12…(44 chars)`). A redacted diff is for reading, not for `patch`.
    """
    if not plan.changed or plan.original is None or plan.new is None:
        return ""
    old = _decode(plan.original, plan.encoding)
    new = _decode(plan.new, plan.encoding)
    path = plan.path
    if not show_secrets:
        scrub = Scrubber(plan.redact_values)
        old, new, path = scrub(old), scrub(new), scrub(path)
    a = _LINES.findall(old)
    b = _LINES.findall(new)
    out: list[str] = []
    for line in _unified(a, b, f"a/{path}", f"b/{path}"):
        if line.startswith(("---", "+++", "@@")):
            out.append(line if line.endswith("\n") else line + "\n")
            continue
        if line.endswith("\r\n"):
            out.append(line[:-2] + "\n")
        elif line.endswith(("\n", "\r")):
            out.append(line[:-1] + "\n")
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_WINDOW = 48  # lines of look-ahead to re-synchronise after a change


class _Opcodes(difflib.SequenceMatcher):
    """difflib's hunk grouping over opcodes computed in linear time.

    A fix only edits a few lines in place and keeps every other line, so after a difference
    the next telling equal line within a small window re-synchronises the
    two files; difflib's own matcher is quadratic on files with thousands of changed lines.
    Only if no re-synchronisation is found in the window does difflib's matcher run, on the
    rest of the files.
    """

    def __init__(self, a: list[str], b: list[str]) -> None:
        super().__init__(None, a, b, autojunk=False)
        self._ops = self._linear(a, b)

    def get_opcodes(self) -> list[tuple[str, int, int, int, int]]:
        return self._ops

    @staticmethod
    def _linear(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
        ops: list[tuple[str, int, int, int, int]] = []

        def emit(tag: str, i1: int, i2: int, j1: int, j2: int) -> None:
            if i1 == i2 and j1 == j2:
                return
            if ops and ops[-1][0] == tag == "equal":
                ops[-1] = (tag, ops[-1][1], i2, ops[-1][3], j2)
            else:
                ops.append((tag, i1, i2, j1, j2))

        i = j = 0
        while i < len(a) and j < len(b):
            if a[i] == b[j]:
                emit("equal", i, i + 1, j, j + 1)
                i += 1
                j += 1
                continue
            sync = _resync(a, b, i, j)
            if sync is None:
                rest = difflib.SequenceMatcher(None, a[i:], b[j:], autojunk=False).get_opcodes()
                for tag, i1, i2, j1, j2 in rest:
                    emit(tag, i + i1, i + i2, j + j1, j + j2)
                return ops
            x, y = sync
            tag = "replace" if x and y else ("delete" if x else "insert")
            emit(tag, i, i + x, j, j + y)
            i += x
            j += y
        if i < len(a) or j < len(b):
            tag = "replace" if i < len(a) and j < len(b) else ("delete" if i < len(a) else "insert")
            emit(tag, i, len(a), j, len(b))
        return ops


def _resync(a: list[str], b: list[str], i: int, j: int) -> tuple[int, int] | None:
    """The smallest (x, y) from which a[i+x:] and b[j+y:] agree again: an equal line that
    says something (4+ characters besides white space), or two equal lines in a row, or
    both files' ends."""
    for d in range(1, 2 * _WINDOW + 1):
        for x in range(max(0, d - _WINDOW), min(d, _WINDOW) + 1):
            y = d - x
            ii, jj = i + x, j + y
            if ii > len(a) or jj > len(b):
                continue
            if ii == len(a) and jj == len(b):
                return x, y
            if ii < len(a) and jj < len(b) and a[ii] == b[jj] and (
                len(a[ii].strip()) >= 4
                or (ii + 1 == len(a) and jj + 1 == len(b))
                or (ii + 1 < len(a) and jj + 1 < len(b) and a[ii + 1] == b[jj + 1])
            ):
                return x, y
    return None


def _unified(a: list[str], b: list[str], fromfile: str, tofile: str, n: int = 3) -> Iterator[str]:
    """difflib.unified_diff's output, over `_Opcodes`."""
    started = False
    for group in _Opcodes(a, b).get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for line in a[i1:i2]:
                    yield " " + line
                continue
            if tag in ("replace", "delete"):
                for line in a[i1:i2]:
                    yield "-" + line
            if tag in ("replace", "insert"):
                for line in b[j1:j2]:
                    yield "+" + line


def _range(start: int, stop: int) -> str:
    # difflib's unified range format: "start,length" (1-based; "start" alone for length 1).
    beginning = start + 1
    length = stop - start
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


def _decode(data: bytes, encoding: str) -> str:
    # A diff is for reading: undecodable bytes show as U+FFFD rather than failing.
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return data.decode("utf-8", errors="replace")
