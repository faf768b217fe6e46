"""`fix_findings`: plan, and optionally apply, the fixes for a scan's findings file by file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from keyguard.fix.diff import unified_diff
from keyguard.fix.disk import FileChangedError, apply, inside
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
    roots: Sequence[str] | None = None,
) -> FixRun:
    """Plan (and with `write`, apply) the fixes for scanner findings, file by file.

    Each file is read again and re-decoded; a file that changed since it was read is never
    overwritten (its findings stay in `remaining`, with an error). `roots` are the paths that
    were scanned (the CLI passes them; None: no limit): a file whose real path is outside them
    (a symlink out of the tree) is neither diffed nor written.
    """
    from keyguard.documents import read_document

    rules = ruleset if ruleset is not None else load_ruleset()
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.location.path, []).append(f)
    run = FixRun()
    diffs: list[str] = []
    allowed = list(roots) if roots is not None else None
    for path in sorted(by_path):
        items = by_path[path]
        if allowed is not None and not inside(path, allowed):
            run.errors.append(f"{path}: a symlink to a file outside the scanned paths; not fixed "
                              "(fix the key where the file really lives, or scan that path)")
            run.remaining.extend(items)
            continue
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
                    apply(plan, allowed)
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
    if not show_secrets:
        from keyguard.fix.redaction import Scrubber

        scrub = Scrubber({f.secret.reveal() for items in by_path.values() for f in items})
        run.errors = [scrub(e) for e in run.errors]
    return run


def _why(exc: OSError) -> str:
    # The message already starts with the path; str(exc) would repeat it.
    return exc.strerror or type(exc).__name__
