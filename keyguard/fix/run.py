"""`fix_findings`: plan, and optionally apply, the fixes for a scan's findings file by file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from keyguard.fix.diff import unified_diff
from keyguard.fix.disk import FileChangedError, apply
from keyguard.fix.plan import plan_fixes
from keyguard.fix.records import FixRun
from keyguard.model import Finding
from keyguard.rulepack import RuleSet, load_ruleset


def fix_findings(
    findings: Iterable[Finding],
    *,
    write: bool,
    ruleset: RuleSet | None = None,
    show_secrets: bool = False,
) -> FixRun:
    """Plan (and with `write`, apply) the fixes for scanner findings, file by file.

    Each file is read again and re-decoded; a file that changed since it was read is never
    overwritten (its findings stay in `remaining`, with an error).
    """
    from keyguard.documents import read_document

    rules = ruleset if ruleset is not None else load_ruleset()
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.location.path, []).append(f)
    run = FixRun()
    diffs: list[str] = []
    for path in sorted(by_path):
        items = by_path[path]
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            run.errors.append(f"{path}: cannot read for --fix ({_why(exc)})")
            run.remaining.extend(items)
            continue
        plan = plan_fixes(read_document(path, data), items, ruleset=rules, data=data)
        run.plans.append(plan)
        if plan.changed:
            if write:
                try:
                    apply(plan)
                except (FileChangedError, OSError) as exc:
                    run.errors.append(str(exc) if isinstance(exc, FileChangedError)
                                      else f"{path}: cannot write ({_why(exc)})")
                    run.remaining.extend(items)
                    plan.fixed.clear()
                    continue
            run.changed.append(path)
            diffs.append(unified_diff(plan, show_secrets=show_secrets))
        else:
            run.remaining.extend(plan.fixed)  # nothing was written, so nothing was fixed
            plan.fixed.clear()
        run.remaining.extend(u.finding for u in plan.unfixable)
    run.remaining.sort(key=Finding.sort_key)
    run.diff = "".join(diffs)
    return run


def _why(exc: OSError) -> str:
    # The message already starts with the path; str(exc) would repeat it.
    return exc.strerror or type(exc).__name__
