"""Which files to scan, and why the others were skipped.

Inside a git work tree a directory is expanded with `git ls-files` (tracked plus untracked
files that are not ignored, so `.gitignore` is honoured exactly as git does). Elsewhere it is
a plain walk that does not follow directory symlinks (no loops) and skips VCS, cache and
virtual-environment directories. Explicitly named files are always candidates.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

# Directories a plain walk never enters (VCS metadata, caches, virtual environments).
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
    ".tox", ".nox", ".venv", "venv", "node_modules", ".ipynb_checkpoints", "site-packages",
})
# keyguard's own findings cache (keyguard.pipeline.cache): skipped without a word in the summary.
OWN_CACHE_DIR = ".keyguard_cache"
# Extensions that are never text: skipped without reading.
BINARY_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".pdf", ".zip", ".gz", ".tgz",
    ".bz2", ".xz", ".7z", ".tar", ".whl", ".egg", ".so", ".dylib", ".dll", ".exe", ".pyc",
    ".pyo", ".o", ".a", ".class", ".jar", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3",
    ".mp4", ".mov", ".avi", ".wav", ".npy", ".npz", ".pkl", ".pickle", ".h5", ".hdf5",
    ".parquet", ".sqlite", ".db", ".pt", ".onnx",
})


# Skip reasons, shared with the history scan (keyguard.sources.history.paths), which counts
# the same files under the same names.
EXCLUDED = "excluded by configuration"
BINARY = "binary file"


def binary_by_name(path: str) -> bool:
    """Whether `path`'s extension says the file is never text (BINARY_SUFFIXES, any case):
    such a file is skipped without being read, in the tree and in history alike."""
    return os.path.splitext(path)[1].lower() in BINARY_SUFFIXES


@dataclass
class Discovery:
    """Result of discovery: files to scan (paths as the user will see them) and problems.

    `skipped` maps a reason ("binary file", "excluded by configuration") to a count and
    `skipped_files` lists (path, reason) for `--verbose` and SARIF notifications; `errors`
    lists messages about paths that could not be used at all; `problems` names files inside
    directories that were skipped for a reason the user should see (broken symlink, symlink
    loop); `excluded_named` lists files named on the command line that `exclude` matches,
    scanned anyway (without `force_exclude`), so the user can be warned.
    """

    files: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # named skips inside directories
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    excluded_named: list[str] = field(default_factory=list)

    def skip(self, reason: str, path: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.skipped_files.append((path, reason))


def _display(path: str) -> str:
    """Normalise a path for output: no leading './', forward slashes."""
    path = os.path.normpath(path)
    return path.replace(os.sep, "/")


def git_files(directory: str) -> list[str] | None:
    """Tracked + untracked-not-ignored files under `directory`, or None outside a work tree.

    Paths are relative to `directory`. git's own quoting is avoided with -z.
    """
    import subprocess  # here: a hook run names its files and never lists a tree

    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--deduplicate"],
            cwd=directory,
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def _walk(directory: str, discovery: Discovery) -> Iterator[str]:
    def onerror(exc: OSError) -> None:
        discovery.errors.append(f"{_display(exc.filename or directory)}: cannot read directory ({exc.strerror})")

    for root, dirs, files in os.walk(directory, onerror=onerror, followlinks=False):
        kept = []
        for d in dirs:
            if d == OWN_CACHE_DIR:
                continue
            if d in SKIP_DIRS:
                discovery.skip("VCS, cache or virtual-environment directory",
                               _display(os.path.join(root, d)))
            else:
                kept.append(d)
        dirs[:] = sorted(kept)
        for name in sorted(files):
            yield os.path.join(root, name)


def discover(paths: Sequence[str], is_excluded: Callable[[str, bool], bool] | None = None,
             *, force_exclude: bool = False) -> Discovery:
    """Expand `paths` (files or directories) into the files to scan.

    `is_excluded(path, is_dir)` applies the configuration's exclude patterns. As with ruff, a
    path the user names explicitly is scanned even when a pattern excludes it (`keyguard scan
    examples/` works in a project that excludes examples/ from `keyguard scan .`; a named file
    is also listed in `excluded_named`); files inside a named directory still honour the other
    patterns. `force_exclude=True` (ruff's `--force-exclude`, what pre-commit hooks want, since
    pre-commit names every file) applies `exclude` to named paths too. Missing paths become
    errors; broken symlinks, symlink loops and non-regular files are skipped with a reason.
    Never raises for bad paths.
    """
    discovery = Discovery()
    seen: set[str] = set()

    def consider(path: str, explicit: bool, check_exclude: bool = True) -> None:
        shown = _display(path)
        if shown in seen:
            return
        seen.add(shown)
        if check_exclude and is_excluded is not None and is_excluded(shown, False):
            if not explicit or force_exclude:
                discovery.skip(EXCLUDED, shown)
                return
            discovery.excluded_named.append(shown)
        if os.path.islink(path) and not os.path.exists(path):
            reason = "broken symlink"
            try:
                os.stat(path)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    reason = "symlink loop"
            discovery.skip(reason, shown)
            # Name the file: a count alone does not tell the user what to look at.
            (discovery.errors if explicit else discovery.problems).append(f"{shown}: skipped, {reason}")
            return
        if binary_by_name(path):
            discovery.skip(BINARY, shown)
            return
        if not explicit and os.path.isdir(path):
            return  # git lists submodules as paths; they are scanned from their own checkout
        discovery.files.append(shown)

    for given in paths:
        if not os.path.lexists(given):
            discovery.errors.append(f"{given}: no such file or directory")
            continue
        if os.path.isdir(given):
            named_excluded = (
                is_excluded is not None and _display(given) != "." and is_excluded(_display(given), True)
            )
            if named_excluded and force_exclude:
                discovery.skip(EXCLUDED, _display(given))
                continue
            listed = git_files(given)
            candidates = _walk(given, discovery) if listed is None else (os.path.join(given, r) for r in listed)
            for path in candidates:
                consider(path, explicit=False, check_exclude=not named_excluded)
        else:
            consider(given, explicit=True)
    return discovery
