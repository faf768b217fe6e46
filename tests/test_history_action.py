"""The Action's `history` input (pr: the event's base..head SHAs; all: every ref), run with
bash as the runner runs the composite step (tests/test_action.py's harness)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
from test_action import action, run_scan_step  # noqa: F401  (fixture)

from keyguard.fakes import FakeKeys

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("git") is None,
                                reason="bash and git are needed")


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *env_args, *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def with_event(spec: dict, base: str, head: str) -> dict:
    """The action with the pull_request event's SHAs filled in, as the runner evaluates them."""
    patched = copy.deepcopy(spec)
    step = next(s for s in patched["runs"]["steps"] if s.get("id") == "scan")
    step["env"]["KG_BASE_SHA"], step["env"]["KG_HEAD_SHA"] = base, head
    return patched


def pr_repo(tmp_path: Path) -> tuple[Path, str, str, str]:
    """base (a clean commit), then a PR that adds a key and removes it again."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "app.py").write_text("import os\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    key = FakeKeys("action-history").ibm_key()
    (repo / "app.py").write_text(
        f'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="{key}")\n')
    git(repo, "commit", "-qam", "leak")
    (repo / "app.py").write_text("import os\n")
    git(repo, "commit", "-qam", "remove it")
    return repo, base, git(repo, "rev-parse", "HEAD"), key


def test_history_pr_scans_the_pull_request_commits(action, tmp_path) -> None:  # noqa: F811
    repo, base, head, key = pr_repo(tmp_path)
    # Files only: the working tree is clean.
    proc, _, _ = run_scan_step(action, repo, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc, outputs, summary = run_scan_step(with_event(action, base, head), repo, tmp_path,
                                           history="pr")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert outputs["exit-code"] == "1"
    assert "::error file=app.py,line=2," in proc.stdout
    sarif = (repo / outputs["sarif-file"]).read_text()
    assert '"commit": "' in sarif
    for text in (proc.stdout, proc.stderr, summary, sarif):
        assert key not in text
    # all: every ref.
    proc, _, _ = run_scan_step(action, repo, tmp_path, history="all")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    # The base commit absent (a fetch-depth 1 clone): a clear error naming fetch-depth.
    proc, outputs, _ = run_scan_step(with_event(action, "1" * 40, head), repo, tmp_path,
                                     history="pr")
    assert proc.returncode == 2 and "fetch-depth: 0" in proc.stdout
    proc, _, _ = run_scan_step(action, repo, tmp_path, history="yes please")
    assert proc.returncode == 2 and "must be pr, all or empty" in proc.stdout
