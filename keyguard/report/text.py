"""Human output: one line per finding, `path:line:col: RULE message` (ruff's shape).

Notebook findings read `path:cell N:line:col` (N 1-based, as ruff prints cells). Colour only
when asked or on a terminal, and never when NO_COLOR is set (resolved by the CLI).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from keyguard.model import Finding, Severity, VerificationState
from keyguard.report._scrub import Scrubber
from keyguard.report.redact import escape_controls

_SEVERITY_COLOUR = {
    Severity.CRITICAL: "red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "blue",
}


def render_finding(finding: Finding, *, color: bool = False, show_secret: bool = False,
                   scrubber: Scrubber | None = None) -> str:
    """One line for one finding. The secret appears only with `show_secret`; the path, the
    message and the verification detail pass through `scrubber` (default: one made from
    this finding), so a crafted file name cannot carry a key or a control character."""
    scrubber = scrubber or Scrubber([finding], show_secrets=show_secret)
    loc = scrubber.text(finding.location.display())
    rule = finding.rule_id
    if color:
        loc = click.style(loc, bold=True)
        rule = click.style(rule, fg=_SEVERITY_COLOUR[finding.severity], bold=True)
    line = f"{loc}: {rule} {scrubber.text(finding.message)}"
    extras = [f"[{finding.severity.label}]"]
    if finding.verification.state is not VerificationState.NOT_CHECKED:
        state = finding.verification.state.value
        if finding.verification.detail:
            state += f": {scrubber.text(finding.verification.detail)}"
        extras.append(f"[{state}]")
    if finding.commit is not None:
        status = "still in HEAD" if finding.in_head else "not in HEAD"
        extras.append(f"[commit {finding.commit[:12]} {(finding.commit_date or '')[:10]}, {status}]")
    if finding.is_secret:  # a notice (KG205) matched code, not a key: nothing to redact
        secret = finding.secret.reveal() if show_secret else finding.secret.redacted
        extras.append(f"[{escape_controls(secret)}]")
    return f"{line} {' '.join(extras)}"


def render_text(findings: Sequence[Finding], *, color: bool = False, show_secrets: bool = False) -> str:
    """All findings, one per line, with a trailing newline when there are any."""
    scrubber = Scrubber(findings, show_secrets=show_secrets)
    lines = [render_finding(f, color=color, show_secret=show_secrets, scrubber=scrubber)
             for f in findings]
    return "\n".join(lines) + ("\n" if lines else "")
