"""The pre-commit hooks (`.pre-commit-hooks.yaml`), run for real with pre-commit.

pre-commit installs keyguard from the checkout into its own virtualenv (the install path
users get), which needs PyPI for the dependencies (pip's cache makes repeats quick).

- The `checkout` fixture snapshots the checkout once: HEAD plus the working-tree changes of
  tracked files, exactly what try-repo's own shadow repository would commit. Hooks are run
  from that commit (`--ref`), so every test sees the same code even while the working tree
  changes, and the `.pre-commit-config.yaml` test can pin `rev:` to it.
- `try-repo` always uses a throwaway store (pre_commit/commands/try_repo.py: `Store(tempdir)`),
  so each call builds the hook environment (~10 s with a warm pip cache); the tests keep to
  four calls. The installed-hook test uses PRE_COMMIT_HOME (a module temp dir), built once.
- A network failure while building the environment skips with the reason; any other
  install failure (a broken pyproject, a missing console script) fails.

The real runs are marked `slow` (deselect with `-m "not slow"`); they run in the default
`pytest` command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from keyguard.fakes import FakeKeys

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
NETWORK_ERRORS = (
    "Temporary failure in name resolution", "Failed to establish a new connection",
    "Could not find a version that satisfies", "No matching distribution found",
    "Network is unreachable", "ProxyError", "ConnectionError",
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
        PRE_COMMIT_HOME=str(home),
        # Isolated from the user's git config: no signing, no global core.hooksPath (which
        # makes `pre-commit install` refuse), no template hooks.
        GIT_CONFIG_GLOBAL=str(home / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_PARAMETERS="'init.defaultBranch=main' 'commit.gpgsign=false'",
    )
    (home / "gitconfig").touch()
    return env


def git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True,
                          capture_output=True, text=True).stdout


# --- manifest ---------------------------------------------------------------------------

def test_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(HOOKS))}
    assert set(hooks) == {"keyguard", "keyguard-fix", "keyguard-text"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["require_serial"] is True
        assert hook["entry"].startswith("keyguard scan")
        assert "--verify" not in hook["entry"] and "--verify" not in hook["args"]
    assert hooks["keyguard"]["types_or"] == ["python", "pyi", "jupyter"]
    assert hooks["keyguard-fix"]["entry"] == "keyguard scan --fix"


@pytest.mark.parametrize(
    ("name", "selected"),
    [(".env", True), (".env.local", True), ("config/prod.env", True), (".envrc", True),
     ("deploy.sh", True), ("ci.yml", True), ("conf.yaml", True), ("qiskit-ibm.json", True),
     ("pyproject.toml", True), ("setup.cfg", True), ("tox.ini", True), ("README.md", True),
     ("docs/index.rst", True), (".qiskit/qiskitrc", True), ("qiskitrc", True),
     ("app.py", False), ("nb.ipynb", False), ("image.png", False), ("environment.py", False)],
)
def test_text_hook_file_selection(name: str, selected: bool) -> None:
    import re

    hook = next(h for h in yaml.safe_load(HOOKS.read_text()) if h["id"] == "keyguard-text")
    assert bool(re.search(hook["files"], name)) is selected


def test_text_hook_selects_every_credential_file_of_the_packs() -> None:
    """The hook's `files` regex is static YAML: every built-in pack's [[credential_file]]
    (other than notebooks and Python, which the `keyguard` hook sees) must pass it."""
    import re

    from keyguard.rulepack import load_ruleset

    hook = next(h for h in yaml.safe_load(HOOKS.read_text()) if h["id"] == "keyguard-text")
    names = [cf.name for p in load_ruleset().providers.values() for cf in p.credential_files]
    assert names
    missing = [n for n in names if not n.endswith((".py", ".ipynb"))
               and not re.search(hook["files"], f"home/{n}")]
    assert missing == []


# --- real pre-commit runs -----------------------------------------------------------------

@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, home) -> tuple[Path, str]:
    """(repository, commit) of the checkout as try-repo would see it, built once."""
    env = git_env(home)
    try:
        head = git("rev-parse", "HEAD", cwd=ROOT, env=env).strip()
    except subprocess.CalledProcessError:
        pytest.skip("the keyguard checkout is not a git repository with a commit")
    snap = tmp_path_factory.mktemp("hook-repo") / "keyguard"
    git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(snap), cwd=ROOT, env=env)
    git("checkout", "--quiet", head, "-b", "_kg_test", cwd=snap, env=env)
    # Uncommitted changes of tracked (and staged) files, as try-repo's shadow repo has them.
    changed = git("diff", "--name-only", "-z", "HEAD", cwd=ROOT, env=env).split("\0")
    for rel in filter(None, changed):
        src, dst = ROOT / rel, snap / rel
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        elif dst.exists():
            dst.unlink()
    git("add", "-A", cwd=snap, env=env)
    if git("status", "--porcelain", cwd=snap, env=env).strip():
        git("commit", "--quiet", "-m", "working tree", cwd=snap, env=env)
    return snap, git("rev-parse", "HEAD", cwd=snap, env=env).strip()


def pre_commit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    if "An unexpected error has occurred" in out or "CalledProcessError" in out:
        log = Path(env["PRE_COMMIT_HOME"]) / "pre-commit.log"
        detail = log.read_text() if log.exists() else out
        if any(sign in detail for sign in NETWORK_ERRORS):
            pytest.skip("pre-commit could not download keyguard's dependencies (no network)")
        pytest.fail(f"pre-commit failed to install or run the hook:\n{out}\n{detail[-4000:]}")
    return proc


@pytest.fixture
def project(tmp_path, home) -> tuple[Path, dict[str, str]]:
    """A throwaway git repository with one clean committed file."""
    env = git_env(home)
    repo = tmp_path / "project"
    repo.mkdir()
    git("init", "--quiet", cwd=repo, env=env)
    (repo / "clean.py").write_text("import os\n\nKEY = os.environ['IONQ_API_KEY']\n")
    git("add", "clean.py", cwd=repo, env=env)
    git("commit", "--quiet", "-m", "clean", cwd=repo, env=env)
    return repo, env


def leak(key: str) -> str:
    return (
        "from qiskit_ibm_runtime import QiskitRuntimeService\n\n"
        f'service = QiskitRuntimeService(channel="ibm_quantum_platform", token="{key}")\n'
    )


@pytest.mark.slow
@needs_git
def test_try_repo_blocks_a_staged_leak(checkout, project) -> None:
    (hook_repo, ref), (repo, env) = checkout, project
    key = FakeKeys(61).ibm_key()
    (repo / "leaky.py").write_text(leak(key))
    git("add", "leaky.py", cwd=repo, env=env)
    proc = pre_commit("try-repo", str(hook_repo), "keyguard", "--ref", ref, "--verbose",
                      cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "leaky.py:3:" in out and "KG201" in out
    assert key not in out


@pytest.mark.slow
@needs_git
def test_try_repo_all_files_passes_a_clean_repo(checkout, project) -> None:
    (hook_repo, ref), (repo, env) = checkout, project
    (repo / "more.py").write_text("import os\nTOKEN = os.getenv('QISKIT_IBM_TOKEN')\n")
    git("add", "more.py", cwd=repo, env=env)
    proc = pre_commit("try-repo", str(hook_repo), "keyguard", "--ref", ref, "--all-files",
                      cwd=repo, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@needs_git
def test_try_repo_all_files_finds_a_committed_leak(checkout, project) -> None:
    (hook_repo, ref), (repo, env) = checkout, project
    key = FakeKeys(62).ibm_key()
    (repo / "old.py").write_text(leak(key))
    git("add", "old.py", cwd=repo, env=env)
    git("commit", "--quiet", "--no-verify", "-m", "leak", cwd=repo, env=env)
    # Nothing staged, so only --all-files looks at the committed key.
    proc = pre_commit("try-repo", str(hook_repo), "keyguard", "--ref", ref, "--all-files",
                      "--verbose", cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "old.py:3:" in out and key not in out


@pytest.mark.slow
@needs_git
def test_text_hook_blocks_a_dotenv_leak(checkout, project) -> None:
    (hook_repo, ref), (repo, env) = checkout, project
    key = FakeKeys(63).ibm_key()
    (repo / ".env").write_text(f"QISKIT_IBM_TOKEN={key}\n")
    git("add", ".env", cwd=repo, env=env)
    proc = pre_commit("try-repo", str(hook_repo), "keyguard-text", "--ref", ref, "--verbose",
                      cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert ".env:1:" in out and key not in out


@pytest.mark.slow
@needs_git
def test_installed_hook_blocks_git_commit(checkout, project) -> None:
    """The user's flow: .pre-commit-config.yaml + `pre-commit install` + `git commit`."""
    (hook_repo, ref), (repo, env) = checkout, project
    config = {"repos": [{"repo": str(hook_repo), "rev": ref,
                         "hooks": [{"id": "keyguard"}, {"id": "keyguard-text"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git("add", ".pre-commit-config.yaml", cwd=repo, env=env)
    installed = pre_commit("install", cwd=repo, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    key = FakeKeys(64).ibm_key()
    (repo / "leaky.py").write_text(leak(key))
    git("add", "leaky.py", cwd=repo, env=env)
    blocked = subprocess.run(["git", "commit", "-m", "leak"], cwd=repo, env=env,
                             capture_output=True, text=True, timeout=600)
    out = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, out
    assert "leaky.py:3:" in out and key not in out
    assert git("log", "--oneline", cwd=repo, env=env).count("\n") == 1  # still one commit
    # Fixed by hand: the commit goes through.
    (repo / "leaky.py").write_text(leak("").replace('token=""', "token=None"))
    git("add", "leaky.py", cwd=repo, env=env)
    ok = subprocess.run(["git", "commit", "-m", "no leak"], cwd=repo, env=env,
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
