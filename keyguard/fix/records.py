"""The records `--fix` produces: a plan per file, its unfixable findings, a run over many files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from keyguard.model import Finding


class Unfixable(NamedTuple):
    """A finding `--fix` leaves alone: `instruction` says exactly what to do by hand.

    `reason` is a short machine-friendly category: comment, docstring, markdown, dotenv,
    config-file, ci-config, saved-account-file, shell, text-file, split-string,
    partial-fstring, escaped, bytes, syntax-error, too-deep, not-a-literal, magic, metadata,
    not-a-secret, not-fixable, changed, undecodable, old-format.
    """

    finding: Finding
    instruction: str
    reason: str


@dataclass
class FixPlan:
    """What `--fix` would do to one file.

    original: the file's bytes as read (None for documents not read from disk: nothing to write).
    new: the rewritten bytes, or None when nothing changes.
    stat: (st_mtime_ns, st_size, st_mode) of the file when read.
    fixed: findings the rewrite removes. unfixable: the others, each with an instruction.
    env_vars: environment variable -> provider id, for every variable the new code reads or the
        user must now set (removed `os.environ[...] = ...` lines, replaced `%env` magics).
    redact_values: values shown redacted in diffs (every finding's value except persist
        notices, whose value is code); never printed.
    notes: short messages for the summary (never secrets).
    """

    path: str
    kind: str
    original: bytes | None = None
    new: bytes | None = None
    stat: tuple[int, int, int] | None = None
    fixed: list[Finding] = field(default_factory=list)
    unfixable: list[Unfixable] = field(default_factory=list)
    env_vars: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    redact_values: set[str] = field(default_factory=set, repr=False)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.original is not None and self.new != self.original


def unfix(plan: FixPlan, findings: Iterable[Finding], instruction: str, reason: str) -> None:
    """Leave every one of `findings` to the user with the same instruction."""
    plan.unfixable.extend(Unfixable(f, instruction, reason) for f in findings)


@dataclass
class FixRun:
    """Outcome of `fix_findings` over many files.

    plans: one per file with findings. changed: files written (write=True) or that would
    change (write=False). remaining: the findings still in the code afterwards (not fixable,
    or in a file that could not be written). diff: the unified diff of every change.
    errors: messages for files that could not be read or written (never secrets).
    """

    plans: list[FixPlan] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    diff: str = ""
    errors: list[str] = field(default_factory=list)
