"""Blob findings -> history findings: one per (secret, path), with the introducing commit.

Changes arrive parents-before-children, so the first change whose blob holds a finding's
fingerprint at a path is the commit that introduced the secret there. The same secret in a
thousand later commits, or on another branch, stays that one finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from keyguard.model import Finding, Location
from keyguard.pipeline.scan import FileResult
from keyguard.sources.history.commits import Change
from keyguard.sources.history.paths import PathInfo


@dataclass
class Introduced:
    """The first sighting of a fingerprint at a path: the change and the blob's finding."""

    change: Change
    finding: Finding
    reason: str | None = None  # set for findings suppressed by an ignore comment


def _at(finding: Finding, path: str) -> Finding:
    """`finding` (found in a blob scanned as some path) placed at `path`."""
    if finding.location.path == path:
        return finding
    return replace(finding, location=finding.location._replace(path=path))


def first_sightings(
    changes: Iterable[tuple[Change, PathInfo]], results: Mapping[tuple[str, str], FileResult],
) -> tuple[dict[tuple[str, str], Introduced], dict[tuple[str, str], Introduced]]:
    """(reported, ignored): fingerprint and display path -> first sighting, over `changes`
    given as (change, its path's info) in commit order; `results` maps (blob, kind) to its
    scan."""
    reported: dict[tuple[str, str], Introduced] = {}
    ignored: dict[tuple[str, str], Introduced] = {}
    # Few blobs hold a finding: the rest of the changes are passed over by one set lookup.
    holding = {blob for (blob, _), result in results.items() if result.findings or result.ignored}
    for change, info in changes:
        if change.blob not in holding:
            continue
        result = results.get((change.blob, info.kind))
        if result is None:
            continue
        path = info.shown
        for finding in result.findings:
            key = (finding.fingerprint, path)
            if key not in reported:
                reported[key] = Introduced(change, _at(finding, path))
        for finding, reason in result.ignored:
            key = (finding.fingerprint, path)
            if key not in ignored:
                ignored[key] = Introduced(change, _at(finding, path), reason)
    return reported, ignored


def history_finding(seen: Introduced, *, in_head: bool, refs: Sequence[str],
                    head_location: Location | None) -> Finding:
    """The blob finding with its commit, commit date, HEAD status and refs."""
    return replace(
        seen.finding,
        commit=seen.change.commit,
        commit_date=seen.change.date,
        in_head=in_head,
        refs=tuple(refs),
        head_location=head_location if in_head else None,
    )
