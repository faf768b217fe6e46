"""The unified diff of a plan, with every leaked key redacted unless asked otherwise."""

from __future__ import annotations

import difflib

from keyguard.fix.records import FixPlan
from keyguard.fix.redaction import scrub


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
        old = scrub(old, plan.redact_values)
        new = scrub(new, plan.redact_values)
        path = scrub(path, plan.redact_values)
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"):
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


def _decode(data: bytes, encoding: str) -> str:
    # A diff is for reading: undecodable bytes show as U+FFFD rather than failing.
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return data.decode("utf-8", errors="replace")
