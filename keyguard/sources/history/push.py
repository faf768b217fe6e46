"""The commits a `git push` sends, as pre-commit describes them to a pre-push hook.

pre-commit sets PRE_COMMIT_FROM_REF (what the remote has) and PRE_COMMIT_TO_REF (what is
pushed); `FROM..TO` is then exactly the new commits. When the push starts a history (the
root commit is among them) pre-commit sets no range, only PRE_COMMIT_LOCAL_BRANCH: every
commit of that branch is new then. Outside pre-commit (`keyguard scan --pre-push` by hand)
the range is the commits of HEAD not on any remote-tracking branch.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping


def pushed_range(environ: Mapping[str, str]) -> str:
    """A `--history` value (rev-list arguments) for the commits being pushed."""
    source, target = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if source and target:
        return f"{shlex.quote(source)}..{shlex.quote(target)}"
    branch = environ.get("PRE_COMMIT_LOCAL_BRANCH")
    if branch:
        return shlex.quote(branch)
    return "HEAD --not --remotes"
