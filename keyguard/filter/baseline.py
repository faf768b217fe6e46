"""Baselines: the findings a team has accepted, as content fingerprints per path.

File format (version 1), sorted and deterministic so it diffs and merges cleanly::

    {
      "results": {
        "src/app.py": [
          {"fingerprint": "<sha256 hex of 'KG201:<secret>'>", "rule": "KG201"}
        ]
      },
      "tool": "keyguard",
      "version": 1
    }

No line numbers, no timestamps, no secrets (detect-secrets' baselines churn on line numbers and
`generated_at`; gitleaks' position-based fingerprints hide a *different* secret placed on an
ignored line). A finding is known when (path, rule, fingerprint) is in the baseline: moving
the same secret to another line keeps it known, a different secret on the same line is new.

Paths are posix paths relative to the directory holding the baseline file, so a baseline
works whatever directory keyguard runs from. Findings carry paths relative to the current
directory (or absolute); they are normalised here.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keyguard.model import Finding

BASELINE_VERSION = 1
DEFAULT_BASELINE = ".keyguard-baseline.json"
HEX64 = re.compile(r"[0-9a-f]{64}")


class BaselineError(ValueError):
    """The baseline file is missing, unreadable, not JSON or not a keyguard baseline."""


Entry = tuple[str, str]  # (rule id, fingerprint)


def _relative_to(path: str, directory: Path) -> str:
    """`path` (relative to the current directory, or absolute) relative to `directory`, posix."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, directory)
    except ValueError:  # another drive on Windows: keep the absolute path
        rel = absolute
    return rel.replace(os.sep, "/")


@dataclass
class Baseline:
    """Accepted findings: baseline-relative posix path -> set of (rule id, fingerprint).

    `path` is the baseline file (absolute); it fixes the directory paths are relative to.
    """

    path: Path
    results: dict[str, set[Entry]] = field(default_factory=dict)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def key(self, finding: Finding) -> tuple[str, str, str]:
        """(baseline-relative path, rule id, fingerprint) of a finding.

        The path is stored as `keyguard.report.redact.safe_text` prints it: a folder or file named
        after a key is redacted, control characters and undecodable bytes are escaped (the
        file is committed and shared). Lookups use the same form, so matching still works.
        """
        from keyguard.report._scrub import scrub, secret_map
        from keyguard.report.redact import safe_text

        rel = _relative_to(finding.location.path, self.directory)
        rel = safe_text(scrub(rel, secret_map([finding])))  # as the reports print it
        return rel, finding.rule_id, finding.fingerprint

    def __contains__(self, finding: object) -> bool:
        if not isinstance(finding, Finding):
            return False
        rel, rule, fp = self.key(finding)
        return (rule, fp) in self.results.get(rel, ())

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.results.values())

    def add(self, finding: Finding) -> None:
        rel, rule, fp = self.key(finding)
        self.results.setdefault(rel, set()).add((rule, fp))

    def filter(self, findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
        """Split findings into (new, known), each in the input order."""
        new: list[Finding] = []
        known: list[Finding] = []
        for finding in findings:
            (known if finding in self else new).append(finding)
        return new, known

    def to_json(self) -> str:
        """The file text: sorted keys and entries, 2-space indent, trailing newline."""
        results = {
            path: [{"fingerprint": fp, "rule": rule} for rule, fp in sorted(entries)]
            for path, entries in sorted(self.results.items())
            if entries
        }
        data = {"results": results, "tool": "keyguard", "version": BASELINE_VERSION}
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the baseline atomically (temp file + rename) to `path` or `self.path`.

        Writing to another directory re-bases the paths so they stay correct. Returns the
        file written. Raises BaselineError when the file cannot be written.
        """
        target = Path(os.path.abspath(path)) if path is not None else self.path
        baseline = self if target.parent == self.directory else self.rebased(target)
        text = baseline.to_json()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".keyguard-baseline.", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(text)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise BaselineError(f"{target}: cannot write baseline: {exc}") from None
        return target

    def rebased(self, new_path: str | os.PathLike[str]) -> Baseline:
        """The same entries with paths relative to `new_path`'s directory."""
        new_path = Path(os.path.abspath(new_path))
        out = Baseline(new_path)
        for rel, entries in self.results.items():
            moved = _relative_to(os.path.join(self.directory, rel), new_path.parent)
            out.results.setdefault(moved, set()).update(entries)
        return out


def baseline_from_findings(findings: Iterable[Finding], path: str | os.PathLike[str]) -> Baseline:
    """A Baseline (not yet written) holding every finding, for a file at `path`."""
    baseline = Baseline(Path(os.path.abspath(path)))
    for finding in findings:
        baseline.add(finding)
    return baseline


def write_baseline(findings: Iterable[Finding], path: str | os.PathLike[str]) -> Baseline:
    """Write `findings` as a baseline file at `path` (replacing it). Returns the Baseline.

    Raises BaselineError when the file cannot be written.
    """
    baseline = baseline_from_findings(findings, path)
    baseline.save()
    return baseline


def _invalid(path: Path, why: str) -> BaselineError:
    return BaselineError(f"{path}: not a keyguard baseline: {why}")


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline file. Raises BaselineError with the file and the reason.

    Checks: readable, JSON, an object with `"version": 1`, `results` mapping paths to lists of
    `{"rule": ..., "fingerprint": <64 hex>}`. Unknown extra keys are tolerated (a newer minor
    writer may add some); a different version is refused rather than misread.
    """
    target = Path(os.path.abspath(path))
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(
            f"{target}: baseline file not found (create it with `keyguard baseline -o {path}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{target}: cannot read baseline: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _invalid(target, f"invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise _invalid(target, "the top level must be a JSON object")
    version = data.get("version")
    if version != BASELINE_VERSION:
        raise _invalid(
            target, f"unsupported version {version!r} (this keyguard reads version 1)"
        )
    results = data.get("results")
    if not isinstance(results, dict):
        raise _invalid(target, "'results' must be an object of path -> list of entries")
    baseline = Baseline(target)
    for rel, entries in results.items():
        if not isinstance(entries, list):
            raise _invalid(target, f"results[{rel!r}] must be a list")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise _invalid(target, f"results[{rel!r}][{i}] must be an object")
            rule, fp = entry.get("rule"), entry.get("fingerprint")
            if not isinstance(rule, str) or not rule:
                raise _invalid(target, f"results[{rel!r}][{i}]: 'rule' must be a rule id")
            if not (isinstance(fp, str) and HEX64.fullmatch(fp)):
                raise _invalid(
                    target, f"results[{rel!r}][{i}]: 'fingerprint' must be 64 lowercase hex digits"
                )
            baseline.results.setdefault(rel.replace("\\", "/"), set()).add((rule, fp))
    return baseline


def prune(
    baseline: Baseline, findings: Iterable[Finding], scanned: Sequence[str] | None = None
) -> Baseline:
    """A copy of `baseline` without the entries no current finding matches.

    scanned: the paths (files or directories, relative to the current directory) the findings
        come from. Entries for paths outside them are kept: pruning after scanning `src/`
        must not drop the accepted findings of `tests/`. None means everything was scanned.
    Never adds entries.
    """
    present: set[tuple[str, str, str]] = {baseline.key(f) for f in findings}
    scopes = None if scanned is None else [os.path.abspath(p) for p in scanned]

    def in_scope(rel: str) -> bool:
        if scopes is None:
            return True
        entry = os.path.normpath(os.path.join(baseline.directory, rel))
        return any(
            entry == s or entry.startswith(s.rstrip(os.sep) + os.sep) for s in scopes
        )

    out = Baseline(baseline.path)
    for rel, entries in baseline.results.items():
        kept = {e for e in entries if not in_scope(rel) or (rel, *e) in present}
        if kept:
            out.results[rel] = kept
    return out


def merge(
    baseline: Baseline, findings: Iterable[Finding], scanned: Sequence[str] | None = None
) -> Baseline:
    """`baseline` with the entries under `scanned` replaced by `findings`.

    What `keyguard baseline PATHS -o FILE` does when FILE exists: rescanning `src/` refreshes
    the entries of `src/` and keeps those of `tests/`. With `scanned` None every entry is
    replaced (the result holds exactly `findings`).
    """
    out = prune(baseline, [], scanned) if scanned is not None else Baseline(baseline.path)
    for finding in findings:
        out.add(finding)
    return out
