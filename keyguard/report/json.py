"""Machine output: a documented, stable JSON schema (README "JSON output").

Top level: {"version": 1, "tool": {...}, "findings": [...], "summary": {...}}. Each finding
has rule, provider, kind, title, severity, confidence, path, line, column, end_line,
end_column (1-based, end exclusive), cell (0-based, notebooks), cell_line, part,
output_index, raw_line, raw_column (position in the file itself), message, context, env_var,
fingerprint, fixable, verification, verification_detail, and secret: redacted
("ab12…(44 chars)") unless `show_secrets` is set. Text fields (path, message, summary notes
and errors, ...) pass through `Scrubber`: key-shaped tokens redacted unless `show_secrets`,
control characters and undecodable bytes of file names escaped (`\x1b`, `\xff`).
History findings (`--history`) add commit (full SHA of the introducing commit),
commit_date (its author date, ISO 8601), in_head, refs, and head_line/head_column (where the
key is in HEAD) when in_head.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from keyguard import __version__
from keyguard.model import Finding
from keyguard.report._scrub import Scrubber
from keyguard.report.redact import escape_controls

SCHEMA_VERSION = 1


# Fields whose values are not text for people: never rewritten by the scrubber.
_KEEP = frozenset({"fingerprint", "secret", "commit"})  # commit: a git object name (--history)


def finding_to_dict(finding: Finding, *, show_secrets: bool = False,
                    scrubber: Scrubber | None = None) -> dict[str, Any]:
    """One finding as a JSON object; every text field (path, message, ...) scrubbed."""
    scrubber = scrubber or Scrubber([finding], show_secrets=show_secrets)
    return scrubber.tree(_raw_dict(finding, show_secrets), _KEEP)


def _raw_dict(finding: Finding, show_secrets: bool) -> dict[str, Any]:
    loc = finding.location
    secret = finding.secret.reveal() if show_secrets else finding.secret.redacted
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
        # Escaped even with --show-secrets: a value with a surrogate escape is no UTF-8.
        "secret": escape_controls(secret),
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
    scrubber = Scrubber(findings, show_secrets=show_secrets)
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "keyguard", "version": __version__},
        "findings": [finding_to_dict(f, show_secrets=show_secrets, scrubber=scrubber)
                     for f in findings],
        # Notes, errors and reasons may quote file names or values: scrubbed like messages.
        "summary": scrubber.tree(dict(summary), _KEEP),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
