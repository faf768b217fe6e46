"""What a history scan reads, settled first: the repository, the paths inside it, its state
(no commits yet, a shallow clone) and the commits, whose `git rev-list` is started at once
(with `git ls-tree` of HEAD and the diff pass's head start) so that git lists them while
keyguard loads its configuration and its scanners.

Only git, the commit listing and the head start are imported here: the CLI starts a history
scan before it imports the scan pipeline (`keyguard.sources.history.run`).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from typing import NamedTuple

from keyguard.sources.history.commits import SYMLINK_MODE, Listing
from keyguard.sources.history.early import EarlyLog
from keyguard.sources.history.git import Git, GitError

ALL_REFS = "--all"


class HistoryStart(NamedTuple):
    """A history scan, started: `git` (the repository), `specs` (pathspecs of the paths to
    scan, [] for all), `words` (rev-list arguments), `has_commits`, `boundary` (the commits a
    shallow clone lacks the parents of; [] otherwise), `listing` (None without commits),
    `head_tree`, the started `git ls-tree` of HEAD (None without commits; `head_tree_of`
    reads it) and `early`, the diff pass's head start (keyguard.sources.history.early; None
    without commits)."""

    git: Git
    specs: list[str]
    words: list[str]
    has_commits: bool
    boundary: list[str]
    listing: Listing | None
    head_tree: subprocess.Popen[bytes] | None = None
    early: EarlyLog | None = None

    def stop(self) -> None:
        """End the started listing, tree listing and head start unread (the scan will not
        run)."""
        if self.early is not None:
            self.early.stop()
        if self.listing is not None:
            self.listing.stop()
        if self.head_tree is not None:
            self.head_tree.kill()
            self.head_tree.communicate()


def start_history(paths: Sequence[str], revisions: str) -> HistoryStart:
    """Start a scan of the commits `revisions` selects (see `parse_revisions`) in the
    repository holding `paths[0]`, limited to `paths`. GitError for no git / not a
    repository / a path outside it / a word that is no revision."""
    paths = list(paths) or ["."]
    git = Git.at(paths[0])
    specs = _pathspecs(git, paths)
    words = parse_revisions(revisions)
    has_commits, boundary = git.state()
    listing = Listing(git, words, specs) if has_commits else None
    # HEAD's files, which every history scan needs (what is still in HEAD), listed by git
    # while the configuration loads: a few ms less before the scan's first step.
    head_tree = git.popen(["ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *specs]
                          ) if has_commits else None
    early = EarlyLog(git, words, specs) if has_commits else None
    return HistoryStart(git, specs, words, has_commits, boundary, listing, head_tree, early)


def head_tree_of(start: HistoryStart) -> dict[bytes, str]:
    """Raw path -> blob name of every file in HEAD but symbolic links ({} without commits
    or when HEAD is unborn), from the started `ls-tree`."""
    if start.head_tree is None:
        return {}
    out, _ = start.head_tree.communicate()
    tree: dict[bytes, str] = {}
    if start.head_tree.returncode != 0:
        return tree
    for entry in out.split(b"\0"):
        meta, _, raw = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob" and parts[0] != SYMLINK_MODE:
            tree[raw] = parts[2].decode()
    return tree


def parse_revisions(value: str) -> list[str]:
    """`--history` value -> rev-list arguments (empty or `--all`: every ref)."""
    words = shlex.split(value) if value.strip() else [ALL_REFS]
    for word in words:
        if word.startswith("--output") or word.startswith("--exec"):
            raise GitError(f"--history: {word!r} is not a revision")
    return words


def _pathspecs(git: Git, paths: Sequence[str]) -> list[str]:
    """Literal pathspecs of `paths` from the repository's top ([] when one is the top)."""
    specs = []
    root = os.path.realpath(git.root)
    for path in paths:
        rel = os.path.relpath(os.path.realpath(path), root)
        if rel == ".":
            return []
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):  # not "..data"
            raise GitError(f"{path}: outside the repository at {git.root}")
        specs.append(":(top,literal)" + rel.replace(os.sep, "/"))
    return specs
