"""Hand-made findings for the SARIF / GitHub reporter tests (fake keys made at run time)."""

from __future__ import annotations

import json
from pathlib import Path

from keyguard.model import (
    Confidence,
    Finding,
    Location,
    Secret,
    Verification,
)
from keyguard.rulepack.fakes import FakeKeys
from keyguard.rulepack.load import RuleSet, load_ruleset

# Where the shared schemas live: ../shared next to the project checkout.
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"

KIND_OF_RULE = {"KG101": "ionq_key", "KG201": "ibm_key", "KG301": "legacy_token",
                "KG202": "iam_jwt", "KG204": "crn"}


def ruleset() -> RuleSet:
    return load_ruleset()


def make_finding(
    rule_id: str,
    secret: str,
    path: str = "src/app.py",
    line: int = 3,
    column: int = 10,
    *,
    message: str | None = None,
    verification: Verification | None = None,
    cell: int | None = None,
    cell_line: int | None = None,
    raw_line: int | None = None,
    raw_column: int | None = None,
    context: str = "",
) -> Finding:
    """A finding shaped like the scanner's, for `rule_id` from the built-in rule packs."""
    rule = ruleset().rules[rule_id]
    if cell is not None:
        loc = Location(
            path=path, line=cell_line or 1, column=column, end_line=cell_line or 1,
            end_column=column + len(secret), raw_line=raw_line or line,
            raw_column=raw_column or column, cell=cell, part="source",
        )
    else:
        loc = Location(
            path=path, line=line, column=column, end_line=line,
            end_column=column + len(secret), raw_line=line, raw_column=column,
        )
    redacted = Secret(secret).redacted
    return Finding(
        rule_id=rule_id,
        provider=rule.provider,
        kind=rule.kind,
        title=rule.title,
        severity=rule.severity,
        confidence=Confidence.HIGH,
        location=loc,
        secret=Secret(secret),
        message=message if message is not None else (
            f"{rule.title} {redacted} in source: read it from {rule.env_var} instead, "
            f"then revoke it."
        ),
        env_var=rule.env_var,
        context=context,
        verification=verification or Verification(),
    )


def sample_findings(seed: int = 1) -> list[Finding]:
    """One finding per severity level, in two files, deliberately unsorted."""
    fakes = FakeKeys(seed)
    return [
        make_finding("KG201", fakes.ibm_key(), "src/b.py", 7, 12),
        make_finding("KG101", fakes.ionq_key(), "src/a.py", 4, 5),
        make_finding("KG204", fakes.crn(), "src/a.py", 2, 1),
        make_finding("KG301", fakes.legacy_token(), "conf/settings.py", 1, 9),
    ]


def notebook_with_secret(secret: str, cell_index: int = 1) -> tuple[str, int, int, int]:
    """Notebook JSON text with `secret` in code cell `cell_index` (0-based), line 2 of it.

    Returns (text, raw line, raw column, column in the cell line), 1-based, found by
    searching the serialised JSON (nbformat's own 1-space indent).
    """
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")]
    for i in range(1, cell_index + 1):
        src = "import os\nkey = 'PLACEHOLDER'\nprint(key)" if i == cell_index else "x = 1"
        nb.cells.append(nbformat.v4.new_code_cell(src))
    text = nbformat.writes(nb).replace("PLACEHOLDER", secret)
    for n, raw in enumerate(text.splitlines(), start=1):
        if secret in raw:
            return text, n, raw.index(secret) + 1, len("key = '") + 1
    raise AssertionError("secret not in notebook text")


def load_schema() -> dict:
    return json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
