"""`keyguard scan --statistics`: the number of findings per rule, as ruff prints it.

Text: one line per rule with findings, `count  rule  [severity]  title`, most frequent first
(ties by rule id). JSON: a list of `{"code", "name", "severity", "count"}` objects in the same
order. Built from rule ids, titles and counts only: never a secret or a path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from keyguard.model import Finding


def statistics(findings: Sequence[Finding]) -> list[dict[str, object]]:
    """Per-rule counts, most frequent first; empty list when there are no findings."""
    by_rule: dict[str, dict[str, object]] = {}
    for f in findings:
        entry = by_rule.setdefault(
            f.rule_id, {"code": f.rule_id, "name": f.title, "severity": f.severity.label, "count": 0}
        )
        entry["count"] = int(entry["count"]) + 1  # type: ignore[call-overload]
    return sorted(by_rule.values(), key=lambda e: (-int(e["count"]), str(e["code"])))  # type: ignore[call-overload]


def render_statistics(findings: Sequence[Finding], output_format: str, *, color: bool = False) -> str:
    """The statistics as text (aligned columns) or JSON (`output_format` "json")."""
    rows = statistics(findings)
    if output_format == "json":
        return json.dumps(rows, indent=2) + "\n"
    if not rows:
        return ""
    width = max(len(str(r["count"])) for r in rows)
    lines = []
    for r in rows:
        code = click.style(str(r["code"]), bold=True) if color else str(r["code"])
        lines.append(f"{str(r['count']).rjust(width)}  {code}  [{r['severity']}]  {r['name']}")
    return "\n".join(lines) + "\n"
