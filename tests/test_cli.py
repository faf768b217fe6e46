"""The CLI end to end, through a real subprocess where start-up matters and CliRunner elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from keyguard.cli import cli
from keyguard.rulepack.fakes import FakeKeys

from helpers import ROOT

FINDING_KEYS = {
    "rule", "provider", "kind", "title", "severity", "confidence", "path", "line", "column",
    "end_line", "end_column", "cell", "cell_line", "part", "output_index", "raw_line",
    "raw_column", "message", "context", "env_var", "fingerprint", "fixable", "verification",
    "verification_detail", "secret",
}


def run(args, cwd, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, **kwargs,
    )


@pytest.fixture
def leaky(tmp_path):
    fake = FakeKeys("cli")
    key = fake.ibm_key()
    (tmp_path / "app.py").write_text(
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        f'service = QiskitRuntimeService(channel="ibm_quantum_platform", token="{key}")\n',
        encoding="utf-8",
    )
    return tmp_path, key


def test_text_output_exit_code_and_redaction(leaky):
    folder, key = leaky
    proc = run(["scan", "."], folder)
    assert proc.returncode == 1
    assert proc.stdout.startswith("app.py:2:")
    assert "KG201" in proc.stdout and "QiskitRuntimeService(token=...)" in proc.stdout
    assert 'os.environ["QISKIT_IBM_TOKEN"]' in proc.stdout and "revoke" in proc.stdout
    assert key not in proc.stdout + proc.stderr
    assert key[:4] + "…(44 chars)" in proc.stdout
    assert "Found 1 finding" in proc.stderr


def test_json_schema(leaky):
    folder, key = leaky
    proc = run(["scan", "--format", "json", "app.py"], folder)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["version"] == 1 and data["tool"]["name"] == "keyguard"
    (finding,) = data["findings"]
    assert set(finding) == FINDING_KEYS
    assert finding["path"] == "app.py" and finding["line"] == 2 and finding["column"] == 71
    assert finding["raw_line"] == 2 and finding["end_column"] == 71 + 44
    assert finding["env_var"] == "QISKIT_IBM_TOKEN" and finding["verification"] == "not-checked"
    assert key not in proc.stdout
    assert data["summary"]["files_scanned"] == 1 and data["summary"]["failing"] == 1


def test_show_secrets_is_explicit(leaky):
    folder, key = leaky
    assert key in run(["scan", "--format", "json", "--show-secrets", "."], folder).stdout


def test_clean_tree_exit_zero(tmp_path):
    (tmp_path / "ok.py").write_text("import os\ntoken = os.environ['QISKIT_IBM_TOKEN']\n")
    proc = run(["scan", "."], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_fail_on_and_exit_zero(tmp_path):
    crn = FakeKeys(1).crn()
    (tmp_path / "settings.yaml").write_text(f"instance: {crn}\n")
    assert run(["scan", "."], tmp_path).returncode == 0  # info never fails by default
    assert run(["scan", "--fail-on", "info", "."], tmp_path).returncode == 1
    assert run(["scan", "--fail-on", "info", "--exit-zero", "."], tmp_path).returncode == 0


def test_select_and_ignore(leaky):
    folder, _ = leaky
    assert run(["scan", "--ignore", "KG2", "."], folder).returncode == 0
    assert run(["scan", "--select", "KG1,KG3", "."], folder).returncode == 0
    assert run(["scan", "--select", "KG201", "."], folder).returncode == 1


def test_notebook_positions_in_text_and_json(tmp_path):
    key = FakeKeys("nb").ionq_key()
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Title"),
        new_code_cell("import qiskit_ionq\n" f'provider = qiskit_ionq.IonQProvider("{key}")'),
    ]
    nbformat.write(nb, str(tmp_path / "lab.ipynb"))
    raw = (tmp_path / "lab.ipynb").read_text().splitlines()
    raw_line = next(i for i, line in enumerate(raw, 1) if key in line)
    proc = run(["scan", "lab.ipynb"], tmp_path)
    assert proc.stdout.startswith("lab.ipynb:cell 2:2:"), proc.stdout
    data = json.loads(run(["scan", "--format", "json", "lab.ipynb"], tmp_path).stdout)
    (finding,) = data["findings"]
    assert (finding["cell"], finding["cell_line"], finding["part"]) == (1, 2, "source")
    assert finding["raw_line"] == raw_line
    assert raw[raw_line - 1][finding["raw_column"] - 1:].startswith(key)


def test_skipped_files_are_counted(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01ionq" * 100)
    (tmp_path / "img.png").write_bytes(b"\x89PNG")
    (tmp_path / "big.txt").write_bytes(b"ionq " * (3 * 1024 * 1024 // 5))
    # One readable file: the run is clean. (Only oversized input is exit 2, see
    # tests/test_output_hygiene.py.)
    (tmp_path / "notes.txt").write_text("ionq notes\n")
    proc = run(["scan", "--max-file-size", "1", "."], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "binary file" in proc.stderr and "larger than 1 MB" in proc.stderr


def test_missing_path_is_an_error(tmp_path):
    proc = run(["scan", "nope"], tmp_path)
    assert proc.returncode == 2
    assert "nope: no such file or directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rules_command():
    runner = CliRunner()
    result = runner.invoke(cli, ["rules"])
    assert result.exit_code == 0
    for rule_id in ("KG101", "KG201", "KG204", "KG205", "KG301"):
        assert rule_id in result.output
    one = runner.invoke(cli, ["rules", "KG201"])
    assert one.exit_code == 0 and "44" in one.output and "Example" in one.output
    assert "{{ibm_key}}" in one.output  # examples show markers, never keys
    assert runner.invoke(cli, ["rules", "KG999"]).exit_code == 2


def test_version():
    proc = run(["--version"], ROOT)
    assert proc.returncode == 0 and "keyguard" in proc.stdout


def test_own_repository_is_clean():
    proc = run(["scan", "."], ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_examples_show_every_planted_finding():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from generate import EXPECTED
    finally:
        sys.path.pop(0)
    proc = run(["scan", "--format", "json", "examples/"], ROOT)
    assert proc.returncode == 1
    found: dict[str, list[str]] = {}
    for finding in json.loads(proc.stdout)["findings"]:
        found.setdefault(os.path.basename(finding["path"]), []).append(finding["rule"])
    assert {name: sorted(rules) for name, rules in found.items()} == {
        name: sorted(rules) for name, rules in EXPECTED.items() if rules
    }


def test_examples_match_their_generator(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), str(tmp_path)], check=True)
    for generated in tmp_path.iterdir():
        assert generated.read_bytes() == (ROOT / "examples" / generated.name).read_bytes(), generated.name


def test_import_is_light():
    """Importing keyguard and the CLI must not pull in libcst, nbformat or httpx."""
    code = (
        "import sys, keyguard.cli, keyguard.pipeline.scan;"
        "print(','.join(m for m in ('libcst', 'nbformat', 'httpx') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""
