"""Git history scanning (`keyguard scan --history`): one job per module.

start (repository, paths, the commit listing started at once) · git (running git, versions,
repository) · commits (rev-list, which blob each commit put at which path) · early (the
pass's head start over the newest commits) · diffpass (one `git log -p --raw` pass: diff
sections and changes) · gate (which blobs can hold a new secret) · objects (cat-file
streaming) · blobscan (scan_bytes over distinct blobs) · attribute (first sighting per
secret and path) · run (the pipeline).

`run` is imported when first named here, not with the package: `start` must be importable
without the scan pipeline (the CLI starts the listing before it loads the scanners).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyguard.sources.history.git import GitError
from keyguard.sources.history.start import HistoryStart, start_history

if TYPE_CHECKING:
    from keyguard.sources.history.run import HistoryResult, scan_history

__all__ = ["GitError", "HistoryResult", "HistoryStart", "scan_history", "start_history"]


def __getattr__(name: str) -> Any:
    if name in ("HistoryResult", "scan_history"):
        from keyguard.sources.history import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
