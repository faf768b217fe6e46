"""Which blobs need a scan (placeholder: all of them; see the diff gate below)."""

from __future__ import annotations

from collections.abc import Sequence

from keyguard.history.git import Git


def gated_blobs(git: Git, commits: Sequence[str], specs: Sequence[str], blobs: set[str]) -> set[str]:
    return set(blobs)
