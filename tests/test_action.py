"""The composite GitHub Action (`action.yml`): injection-safe, and its shell steps work.

The scan step is run locally with bash the way the runner runs a composite `shell: bash`
step (`bash --noprofile --norc -eo pipefail {0}`), with the step's `env:` evaluated from the
inputs and GITHUB_WORKSPACE / GITHUB_ACTION_PATH / GITHUB_OUTPUT / GITHUB_STEP_SUMMARY set.

The `pip install "$GITHUB_ACTION_PATH"` step is not executed here: the test venv already has
keyguard installed (editable) from this very checkout, so the `keyguard` on PATH *is* the
checkout, and a second install would cost a fresh dependency download per run. The real
install-from-checkout path is exercised by tests/test_precommit.py, where pre-commit
pip-installs the checkout into its own virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from keyguard.fakes import FakeKeys

from report_helpers import SARIF_SCHEMA, load_schema

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
EXPR = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")
BASH = shutil.which("bash")


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def steps(action: dict) -> list[dict]:
    return action["runs"]["steps"]


def test_composite_with_the_documented_inputs(action) -> None:
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert inputs["paths"]["default"] == "."
    assert inputs["args"]["default"] == ""
    assert inputs["python-version"]["default"] == "3.12"
    assert inputs["sarif"]["default"] == "true"
    assert inputs["sarif-file"]["default"] == "keyguard.sarif"
    assert inputs["fail-on"]["default"] == "medium"
    for name, spec in inputs.items():
        assert spec.get("description"), name
    uses = [s["uses"] for s in steps(action) if "uses" in s]
    assert any(u.startswith("actions/setup-python@v") for u in uses)
    upload = next(s for s in steps(action) if s.get("uses", "").startswith(
        "github/codeql-action/upload-sarif@"))
    assert "always()" in upload["if"] and "inputs.sarif == 'true'" in upload["if"]
    assert upload["with"]["category"] == "keyguard"


def test_no_input_expression_inside_run_scripts(action) -> None:
    """Inputs reach the shell only through env: (GitHub's script-injection guidance)."""
    runs = [s for s in steps(action) if "run" in s]
    assert runs
    for step in runs:
        assert "${{" not in step["run"], f"expression inside run: of step {step.get('name')}"
        assert step.get("shell") == "bash"


def test_install_step_installs_the_action_checkout(action) -> None:
    install = next(s for s in steps(action) if "pip install" in s.get("run", ""))
    assert '"$GITHUB_ACTION_PATH"' in install["run"]


def scan_step(action: dict) -> dict:
    return next(s for s in steps(action) if s.get("id") == "scan")


def run_scan_step(action: dict, workspace: Path, tmp: Path, **inputs: str):
    """Run the scan step as the runner would; return (rc, stdout, outputs, summary)."""
    values = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    values.update({k.replace("_", "-"): v for k, v in inputs.items()})
    step = scan_step(action)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "KG_"))}
    for key, value in step.get("env", {}).items():
        env[key] = EXPR.sub(lambda m: values[m.group(1)], str(value))
    script = tmp / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    out_file, summary = tmp / "github_output", tmp / "step_summary"
    out_file.write_text(""), summary.write_text("")
    env.update(
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_ACTION_PATH=str(ROOT),
        GITHUB_OUTPUT=str(out_file),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_ACTIONS="true",
        # The venv's keyguard and python first, as setup-python + pip install would leave it.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    proc = subprocess.run(
        [BASH, "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace, env=env, capture_output=True, text=True, timeout=120,
    )
    outputs = dict(
        line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line
    )
    return proc, outputs, summary.read_text(encoding="utf-8")


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    return path


def leaky_files(key: str) -> dict[str, str]:
    return {
        "app/quantum.py": (
            "from qiskit_ibm_runtime import QiskitRuntimeService\n\n"
            f'service = QiskitRuntimeService(channel="ibm_quantum_platform", token="{key}")\n'
        ),
        "README.md": "# demo\n",
    }


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_scan_step_on_a_leaky_repo(action, tmp_path) -> None:
    key = FakeKeys(51).ibm_key()
    repo = make_repo(tmp_path / "repo", leaky_files(key))
    proc, outputs, summary = run_scan_step(action, repo, tmp_path)
    assert proc.returncode == 1, proc.stderr
    # Annotations on stdout, on the line of the key.
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, proc.stdout
    assert "file=app/quantum.py,line=3," in errors[0]
    assert "title=KG201 " in errors[0]
    # SARIF written where the input says, valid, with the finding.
    assert outputs["exit-code"] == "1" and outputs["sarif-written"] == "true"
    sarif_path = repo / outputs["sarif-file"]
    log = json.loads(sarif_path.read_text(encoding="utf-8"))
    if SARIF_SCHEMA.is_file():
        import jsonschema

        jsonschema.Draft4Validator(load_schema()).validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "KG201"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "app/quantum.py"
    assert loc["region"]["startLine"] == 3
    # Summary for the run page.
    assert "1 finding" in summary and "KG201" in summary and "app/quantum.py:3" in summary
    for text in (proc.stdout, proc.stderr, summary, sarif_path.read_text()):
        assert key not in text


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_summary_with_a_notice_and_a_key(action, tmp_path) -> None:
    """Issue 8 §2: a save_account() notice's env read is not a secret; the summary, the
    annotations and the SARIF keep it and the digits of file names readable."""
    key = FakeKeys(52).ibm_key()
    env_read = 'os.environ["QISKIT_IBM_TOKEN"]'
    repo = make_repo(tmp_path / "repo", {
        "app/run_2024_lab.py": (
            "import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
            f"QiskitRuntimeService.save_account(token={env_read})\n"
            f'service = QiskitRuntimeService(token="{key}")\n'
        ),
    })
    proc, outputs, summary = run_scan_step(action, repo, tmp_path, fail_on="low")
    assert proc.returncode == 1, proc.stderr
    assert "2 finding" in summary and "KG205" in summary and "KG201" in summary
    assert "app/run_2024_lab.py:4" in summary
    assert f"read it from the environment instead: {env_read}" in summary
    sarif = (repo / outputs["sarif-file"]).read_text(encoding="utf-8")
    for text in (proc.stdout, summary, sarif):
        assert key not in text
        assert "instead: os.e…" not in text and "….py" not in text


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_scan_step_on_a_clean_repo(action, tmp_path) -> None:
    clean = {"app/ok.py": "import os\nkey = os.environ['IONQ_API_KEY']\n"}
    repo = make_repo(tmp_path / "repo", clean)
    proc, outputs, summary = run_scan_step(action, repo, tmp_path, sarif_file="out/kg.sarif")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::error" not in proc.stdout
    assert outputs["exit-code"] == "0" and outputs["sarif-file"] == "out/kg.sarif"
    log = json.loads((repo / "out" / "kg.sarif").read_text(encoding="utf-8"))
    assert log["runs"][0]["results"] == []
    assert "No credentials found" in summary


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_fail_on_and_paths_inputs(action, tmp_path) -> None:
    key = FakeKeys(52).ibm_key()
    repo = make_repo(tmp_path / "repo", {**leaky_files(key), "other/clean.py": "x = 1\n"})
    # Only the clean folder scanned: exit 0.
    proc, _, _ = run_scan_step(action, repo, tmp_path, paths="other README.md")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # fail-on: a CRN is an info finding, annotated as a notice; it fails only from info up.
    (repo / "other" / "instance.py").write_text(f'INSTANCE = "{FakeKeys(53).crn()}"\n')
    proc, _, _ = run_scan_step(action, repo, tmp_path, paths="other")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("::notice file=other/instance.py,line=1,")
    proc, _, _ = run_scan_step(action, repo, tmp_path, paths="other", fail_on="info")
    assert proc.returncode == 1, proc.stdout + proc.stderr


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_inputs_cannot_inject_shell(action, tmp_path) -> None:
    repo = make_repo(tmp_path / "repo", {"ok.py": "x = 1\n"})
    marker = tmp_path / "pwned"
    evil = f'$(touch {marker}) `touch {marker}`; touch {marker} && touch {marker}'
    proc, outputs, _ = run_scan_step(action, repo, tmp_path, paths=evil, args=evil,
                                     sarif_file=f"x.sarif; touch {marker}")
    assert not marker.exists(), proc.stdout + proc.stderr
    assert outputs["exit-code"] != "0"  # nonsense arguments are an error, not a clean pass
