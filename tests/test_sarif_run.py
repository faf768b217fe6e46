"""SARIF and annotations from real scans: repository-relative URIs whatever the working
directory (a real git repository), and `invocations` that say whether the run completed.

GitHub resolves `artifactLocation.uri` and an annotation's `file=` against the repository
root, so `cd app && keyguard scan .` and a scan of an absolute path from `/` must both give
`app/sub/leak.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard.rulepack.fakes import FakeKeys

from report_helpers import SARIF_SCHEMA, load_schema

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def run(args: list[str], cwd: Path | str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "repo"
    (root / "app" / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=60)
    key = FakeKeys("sarif-run").ibm_key()
    (root / "app" / "sub" / "leak.py").write_text(
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        f'QiskitRuntimeService(channel="ibm_quantum_platform", token="{key}")\n')
    (root / "app" / "logo.png").write_bytes(b"\x89PNG\0")
    return root, key


def sarif_run(proc: subprocess.CompletedProcess) -> dict:
    log = json.loads(proc.stdout)
    if SARIF_SCHEMA.is_file():
        import jsonschema

        jsonschema.Draft4Validator(load_schema()).validate(log)
    (run_,) = log["runs"]
    return run_


def uris(run_: dict) -> list[str]:
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run_["results"]]
    assert all(loc["uriBaseId"] == "%SRCROOT%" for loc in locations)
    return [loc["uri"] for loc in locations]


@pytest.mark.parametrize("where", ["root", "app", "sub", "slash"])
def test_uri_is_relative_to_the_git_top_level(repo: tuple[Path, str], where: str) -> None:
    root, key = repo
    cwd, target = {
        "root": (root, "."),
        "app": (root / "app", "."),
        "sub": (root / "app" / "sub", "leak.py"),
        "slash": (Path("/"), str(root / "app")),  # an absolute path from /
    }[where]
    proc = run(["scan", "--format", "sarif", target], cwd)
    assert proc.returncode == 1, proc.stderr
    run_ = sarif_run(proc)
    assert uris(run_) == ["app/sub/leak.py"]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"
    # The same path in the workflow annotations.
    proc = run(["scan", "--format", "github", target], cwd)
    assert proc.stdout.startswith("::error file=app/sub/leak.py,line=2,"), proc.stdout
    assert key not in proc.stdout


def test_outside_git_uris_stay_relative_to_the_current_directory(tmp_path: Path) -> None:
    folder = tmp_path / "plain" / "app"
    folder.mkdir(parents=True)
    (folder / ".env").write_text(f"IONQ_API_KEY={FakeKeys(7).ionq_key()}\n")
    proc = run(["scan", "--format", "sarif", "app"], tmp_path / "plain")
    assert uris(sarif_run(proc)) == ["app/.env"]


def test_complete_run_says_so_and_lists_skipped_files(repo: tuple[Path, str]) -> None:
    root, _ = repo
    run_ = sarif_run(run(["scan", "--format", "sarif", "app"], root / "app" / ".."))
    (invocation,) = run_["invocations"]
    assert invocation["executionSuccessful"] is True
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "note"
    assert note["message"]["text"] == "app/logo.png: skipped, binary file"
    location = note["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "app/logo.png", "uriBaseId": "%SRCROOT%"}


def test_incomplete_run_is_not_a_clean_run(repo: tuple[Path, str]) -> None:
    """A missing path: exit 2 and executionSuccessful false, in --format sarif and in
    --sarif-output, with the error as a notification."""
    root, _ = repo
    (root / "app" / "sub" / "leak.py").unlink()
    proc = run(["scan", "--format", "sarif", "--sarif-output", "side.sarif", "--exit-zero",
                "no-such-dir", "app"], root)
    assert proc.returncode == 2
    for run_ in (sarif_run(proc), json.loads((root / "side.sarif").read_text())["runs"][0]):
        assert run_["results"] == []
        (invocation,) = run_["invocations"]
        assert invocation["executionSuccessful"] is False
        errors = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
        assert [e["message"]["text"] for e in errors] == ["no-such-dir: no such file or directory"]


def test_default_sarif_of_the_reporter_has_an_invocation() -> None:
    from keyguard.report.sarif import build_sarif
    from keyguard.rulepack.load import load_ruleset

    log = build_sarif([], load_ruleset(), version="0")
    assert log["runs"][0]["invocations"] == [
        {"executionSuccessful": True, "toolExecutionNotifications": []}]
    assert log["runs"][0]["tool"]["driver"]["informationUri"].startswith("https://github.com/")
    assert "pypi.org" not in json.dumps(log)


def test_source_root_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keyguard.report.sarif import source_root

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))  # no git at all
    assert source_root(["."]) == os.path.realpath(tmp_path)
