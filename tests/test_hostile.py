"""Hostile input on the detection side: one detector's failure never hides a key, and no
file shape (deep nesting, long chains, thousands of keys) loses a finding.

Speed is measured by bench/big_files.py, not here; these inputs are the issue's quadratic
shapes at full size, so a regression back to quadratic shows as a slow suite.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyguard.cli import cli
from keyguard.pipeline.scan import _engine, scan_bytes
from keyguard.rulepack.fakes import FakeKeys
from keyguard.rulepack.load import load_ruleset

RULESET = load_ruleset(())
ENGINE = _engine((), RULESET.select(None, ()))
IMPORT = "from qiskit_ibm_runtime import QiskitRuntimeService\n"


def scan(name: str, text: str):
    result = scan_bytes(name, text.encode("utf-8"), ENGINE)
    assert result.skipped is None, result.skipped
    return result


def hamiltonian(terms: int) -> str:
    return "H = " + " + ".join(f"0.5*Z({i})" for i in range(terms)) + "\n"


def test_long_hamiltonian_sum_keeps_the_syntax_tree_findings() -> None:
    # A literal of no key shape is found only by the syntax-tree detector (KG203).
    text = IMPORT + hamiltonian(2_000) + 'service = QiskitRuntimeService(token="lab-token-2024-xyz!")\n'
    result = scan("ham.py", text)
    assert [(f.rule_id, f.location.line) for f in result.findings] == [("KG203", 3)]
    assert not result.notes


def test_long_string_sum_at_a_call_site_is_folded() -> None:
    key = FakeKeys("sum").ibm_key()
    pieces = " + ".join(f'"{c}"' for c in key) + " + " + " + ".join('""' for _ in range(1_500))
    text = IMPORT + f"QiskitRuntimeService(token={pieces})\n"
    (finding,) = scan("s.py", text).findings
    assert finding.rule_id == "KG201" and finding.secret.reveal() == key


def test_a_tree_the_parser_cannot_build_falls_back_to_the_token_detector() -> None:
    key = FakeKeys("chain").ibm_key()
    text = IMPORT + "x = q" + ".m()" * 20_000 + f'\nservice = QiskitRuntimeService(token="{key}")\n'
    result = scan("chain.py", text)
    assert [(f.rule_id, f.location.line) for f in result.findings] == [("KG201", 3)]
    try:
        ast.parse(text)
    except (RecursionError, MemoryError, SyntaxError):  # CPython 3.11+; 3.10 builds this tree
        assert any("too deeply nested to parse" in note and "token detector" in note
                   for note in result.notes)


def test_any_failure_of_the_syntax_tree_detector_keeps_the_token_findings(monkeypatch) -> None:
    from keyguard.detect.python import PythonDetector

    def broken(self, segments):
        raise RuntimeError("detector bug")

    monkeypatch.setattr(PythonDetector, "run", broken)
    key = FakeKeys("broken").ibm_key()
    result = scan("b.py", IMPORT + f'QiskitRuntimeService(token="{key}")\n')
    assert [f.rule_id for f in result.findings] == ["KG201"]
    (note,) = result.notes
    assert "RuntimeError" in note and "other detectors" in note and "detector bug" not in note


def test_elif_chain_of_2000_branches_with_an_ignore_comment() -> None:
    fake = FakeKeys("elif")
    kept, ignored = fake.ibm_key(), fake.ibm_key()
    chain = "x = 1\n" + "".join(
        f"{'if' if i == 0 else 'elif'} x == {i}:\n    y = {i}\n" for i in range(2_000)
    )
    text = (
        IMPORT + chain
        + f'QiskitRuntimeService(token="{kept}")\n'
        + "if x:\n"
        + f'    QiskitRuntimeService(  # keyguard: ignore[KG201]\n        token="{ignored}",\n    )\n'
    )
    result = scan("elif.py", text)
    assert [f.secret.reveal() for f in result.findings] == [kept]
    assert [f.secret.reveal() for f, _ in result.ignored] == [ignored]


def test_8000_keys_on_one_line_are_all_reported() -> None:
    fake = FakeKeys("one-line")
    keys = [fake.ibm_key() for _ in range(8_000)]
    text = "# IBM Cloud api keys\napikeys = " + ",".join(f'"{k}"' for k in keys) + "\n"
    findings = scan("keys.txt", text).findings
    assert [f.secret.reveal() for f in findings] == keys
    assert {f.location.line for f in findings} == {2}


def test_8000_keys_in_one_python_file_are_all_reported_at_their_lines() -> None:
    fake = FakeKeys("many")
    keys = [fake.ibm_key() for _ in range(8_000)]
    text = IMPORT + "".join(f's{i} = QiskitRuntimeService(token="{k}")\n' for i, k in enumerate(keys))
    findings = scan("many.py", text).findings
    assert sorted((f.location.line, f.secret.reveal()) for f in findings) == [(i + 2, k) for i, k in enumerate(keys)]
    lines = text.split("\n")
    assert all(f.location.column == lines[f.location.line - 1].index(f.secret.reveal()) + 1 for f in findings)


def test_a_jwt_still_hides_the_key_shaped_slices_inside_it() -> None:
    jwt = FakeKeys("jwt").iam_jwt()
    text = f"GET https://quantum.cloud.ibm.com/api/v1/usage\nAuthorization: Bearer {jwt}\n"
    findings = scan("usage.http", text).findings
    assert [f.rule_id for f in findings] == ["KG202"]


# --------------------------------------------------------------------------------------------
# the CLI on generated nesting depths and chain lengths

SHAPES = {
    "sum": lambda n: "H = " + " + ".join(f"0.5*Z({i})" for i in range(n)) + "\n",
    "string sum": lambda n: "s = " + " + ".join(f'"p{i}"' for i in range(n)) + "\n",
    "attribute chain": lambda n: "x = q" + ".m()" * n + "\n",
    "nested list": lambda n: "x = " + "[" * n + "]" * n + "\n",
    "nested calls": lambda n: "x = " + "f(" * n + ")" * n + "\n",
    "elif chain": lambda n: "x = 1\n" + "".join(
        f"{'if' if i == 0 else 'elif'} x == {i}:\n    pass\n" for i in range(n)
    ),
    # Indentation grows quadratically (and CPython stops at 100 levels): keep it small.
    "nested ifs": lambda n: "".join("    " * i + "if x:\n" for i in range(n % 120 + 1)) + "    " * (n % 120 + 1) + "pass\n",
    "nested dict": lambda n: "d = " + "{'k': " * n + "1" + "}" * n + "\n",
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    shape=st.sampled_from(sorted(SHAPES)),
    size=st.one_of(st.integers(1, 300), st.integers(300, 4_000)),
    before=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_no_finding_is_lost_whatever_the_nesting(tmp_path: Path, shape: str, size: int, before: bool, seed: int) -> None:
    fake = FakeKeys(seed)
    key, ionq = fake.ibm_key(), fake.ionq_key()
    findings_src = (
        f'service = QiskitRuntimeService(channel="ibm_cloud", token="{key}")\n'
        'odd = QiskitRuntimeService(token="lab-token-2024-xyz!")\n'
        f'IONQ_API_KEY = "{ionq}"\n'
    )
    hostile = SHAPES[shape](size)
    body = findings_src + hostile if before else hostile + findings_src
    path = tmp_path / "hostile.py"
    path.write_text(IMPORT + body, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["scan", "--format", "json", "-j", "1", str(path)])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    found = sorted(f["rule"] for f in report["findings"])
    # The syntax-tree-only KG203 may only be missing when the parser itself cannot build
    # the tree (a clear note says so); the key-shaped ones never are.
    assert {"KG201", "KG101"} <= set(found), (shape, size, found)
    if "KG203" not in found:
        assert "too deeply nested to parse" in result.stderr or "syntax error" in result.stderr, (shape, size)


@pytest.mark.parametrize("terms", [1_000, 2_000])
def test_cli_exit_code_on_a_long_hamiltonian_with_a_key(tmp_path: Path, terms: int) -> None:
    key = FakeKeys(terms).ibm_key()
    (tmp_path / "h.py").write_text(IMPORT + hamiltonian(terms) + f'QiskitRuntimeService(token="{key}")\n')
    result = CliRunner().invoke(cli, ["scan", "-j", "1", str(tmp_path / "h.py")])
    assert result.exit_code == 1 and "KG201" in result.stdout and "too deeply" not in result.stderr


def test_a_cr_only_file_reports_each_key_once_at_its_line() -> None:
    """Old Mac line ends: `ast` counts `\\r` as a line end, so the token detector must too."""
    from keyguard.pipeline.scan import _engine, scan_bytes

    ruleset = load_ruleset(())
    key = FakeKeys("cr-once").ionq_key()
    code = f'import cirq_ionq\r\r\x0c\r# section\rservice = cirq_ionq.Service(api_key="{key}")\rprint(1)\r'
    for name in ("cr.py", "cr.txt"):
        result = scan_bytes(name, code.encode(), _engine((), ruleset.select(None, ())))
        assert [(f.rule_id, f.location.line) for f in result.findings] == [("KG101", 5)], name
