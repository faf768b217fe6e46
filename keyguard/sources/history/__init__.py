"""Git history scanning (`keyguard scan --history`): one job per module.

git (running git, versions, repository) · commits (rev-list, which blob each commit put at
which path) · diffpass (one `git log -p --raw` pass: diff sections and changes) · gate
(which blobs can hold a new secret) · objects (cat-file streaming) ·
blobscan (scan_bytes over distinct blobs) · attribute (first sighting per secret and path)
· run (the pipeline).
"""

from keyguard.sources.history.git import GitError
from keyguard.sources.history.run import HistoryResult, scan_history

__all__ = ["GitError", "HistoryResult", "scan_history"]
