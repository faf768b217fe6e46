"""GitHub Actions workflow-command annotations (`keyguard scan --format github`).

One line per finding, `::error file=F,line=L,endLine=L,col=C,endColumn=E,title=T::message`,
which the runner turns into an annotation on the pull request's diff. Annotations need no
GitHub Advanced Security, so private repositories without code scanning still get them.

Escaping follows actions/toolkit `packages/core/src/command.ts` (`escapeData` and
`escapeProperty`): in the message `%`, CR and LF become `%25`, `%0D`, `%0A`; property values
additionally escape `:` and `,` (`%3A`, `%2C`), the separators of the property list.
Percent goes first, so the escapes themselves are not escaped again.

Notebook findings point at the raw JSON line (`raw_line`), the line GitHub shows in the diff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import unquote

from keyguard.model import Finding, Severity
from keyguard.report._scrub import Scrubber
from keyguard.report.sarif import LIVE_STATES, artifact_uri


def escape_data(text: str) -> str:
    """Escape a command's message (toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (toolkit `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command_for(finding: Finding) -> str:
    """`error` for medium and above (or a live key), `warning` for low, `notice` for info."""
    if finding.verification.state in LIVE_STATES or finding.severity >= Severity.MEDIUM:
        return "error"
    return "warning" if finding.severity == Severity.LOW else "notice"


def _annotation(finding: Finding, scrubber: Scrubber, cwd: str | None) -> str:
    history = ""
    if finding.commit is not None:  # --history: where the key is now, and where it came from
        status = "still in HEAD" if finding.in_head else "no longer in HEAD, still in history"
        history = f" [introduced in commit {finding.commit[:12]}, {status}]"
        if finding.head_location is not None:
            finding = replace(finding, location=finding.head_location)
    loc = finding.location
    line, col, end_line, end_col = finding.raw_region()
    # The annotation's file is the repository-relative path GitHub knows the file by.
    uri = artifact_uri(loc.path, cwd)
    path = loc.path if uri.startswith("file:") else unquote(uri, errors="surrogateescape")
    title = f"{finding.rule_id} {finding.title}"
    message = finding.message or f"{finding.title} ({finding.secret.redacted})."
    if loc.cell is not None:
        # The raw line is in the JSON text; say where that is in notebook terms too.
        message = f"{loc.display()}: {message}"
    if finding.verification.state.value != "not-checked":
        detail = f" ({finding.verification.detail})" if finding.verification.detail else ""
        message += f" [verification: {finding.verification.state.value}{detail}]"
    message += history
    props = [("file", path), ("line", str(line)), ("endLine", str(end_line))]
    if end_line == line:
        # GitHub's check annotations accept columns only on a single-line range.
        props += [("col", str(col)), ("endColumn", str(end_col))]
    props.append(("title", title))
    # The file is a location GitHub resolves: only the run's secrets are redacted there.
    rendered = ",".join(
        f"{k}={escape_property(scrubber.location(v) if k == 'file' else scrubber.text(v))}"
        for k, v in props
    )
    return f"::{command_for(finding)} {rendered}::{escape_data(scrubber.text(message))}"


def render_github(findings: Sequence[Finding], *, cwd: str | None = None) -> str:
    """Workflow commands for `findings`, sorted, one per line (empty string when none)."""
    scrubber = Scrubber(findings)
    ordered = sorted(findings, key=lambda f: (f.sort_key(), f.fingerprint))
    return "".join(_annotation(f, scrubber, cwd) + "\n" for f in ordered)
