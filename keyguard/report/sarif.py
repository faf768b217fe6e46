"""SARIF 2.1.0 output for GitHub code scanning (`keyguard scan --format sarif`).

Emits every property GitHub's "Supported SARIF output file properties" tables mark as
required (tool.driver name and rules with id, short/full description and help; results with
ruleId, message, one physical location with a repo-relative uri and a full 1-based region,
partialFingerprints), plus `security-severity` so alerts rank as security results.

Never the secret: no `snippet`, no `contextRegion`, messages are the findings' redacted
texts, and the whole log is scrubbed before it is serialised (`report._scrub.Scrubber`: the
run's real secrets everywhere, key shapes and control characters in every text; gitleaks'
SARIF writer puts the raw secret in `region.snippet.text`; keyguard must not).

Every log carries one `invocations` entry: `executionSuccessful` is false when the scan did
not complete (a path that does not exist, a directory that cannot be read), so a consumer
never takes an incomplete run for a clean one; errors, skipped files and notes are
`toolExecutionNotifications`. URIs are relative to `%SRCROOT%`, the git top level of the
repository holding the scanned paths (what GitHub resolves them against), whatever the
current directory; `originalUriBaseIds` says where that is.

Notebook findings point at the raw JSON file (`raw_line`/`raw_column`), which is what GitHub
shows for an `.ipynb`; the cell and the line inside it go into the result's properties.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote

from keyguard import REPOSITORY_URL
from keyguard.model import Finding, Severity, VerificationState
from keyguard.report._scrub import Scrubber
from keyguard.report.advice import Facts, behaviour, help_texts, precision
from keyguard.rulepack.load import Rule, RuleSet

SARIF_VERSION = "2.1.0"
# The `id` of the OASIS schema keyguard's tests validate against (errata01).
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = REPOSITORY_URL  # no package index release yet: the repository
FINGERPRINT_KEY = "keyguard/v1"

# GitHub maps security-severity to a label: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
# 0.1-3.9 low. One value inside each band, so GitHub's label equals keyguard's severity.
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}

# SARIF levels: error/warning/note. Medium and above block a merge by default (fail-on
# medium), so they are errors; low is a warning; info (a CRN, not a secret) a note.
LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "error",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}

# A live key (or a live but restricted one) is an error whatever the rule's severity.
LIVE_STATES = frozenset({VerificationState.VERIFIED, VerificationState.RESTRICTED})


def level_for(finding: Finding) -> str:
    """SARIF level of one finding: from severity, raised to error when the key is live."""
    if finding.verification.state in LIVE_STATES:
        return "error"
    return LEVEL[finding.severity]


def _rule_name(rule: Rule) -> str:
    """PascalCase name from the rule id and kind (`KG101`, `ionq-api-key` -> `IonqApiKey`)."""
    words = re.split(r"[^A-Za-z0-9]+", rule.kind)
    name = "".join(w[:1].upper() + w[1:] for w in words if w)
    # Two rules may share a kind (KG101/KG102); the type keeps names distinct.
    name += behaviour(rule).name_suffix
    return name or rule.id


def _rule_descriptor(rule: Rule, ruleset: RuleSet) -> dict[str, Any]:
    provider = ruleset.providers[rule.provider]
    provider_name = provider.name
    fix_text, fix_md = help_texts(rule, Facts(provider, rule.env_var))
    return {
        "id": rule.id,
        "name": _rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {
            "text": f"{rule.description}\n\n{fix_text}",
            "markdown": (
                f"## {rule.id}: {rule.title} ({provider_name})\n\n"
                f"{rule.description}\n\n{fix_md}"
            ),
        },
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "tags": ["security", "secret"],
            "precision": precision(rule),
            "provider": rule.provider,
            "severity": rule.severity.label,
        },
    }


@dataclass(frozen=True)
class Invocation:
    """How the run went, for SARIF `invocations`: errors (the scan did not complete), skipped
    files as (path, reason), notes as (path, text), and how many files were scanned."""

    errors: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[tuple[str, str], ...] = ()
    files_scanned: int | None = None  # None: not known


def source_root(paths: Sequence[str], cwd: str | None = None) -> str:
    """The directory URIs are relative to: the git top level of the repository that holds the
    common directory of `paths`, else the current directory (absolute, symlinks resolved).

    One `git rev-parse --show-toplevel`; without git (or outside a work tree) the current
    directory, as before.
    """
    here = os.path.abspath(cwd or os.getcwd())
    dirs = []
    for p in paths or (".",):
        absolute = os.path.join(here, p) if p != "-" else here
        dirs.append(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))
    try:
        common = os.path.commonpath(dirs)
    except ValueError:  # different drives
        common = here
    while not os.path.isdir(common) and os.path.dirname(common) != common:
        common = os.path.dirname(common)  # a missing path: start from what exists
    try:
        proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=common,
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        proc = None
    if proc is not None and proc.returncode == 0 and proc.stdout.strip():
        return os.path.realpath(proc.stdout.strip())
    return os.path.realpath(here)


def artifact_uri(path: str, cwd: str | None = None) -> str:
    """Root-relative URI (forward slashes, percent-encoded) for a finding's path.

    Relative `path`s are relative to the current directory; the URI is relative to `cwd`
    (the source root, see `source_root`; default: the current directory). A path outside it
    keeps an absolute `file://` URI rather than a misleading `../` path.
    """
    base = Path(cwd or os.getcwd()).resolve()
    p = Path(path)
    absolute = p if p.is_absolute() else Path(os.getcwd()) / p
    # Resolve `..` and symlinks: GitHub requires resolved paths, stable between runs.
    try:
        absolute = absolute.resolve()
    except OSError:
        absolute = Path(os.path.normpath(absolute))
    try:
        rel = absolute.relative_to(base)
    except ValueError:
        return absolute.as_uri()
    # surrogateescape: the bytes of a file name that is not UTF-8 become %XX, not an error.
    return quote(PurePosixPath(*rel.parts).as_posix(), safe="/", errors="surrogateescape")


def _region(finding: Finding) -> dict[str, int]:
    """1-based region on the raw file; end column exclusive, as in SARIF and `Location`."""
    start_line, start_col, end_line, end_col = finding.raw_region()
    return {"startLine": start_line, "startColumn": start_col, "endLine": end_line,
            "endColumn": end_col}


def _result(finding: Finding, rule_index: int, uri: str, occurrence: int) -> dict[str, Any]:
    loc = finding.location
    digest = hashlib.sha256(f"{uri}\0{finding.fingerprint}".encode()).hexdigest()
    properties: dict[str, Any] = {
        "severity": finding.severity.label,
        "confidence": finding.confidence.label,
        "provider": finding.provider,
        "kind": finding.kind,
    }
    if finding.is_secret:
        properties["redacted"] = finding.secret.redacted
    if finding.env_var:
        properties["env_var"] = finding.env_var
    if finding.context:
        properties["context"] = finding.context
    if finding.verification.state is not VerificationState.NOT_CHECKED:
        properties["verification"] = finding.verification.state.value
        if finding.verification.detail:
            properties["verification_detail"] = finding.verification.detail
    if finding.commit is not None:
        properties.update(_history_properties(finding))
    if loc.cell is not None:
        properties["cell"] = loc.cell + 1  # 1-based, as in `nb.ipynb:cell 3:2:8`
        properties["cell_line"] = loc.cell_line
        properties["cell_column"] = loc.column
        if loc.part:
            properties["part"] = loc.part
        if loc.output_index is not None:
            properties["output"] = loc.output_index + 1
    message = finding.message or f"{finding.title} ({finding.secret.redacted})."
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": level_for(finding),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": _region(finding),
                }
            }
        ],
        # Content fingerprint + path: stable when lines move, different per file. The
        # occurrence number separates the same key twice in one file (CodeQL's `hash:n`).
        "partialFingerprints": {FINGERPRINT_KEY: f"{digest}:{occurrence}"},
        "properties": properties,
    }


def _history_properties(finding: Finding) -> dict[str, Any]:
    """A --history result's commit, date, HEAD status and refs (the physical location is
    where the key is in HEAD when it still is, else where the commit put it)."""
    properties: dict[str, Any] = {
        "commit": finding.commit,
        "commit_date": finding.commit_date,
        "in_head": bool(finding.in_head),
        "refs": list(finding.refs or ()),
    }
    if finding.head_location is None:
        properties["commit_line"] = finding.location.line
    return properties


def _scrub_tree(node: Any, scrubber: Scrubber) -> Any:
    """Every string through `scrubber`: URIs as machine locations (re-quoted when a secret
    was redacted in one), fingerprints untouched, all other text as human text."""
    if isinstance(node, str):
        return scrubber.text(node)
    if isinstance(node, list):
        return [_scrub_tree(v, scrubber) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "partialFingerprints" or (key == "commit" and isinstance(value, str)):
            out[key] = value  # a commit is a git object name (--history), not scanned text
        elif key == "uri" and isinstance(value, str):
            out[key] = _scrub_uri(value, scrubber)
        else:
            out[key] = _scrub_tree(value, scrubber)
    return out


def _scrub_uri(uri: str, scrubber: Scrubber) -> str:
    """A URI is percent-encoded (no control character survives in it): only a secret of the
    run in the decoded path is redacted, and the result encoded again."""
    plain = unquote(uri, errors="surrogateescape")
    cleaned = scrubber.scrub(plain)
    if cleaned == plain:
        return uri
    return quote(cleaned, safe="/:", errors="surrogateescape")


def _notification(level: str, text: str, path: str | None, root: str | None) -> dict[str, Any]:
    note: dict[str, Any] = {"level": level, "message": {"text": text}}
    if path:
        uri = artifact_uri(path, root)
        location: dict[str, Any] = {"uri": uri}
        if not uri.startswith("file:"):
            location["uriBaseId"] = "%SRCROOT%"
        note["locations"] = [{"physicalLocation": {"artifactLocation": location}}]
    return note


# Skips the user should look at (a file was meant to be scanned); the rest are notes.
_WARNING_SKIPS = ("unreadable", "vanished", "not a regular", "too deeply", "broken symlink",
                  "symlink loop", "larger than")


def _invocation(invocation: Invocation, root: str | None) -> dict[str, Any]:
    notes = [_notification("error", e, None, root) for e in invocation.errors]
    for path, reason in invocation.skipped:
        level = "warning" if reason.startswith(_WARNING_SKIPS) else "note"
        notes.append(_notification(level, f"{path}: skipped, {reason}", path, root))
    notes += [_notification("note", f"{p}: {text}", p, root) for p, text in invocation.notes]
    if invocation.files_scanned == 0 and not invocation.errors:
        notes.append(_notification("warning", "no file was scanned", None, root))
    return {"executionSuccessful": not invocation.errors, "toolExecutionNotifications": notes}


def build_sarif(
    findings: Sequence[Finding], ruleset: RuleSet, *, version: str, cwd: str | None = None,
    invocation: Invocation | None = None,
) -> dict[str, Any]:
    """The SARIF log as a dict (see `render_sarif`)."""
    rule_ids = sorted(set(ruleset.rules) | {f.rule_id for f in findings})
    rules = []
    names: set[str] = set()
    for rid in rule_ids:
        if rid in ruleset.rules:
            descriptor = _rule_descriptor(ruleset.rules[rid], ruleset)
            # Two rules of one kind and type (a provider's current and older key shape):
            # the later id keeps the name unique, as GitHub requires.
            if descriptor["name"] in names:
                descriptor["name"] += rid
            names.add(descriptor["name"])
            rules.append(descriptor)
        else:  # a finding of a rule outside the ruleset (should not happen): still valid SARIF
            rules.append({
                "id": rid, "name": rid, "shortDescription": {"text": rid},
                "fullDescription": {"text": rid}, "help": {"text": rid},
            })
    index = {rid: i for i, rid in enumerate(rule_ids)}

    results = []
    seen: dict[tuple[str, str], int] = {}
    ordered = sorted(findings, key=lambda f: (f.sort_key(), f.fingerprint))
    for finding in ordered:
        if finding.head_location is not None:  # --history: the key is still in the file
            finding = replace(finding, location=finding.head_location)
        uri = artifact_uri(finding.location.path, cwd)
        key = (uri, finding.fingerprint)
        seen[key] = seen.get(key, 0) + 1
        results.append(_result(finding, index[finding.rule_id], uri, seen[key]))

    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "keyguard",
                        "version": version,
                        "semanticVersion": version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "invocations": [_invocation(invocation or Invocation(), cwd)],
                "originalUriBaseIds": {
                    "%SRCROOT%": {"uri": Path(cwd or os.getcwd()).resolve().as_uri() + "/"}
                },
                # keyguard's columns count code points (Python string indexes).
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return _scrub_tree(log, Scrubber(findings))


def render_sarif(
    findings: Sequence[Finding], ruleset: RuleSet, *, version: str, cwd: str | None = None,
    invocation: Invocation | None = None,
) -> str:
    """SARIF 2.1.0 JSON text for `findings` (deterministic: sorted rules and results).

    Every rule of `ruleset` is listed (sorted by id), so rule metadata reaches GitHub even on
    a clean run; `results` is `[]` when there are no findings. `cwd` is the directory URIs
    are relative to (`source_root`; default: the current directory). `invocation` says how
    the run went (default: complete, nothing skipped).
    """
    log = build_sarif(findings, ruleset, version=version, cwd=cwd, invocation=invocation)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
