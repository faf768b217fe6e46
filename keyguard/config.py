"""Settings of a run: `[tool.keyguard]` (pyproject.toml or .keyguard.toml) merged with flags.

Command-line flags win over the file. Loading and validation of the file live here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keyguard.model import Severity


class ConfigError(ValueError):
    """Invalid configuration (unknown key, bad value). The CLI exits 2 with this message."""


@dataclass(frozen=True)
class Config:
    """Effective settings.

    select / ignore: rule id prefixes (`KG1`, `KG201`); None selects every rule.
    exclude: gitignore-style patterns, relative to `root`.
    per_file_ignores: gitignore-style pattern -> rule id prefixes ignored in matching files.
    extend_rules: extra rule pack files (absolute paths).
    fail_on: lowest severity that makes the exit code 1.
    baseline: baseline file (absolute path) or None.
    root: directory of the config file (or the current directory when there is none).
    max_file_size: files larger than this (bytes) are skipped with a reason.
    jobs: worker processes (0: one per core).
    """

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extend_rules: tuple[str, ...] = ()
    fail_on: Severity = Severity.MEDIUM
    baseline: str | None = None
    root: str = "."
    max_file_size: int = 10 * 1024 * 1024
    jobs: int = 0
    config_file: str | None = None
