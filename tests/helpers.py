"""Shared test helpers: where ../shared is, and a one-call scan of files written to a folder."""

from __future__ import annotations

from pathlib import Path

from keyguard.config import Config
from keyguard.model import Finding
from keyguard.pipeline.scan import ScanResult, scan_paths

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
NO_SHARED = f"../shared is not beside the checkout ({SHARED}): corpus tests need it"


def scan_tree(folder: Path, monkeypatch, paths: list[str] | None = None, **config: object) -> ScanResult:
    """Scan `paths` (default: every file) inside `folder`, with paths relative to it."""
    monkeypatch.chdir(folder)
    if paths is None:
        paths = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    return scan_paths(paths, Config(jobs=1, **config))  # type: ignore[arg-type]


def rule_lines(findings: list[Finding]) -> list[tuple[str, int]]:
    return sorted((f.rule_id, f.location.line) for f in findings)
