"""`summarize`: the after-fix report: what was fixed, which keys to revoke where, what to set."""

from __future__ import annotations

from collections.abc import Sequence

from keyguard.fix.instructions import provider_of, revoke_where
from keyguard.fix.records import FixPlan
from keyguard.fix.redaction import Scrubber
from keyguard.rulepack import RuleSet, load_ruleset


def summarize(plans: Sequence[FixPlan], ruleset: RuleSet | None = None, *, applied: bool = True,
              in_history: set[str] | None = None) -> str:
    """The after-fix summary for stderr: what was fixed, what to revoke where, what to set.

    `applied` False words it for `--diff` ("would fix"). `in_history`: the fixed keys a git
    commit holds (default: asked of git, keyguard.fix.history); only those are said to be "in
    your git history". Never contains a secret: values are redacted, and so is every
    key-shaped word of a file name.
    """
    rules = ruleset if ruleset is not None else load_ruleset()
    scrub = Scrubber(set().union(*(p.redact_values for p in plans)))  # secrets, not notices' code
    fixed = [
        (p, f) for p in plans for f in p.fixed
        if (rule := rules.rules.get(f.rule_id)) is None or rule.is_secret
    ]
    manual = [(p, u) for p in plans for u in p.unfixable]
    lines: list[str] = []
    files = {p.path for p, _ in fixed}
    if fixed:
        verb = "Fixed" if applied else "Would fix (run with --fix)"
        lines.append(f"{verb} {len(fixed)} credential finding(s) in {len(files)} file(s).")
        if in_history is None:
            from keyguard.fix.history import keys_in_history

            by_path: dict[str, set[str]] = {}
            for p, f in fixed:
                by_path.setdefault(p.path, set()).add(f.secret.reveal())
            in_history = keys_in_history(by_path)
        grouped: dict[tuple[str, str], set[str]] = {}
        for _, f in fixed:
            provider = provider_of(f, rules)
            name = provider.name if provider else f.provider
            grouped.setdefault((name, revoke_where(f, rules)), set()).add(f.secret.redacted)
        committed = sorted({f.secret.redacted for _, f in fixed if f.secret.reveal() in in_history})
        if len(committed) == len({f.secret.redacted for _, f in fixed}):
            lines.append(
                "Each fixed key was exposed (it is still in your git history and in every copy "
                "of the file) and must be revoked:"
            )
        elif committed:
            lines.append(
                f"Each fixed key was exposed and must be revoked; {', '.join(committed)} "
                "is still in your git history (a commit holds it), the others are in no commit yet "
                "but in every copy of the file:"
            )
        else:
            lines.append(
                "Each fixed key must be revoked (no git commit holds it, but copies of the file do, "
                "and git's index if the file was staged):"
            )
        for (name, where), keys in sorted(grouped.items()):
            lines.append(f"  - {name}: revoke {', '.join(sorted(keys))} at {where}")
        env: dict[str, set[str]] = {}
        for p in plans:
            if p.fixed:
                for name in p.env_vars:
                    env.setdefault(name, set()).add(p.path)
        if env:
            lines.append("Set these environment variables (export NAME=... or a git-ignored .env file):")
            for name in sorted(env):
                lines.append(f"  - {name} (read by {', '.join(sorted(scrub(p) for p in env[name]))})")
    if manual:
        lines.append(f"{len(manual)} finding(s) need a manual fix:")
        for _, u in sorted(manual, key=lambda pu: pu[1].finding.sort_key()):
            lines.append(scrub(f"  {u.finding.location.display()}: {u.finding.rule_id} {u.instruction}"))
    return "\n".join(lines) + ("\n" if lines else "")
