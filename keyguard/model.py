"""The ground floor every other module uses: secrets, severities, locations and findings.

A `Finding` is immutable. It holds the secret privately in a `Secret`, whose `repr`, `str`
and format output are always redacted, so a finding can be logged, printed or put in an
exception message without leaking the key. Only `Secret.reveal()` returns the raw value;
call sites of `reveal()` are the places to audit (verification, fix, `--show-secrets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum
from typing import NamedTuple


class Severity(IntEnum):
    """How bad a finding is; ordered so `>=` compares against a `--fail-on` threshold."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse `info|low|medium|high|critical` (case-insensitive); ValueError otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Confidence(IntEnum):
    """How sure the detector is that the string is a real credential."""

    LOW = 0
    MEDIUM = 1
    HIGH = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class VerificationState(str, Enum):
    """trufflehog's three states plus keyguard's refinements.

    verified: the provider accepted the key (live). unverified: the provider said it is
    invalid or revoked. unknown: the check failed (network, timeout, 429, 5xx, anything not
    positively classified); never lowers severity. restricted: live but not authorised
    (IonQ 403). retired: the platform is gone (legacy IBM Quantum, closed 2025-07-01).
    not-checked: verification not asked, or the kind has no check.
    """

    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    UNKNOWN = "unknown"
    RESTRICTED = "restricted"
    RETIRED = "retired"
    NOT_CHECKED = "not-checked"


class Verification(NamedTuple):
    """Result of asking a provider about one secret. `detail` is short and never secret."""

    state: VerificationState = VerificationState.NOT_CHECKED
    detail: str = ""


NOT_CHECKED = Verification()


def redact(value: str) -> str:
    """Redacted form of a secret: first 4 characters, an ellipsis and the length.

    Short values (< 12 chars) show no characters at all, so a redacted short secret does not
    give away a third of itself.
    """
    if len(value) < 12:
        return f"…({len(value)} chars)"
    return f"{value[:4]}…({len(value)} chars)"


class Secret:
    """A secret value held privately. Every textual form is redacted.

    Equality and hashing use the value, so secrets can be deduplicated. `sha256` is the hex
    SHA-256 of the UTF-8 value (what baselines and the labeled corpus store).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The raw value. Only verification, fixing and `--show-secrets` may call this."""
        return self._value

    @property
    def redacted(self) -> str:
        return redact(self._value)

    @property
    def sha256(self) -> str:
        import hashlib  # here: a clean pre-commit run never hashes (OpenSSL's import ~3 ms)

        return hashlib.sha256(self._value.encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.redacted})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self.redacted, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("keyguard.Secret", self._value))

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Needed to send findings back from worker processes; pickles never leave the run.
        return (Secret, (self._value,))


def fingerprint(rule_id: str, secret: Secret) -> str:
    """Content fingerprint: hex SHA-256 of ``"<rule id>:<secret>"``.

    Stable when the secret moves to another line, different when the secret changes, and
    it reveals nothing practical about the secret (keys have >= 128 bits of entropy).
    """
    import hashlib

    data = f"{rule_id}:{secret.reveal()}".encode()
    return hashlib.sha256(data).hexdigest()


class Location(NamedTuple):
    """Where a finding sits. Lines and columns are 1-based; `end_column` is exclusive.

    For plain files `line`/`column` are positions in the file and equal `raw_line`/`raw_column`.
    For notebooks `cell` is the 0-based index among all cells, `part` is "source" or
    "output", `cell_line` the 1-based line in the cell source (or in the output text, with
    `output_index` the index in the cell's outputs), and `raw_line` the line of the notebook's
    JSON text where the secret is (what SARIF and GitHub annotations point at).
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    raw_line: int
    raw_column: int
    cell: int | None = None
    part: str | None = None
    output_index: int | None = None

    @property
    def cell_line(self) -> int | None:
        return self.line if self.cell is not None else None

    def display(self) -> str:
        """`path:line:col` or, for notebooks, `path:cell N:line:col` with N 1-based (ruff's form)."""
        if self.cell is None:
            return f"{self.path}:{self.line}:{self.column}"
        where = f"cell {self.cell + 1}"
        if self.part == "output":
            where += f" output {(self.output_index or 0) + 1}"
        return f"{self.path}:{where}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Finding:
    """One detected credential (or notice) at one location.

    `context` says where it sits ("passed to QiskitRuntimeService(token=...)"), `message`
    is the full human text including the fix, `env_var` the suggested environment variable.
    `fixable` is set by the Python detector when the literal can be rewritten by `--fix`.
    `is_secret` is False for a notice (a save_account() call: `secret` holds the argument's
    code, e.g. `os.environ["QISKIT_IBM_TOKEN"]`): outputs scrub only real secrets' values
    from other text (keyguard.report._scrub).
    """

    rule_id: str
    provider: str
    kind: str
    title: str
    severity: Severity
    confidence: Confidence
    location: Location
    secret: Secret
    message: str
    env_var: str | None = None
    context: str = ""
    fixable: bool = False
    verification: Verification = NOT_CHECKED
    fingerprint: str = field(default="")
    # The file a persisting call writes (pack data: its call site's `saves_to`).
    saves_to: str | None = None
    # False for notices whose matched text is not a credential (KG205: the save_account()
    # call with an environment read): text output then shows no "[redacted]" value.
    is_secret: bool = True
    # History scans only (`keyguard scan --history`); None in tree scans. `commit` is the
    # full SHA of the commit that introduced the secret at this path, `commit_date` its
    # author date (ISO 8601), `in_head` whether HEAD still holds it at this path, `refs` the
    # refs whose history holds that commit (full names), `head_location` where it sits in
    # HEAD (the working-tree file) when `in_head`.
    commit: str | None = None
    commit_date: str | None = None
    in_head: bool | None = None
    refs: tuple[str, ...] | None = None
    head_location: Location | None = None

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self.rule_id, self.secret))

    def raw_region(self) -> tuple[int, int, int, int]:
        """(start line, start column, end line, end column) in the file itself, 1-based, end
        exclusive: what SARIF and GitHub annotations point at. For a notebook the key sits on
        one line of the JSON text (keys have no characters JSON escapes)."""
        loc = self.location
        line, column = max(loc.raw_line, 1), max(loc.raw_column, 1)
        if loc.cell is None and (loc.end_line, loc.end_column) > (loc.line, loc.column):
            return line, column, loc.end_line, loc.end_column
        return line, column, line, column + max(len(self.secret), 1)

    def with_verification(self, verification: Verification) -> Finding:
        return replace(self, verification=verification)

    def sort_key(self) -> tuple[str, int, int, int, int, str]:
        loc = self.location
        cell = -1 if loc.cell is None else loc.cell
        return (loc.path, cell, loc.output_index or -1, loc.line, loc.column, self.rule_id)
