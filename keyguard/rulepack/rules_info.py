"""`keyguard rules`: list the rules, or explain one with its embedded examples."""

from __future__ import annotations

import json

from keyguard.report.advice import Facts, fix_line, help_texts, rotation_steps
from keyguard.rulepack.load import Rule, RuleSet


def _facts(rule: Rule, ruleset: RuleSet) -> Facts:
    return Facts(ruleset.provider_of(rule.id), rule.env_var)


def _fix_text(rule: Rule, ruleset: RuleSet) -> str:
    return fix_line(rule, _facts(rule, ruleset))


def _rule_dict(rule: Rule, ruleset: RuleSet) -> dict[str, object]:
    provider = ruleset.provider_of(rule.id)
    return {
        "id": rule.id,
        "provider": provider.name,
        "kind": rule.kind,
        "type": rule.type,
        "title": rule.title,
        "severity": rule.severity.label,
        "description": rule.description,
        "fix": _fix_text(rule, ruleset),
        "rotation": list(rotation_steps(rule, _facts(rule, ruleset))),
        "help": help_texts(rule, _facts(rule, ruleset))[0],
        "env_var": rule.env_var,
        "verifiable": rule.verify is not None,
        "source": rule.source,
    }


def list_rules(output_format: str = "text", *, ruleset: RuleSet) -> str:
    """Every rule of `ruleset` (built-in and user packs): id, provider, severity, the fix."""
    rules = [ruleset.rules[r] for r in sorted(ruleset.rules)]
    if output_format == "json":
        return json.dumps([_rule_dict(r, ruleset) for r in rules], indent=2) + "\n"
    lines = []
    for rule in rules:
        provider = ruleset.provider_of(rule.id).name
        lines.append(f"{rule.id}  {rule.severity.label:<8} {provider}: {rule.title}")
        lines.append(f"        fix: {_fix_text(rule, ruleset)}")
    return "\n".join(lines) + "\n"


def describe_rule(rule_id: str, output_format: str = "text", *, ruleset: RuleSet) -> str:
    """One rule in full, with its examples (fake keys shown as {{markers}}). ValueError if unknown."""
    rule = ruleset.rules.get(rule_id.upper())
    if rule is None:
        raise ValueError(f"unknown rule {rule_id!r}; `keyguard rules` lists them")
    examples = [
        e for e in ruleset.examples
        if any(r == rule.id for r, _ in e.expect)
        or (not e.expect and e.pack == rule.provider)
    ]
    if output_format == "json":
        data = _rule_dict(rule, ruleset)
        data["examples"] = [
            {"name": e.name, "file": e.file, "code": e.code, "expect": [f"{r}@{n}" for r, n in e.expect]}
            for e in examples
        ]
        return json.dumps(data, indent=2) + "\n"
    d = _rule_dict(rule, ruleset)
    out = [
        f"{rule.id}: {rule.title}",
        f"provider: {d['provider']}    severity: {d['severity']}    kind: {rule.kind}",
        "",
        rule.description,
        "",
        f"Fix: {d['fix']}.",
    ]
    steps = rotation_steps(rule, _facts(rule, ruleset))
    if steps:
        out += ["", "Rotation:", *(f"  {i}. {step}" for i, step in enumerate(steps, 1))]
    out += ["", f"Format source: {rule.source}"]
    if rule.verify is not None:
        out.append(f"Verification (opt-in, --verify): {rule.verify.method} {rule.verify.url}")
    for example in examples:
        verdict = "flagged" if example.expect else "not flagged"
        out += ["", f"Example ({verdict}): {example.name}  [{example.file}]", example.code.rstrip("\n")]
    return "\n".join(out) + "\n"
