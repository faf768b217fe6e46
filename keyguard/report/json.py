"""Machine output: a documented, stable JSON schema (README "JSON output").

Top level: {"version": 1, "tool": {...}, "findings": [...], "summary": {...}}. Each finding
has rule, provider, kind, title, severity, confidence, path, line, column, end_line,
end_column (1-based, end exclusive), cell (0-based, notebooks), cell_line, part,
output_index, raw_line, raw_column (position in the file itself), message, context, env_var,
fingerprint, fixable, verification, verification_detail, and secret: redacted
("ab12…(44 chars)") unless `show_secrets` is set. History findings (`--history`) add commit
(full SHA of the introducing commit), commit_date (its author date, ISO 8601), in_head, refs,
and head_line/head_column (where the key is in HEAD) when in_head.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from keyguard import __version__
from keyguard.model import Finding

SCHEMA_VERSION = 1


def finding_to_dict(finding: Finding, *, show_secrets: bool = False) -> dict[str, Any]:
    loc = finding.location
    return {
        "rule": finding.rule_id,
        "provider": finding.provider,
        "kind": finding.kind,
        "title": finding.title,
        "severity": finding.severity.label,
        "confidence": finding.confidence.label,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "cell": loc.cell,
        "cell_line": loc.cell_line,
        "part": loc.part,
        "output_index": loc.output_index,
        "raw_line": loc.raw_line,
        "raw_column": loc.raw_column,
        "message": finding.message,
        "context": finding.context,
        "env_var": finding.env_var,
        "fingerprint": finding.fingerprint,
        "fixable": finding.fixable,
        "verification": finding.verification.state.value,
        "verification_detail": finding.verification.detail,
        "secret": finding.secret.reveal() if show_secrets else finding.secret.redacted,
        **history_fields(finding),
    }


def history_fields(finding: Finding) -> dict[str, Any]:
    """commit, commit_date, in_head, refs (and head_line/head_column when in HEAD) of a
    --history finding; {} for tree scans, whose JSON is unchanged."""
    if finding.commit is None:
        return {}
    fields: dict[str, Any] = {
        "commit": finding.commit,
        "commit_date": finding.commit_date,
        "in_head": bool(finding.in_head),
        "refs": list(finding.refs or ()),
    }
    if finding.head_location is not None:
        fields["head_line"] = finding.head_location.line
        fields["head_column"] = finding.head_location.column
    return fields


def render_json(
    findings: Sequence[Finding],
    summary: Mapping[str, Any],
    *,
    show_secrets: bool = False,
) -> str:
    """The whole report as indented JSON with a trailing newline."""
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "keyguard", "version": __version__},
        "findings": [finding_to_dict(f, show_secrets=show_secrets) for f in findings],
        "summary": dict(summary),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
