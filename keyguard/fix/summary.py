"""`summarize`: the after-fix report: what was fixed, which keys to revoke where, what to set."""

from __future__ import annotations

from collections.abc import Sequence

from keyguard.fix.instructions import provider_of, revoke_where
from keyguard.fix.records import FixPlan
from keyguard.rulepack import RuleSet, load_ruleset


def summarize(plans: Sequence[FixPlan], ruleset: RuleSet | None = None, *, applied: bool = True) -> str:
    """The after-fix summary for stderr: what was fixed, what to revoke where, what to set.

    `applied` False words it for `--diff` ("would fix"). Never contains a secret (redacted
    values only).
    """
    rules = ruleset if ruleset is not None else load_ruleset()
    fixed = [
        (p, f) for p in plans for f in p.fixed
        if (rule := rules.rules.get(f.rule_id)) is None or rule.is_secret
    ]
    manual = [(p, u) for p in plans for u in p.unfixable]
    lines: list[str] = []
    files = sorted({p.path for p, _ in fixed})
    if fixed:
        verb = "Fixed" if applied else "Would fix (run with --fix)"
        lines.append(f"{verb} {len(fixed)} credential finding(s) in {len(files)} file(s).")
        grouped: dict[tuple[str, str], set[str]] = {}
        for _, f in fixed:
            provider = provider_of(f, rules)
            name = provider.name if provider else f.provider
            grouped.setdefault((name, revoke_where(f, rules)), set()).add(f.secret.redacted)
        lines.append(
            "Each fixed key was exposed (it is still in your git history and in every copy "
            "of the file) and must be revoked:"
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
                lines.append(f"  - {name} (read by {', '.join(sorted(env[name]))})")
    if manual:
        lines.append(f"{len(manual)} finding(s) need a manual fix:")
        for _, u in sorted(manual, key=lambda pu: pu[1].finding.sort_key()):
            lines.append(f"  {u.finding.location.display()}: {u.finding.rule_id} {u.instruction}")
    return "\n".join(lines) + ("\n" if lines else "")
