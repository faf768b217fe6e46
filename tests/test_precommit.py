"""The pre-commit hooks (`.pre-commit-hooks.yaml`), run for real with pre-commit.

pre-commit installs keyguard from the checkout into its own virtualenv (the install path
users get), which needs PyPI for the dependencies (pip's cache makes repeats quick).

- The `checkout` fixture snapshots the checkout once: HEAD plus the working-tree changes of
  tracked files, exactly what try-repo's own shadow repository would commit. Hooks are run
  from that commit (`--ref`), so every test sees the same code even while the working tree
  changes, and the `.pre-commit-config.yaml` test can pin `rev:` to it.
- `try-repo` always uses a throwaway store (pre_commit/commands/try_repo.py: `Store(tempdir)`),
  so each call builds the hook environment (~10 s with a warm pip cache): one call per hook
  stage runs every published hook of that stage at once. The installed-hook test uses
  PRE_COMMIT_HOME (a module temp dir), built once.
- HOOK_CASES has one row per published hook id (a test fails when the manifest publishes a
  hook without a row): which of the staged files it must report, and which it rewrites.
  A new hook, e.g. a pre-push one, is one more row with its stage.
- A network failure while building the environment skips with the reason; any other
  install failure (a broken pyproject, a missing console script) fails.

The real runs are marked `slow` (deselect with `-m "not slow"`); they run in the default
`pytest` command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

from keyguard.rulepack.fakes import FakeKeys

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


# --- what each published hook must do ----------------------------------------------------

@dataclass(frozen=True)
class HookCase:
    """Expected result of one hook on the PROJECT_FILES staged in a project: the files it
    reports, the files it rewrites (--fix), and the git hook stage it runs at."""

    reports: frozenset[str]
    rewrites: frozenset[str] = frozenset()
    stage: str = "pre-commit"


CODE = frozenset({"leaky.py", "lab.ipynb"})
TEXT = frozenset({"notes.txt", "jobs.http", "Dockerfile", ".env", "deploy.yml"})
HOOK_CASES: dict[str, HookCase] = {
    "keyguard": HookCase(reports=CODE | TEXT),
    "keyguard-python": HookCase(reports=CODE),
    "keyguard-fix": HookCase(reports=TEXT, rewrites=CODE),
    "keyguard-text": HookCase(reports=frozenset({".env", "deploy.yml"})),
    # Staged files are not commits: nothing to report here (its own test pushes commits).
    "keyguard-push": HookCase(reports=frozenset(), stage="pre-push"),
}
# Never reported by any hook: a binary file (types: [text]) and a file the project's
# `exclude` matches (the hooks pass --force-exclude), although both hold a key.
NEVER = frozenset({"blob.bin", "examples/demo.py"})


def project_files(fakes: FakeKeys) -> dict[str, str | bytes]:
    """Files with a fake key each: code, notebook, and the text files users keep keys in."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        f'service = QiskitRuntimeService(channel="ibm_quantum_platform", token="{fakes.ibm_key()}")'
    )])
    return {
        "leaky.py": leak(fakes.ibm_key()),
        "lab.ipynb": nbformat.writes(nb),
        "notes.txt": f"my IBM Quantum token: {fakes.ibm_key()}\n",
        "jobs.http": ("POST https://iam.cloud.ibm.com/identity/token\n"
                      "Content-Type: application/x-www-form-urlencoded\n\n"
                      f"grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey={fakes.ibm_key()}\n"),
        "Dockerfile": f"FROM python:3.12\nENV IONQ_API_KEY={fakes.ionq_key()}\n",
        ".env": f"QISKIT_IBM_TOKEN={fakes.ibm_key()}\n",
        "deploy.yml": f"env:\n  IONQ_API_KEY: {fakes.ionq_key()}\n",
        "blob.bin": b"\0\1\2" + f"QISKIT_IBM_TOKEN={fakes.ibm_key()}".encode(),
        "examples/demo.py": leak(fakes.ibm_key()),
        "pyproject.toml": '[tool.keyguard]\nexclude = ["examples/"]\n',
    }


def write_files(repo: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def hook_sections(output: str) -> dict[str, str]:
    """pre-commit's output split per hook id (`- hook id: X` starts each hook's block)."""
    sections: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("- hook id: "):
            current = line.removeprefix("- hook id: ").strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return sections


REPORTED = re.compile(r"^(?P<path>[^\s:][^:]*):(?:cell \d+:)?\d+:\d+: KG\d{3} ", re.MULTILINE)


def reported(section: str) -> set[str]:
    return {m.group("path") for m in REPORTED.finditer(section)}


def check_hooks(output: str, hook_ids: list[str], repo: Path, files: dict[str, str | bytes],
                secrets: list[str]) -> None:
    """Each hook in `hook_ids` ran and reported exactly its row's files, in the order
    pre-commit ran them: once a rewriting hook (--fix) has fixed a file, the hooks after it
    see that file clean (try-repo runs hooks sorted by id)."""
    sections = hook_sections(output)
    assert set(hook_ids) <= set(sections), f"not every hook ran:\n{output}"
    fixed: set[str] = set()
    for hook_id in sections:  # run order
        case = HOOK_CASES[hook_id]
        expected = set(case.reports) - fixed
        assert reported(sections[hook_id]) == expected, (hook_id, sections[hook_id])
        for name in case.rewrites:
            text = (repo / name).read_text(encoding="utf-8")
            assert text != files[name] and "os.environ" in text, (hook_id, name)
        fixed |= case.rewrites
    for secret in secrets:
        assert secret not in output


# --- manifest ---------------------------------------------------------------------------

def test_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(HOOKS))}
    # Every published hook has a row in HOOK_CASES, so the real runs below cover it.
    assert set(hooks) == set(HOOK_CASES)
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["require_serial"] is True
        assert hook["entry"].startswith("keyguard scan")
        if hook["pass_filenames"]:  # keyguard-push scans commits, not named files
            assert "--force-exclude" in hook["entry"].split()
        assert "--verify" not in hook["entry"] and "--verify" not in hook["args"]
        assert "text" in hook["types"] or set(hook["types_or"]) <= {"python", "pyi", "jupyter"}
    assert hooks["keyguard"]["types"] == ["text"] and hooks["keyguard"]["files"] == ""
    assert hooks["keyguard-python"]["types_or"] == ["python", "pyi", "jupyter"]
    assert hooks["keyguard-fix"]["entry"] == "keyguard scan --fix --force-exclude"
    assert hooks["keyguard-push"]["stages"] == ["pre-push"]
    assert hooks["keyguard-push"]["pass_filenames"] is False


@pytest.mark.parametrize(
    ("name", "selected"),
    [(".env", True), (".env.local", True), ("config/prod.env", True), (".envrc", True),
     ("deploy.sh", True), ("ci.yml", True), ("conf.yaml", True), ("qiskit-ibm.json", True),
     ("pyproject.toml", True), ("setup.cfg", True), ("tox.ini", True), ("README.md", True),
     ("docs/index.rst", True), (".qiskit/qiskitrc", True), ("qiskitrc", True),
     ("app.py", False), ("nb.ipynb", False), ("image.png", False), ("environment.py", False)],
)
def test_text_hook_file_selection(name: str, selected: bool) -> None:
    hook = next(h for h in yaml.safe_load(HOOKS.read_text()) if h["id"] == "keyguard-text")
    assert bool(re.search(hook["files"], name)) is selected


def test_text_hook_selects_every_credential_file_of_the_packs() -> None:
    """The hook's `files` regex is static YAML: every built-in pack's [[credential_file]]
    (other than notebooks and Python, which the `keyguard` hook sees) must pass it."""
    import re

    from keyguard.rulepack.load import load_ruleset

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


def staged_project(repo: Path, env: dict[str, str], seed: str) -> tuple[dict, list[str]]:
    fakes = FakeKeys(seed)
    files = project_files(fakes)
    write_files(repo, files)
    git("add", "-A", cwd=repo, env=env)
    secrets = re.findall(r"[A-Za-z0-9_-]{32,44}", "".join(
        v if isinstance(v, str) else v.decode("latin-1") for v in files.values()))
    return files, secrets


STAGES = sorted({case.stage for case in HOOK_CASES.values()})


@pytest.mark.slow
@needs_git
@pytest.mark.parametrize("stage", STAGES)
def test_try_repo_runs_every_hook_of_a_stage(checkout, project, stage: str) -> None:
    """One `pre-commit try-repo` per stage runs every published hook of that stage on the
    same staged files; each hook reports exactly the files its row says."""
    (hook_repo, ref), (repo, env) = checkout, project
    files, secrets = staged_project(repo, env, f"try-repo-{stage}")
    proc = pre_commit("try-repo", str(hook_repo), "--ref", ref, "--verbose",
                      "--hook-stage", stage, cwd=repo, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    hook_ids = [h for h, case in HOOK_CASES.items() if case.stage == stage]
    check_hooks(out, hook_ids, repo, files, secrets)
    for name in NEVER:
        assert f"{name}:" not in out


@pytest.mark.slow
@needs_git
def test_installed_hooks_block_git_commit(checkout, project) -> None:
    """The user's flow: .pre-commit-config.yaml naming every published hook,
    `pre-commit install`, `git commit`; then `pre-commit run --all-files` on history."""
    (hook_repo, ref), (repo, env) = checkout, project
    # Rewriting hooks last, so every other hook sees the leaks as staged.
    order = sorted(HOOK_CASES, key=lambda h: bool(HOOK_CASES[h].rewrites))
    config = {"repos": [{"repo": str(hook_repo), "rev": ref,
                         "hooks": [{"id": hook_id} for hook_id in order]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git("add", ".pre-commit-config.yaml", cwd=repo, env=env)
    installed = pre_commit("install", "--install-hooks", cwd=repo, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    files, secrets = staged_project(repo, env, "installed")
    blocked = subprocess.run(["git", "commit", "-m", "leak"], cwd=repo, env=env,
                             capture_output=True, text=True, timeout=600)
    out = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, out
    check_hooks(out, [h for h, c in HOOK_CASES.items() if c.stage == "pre-commit"], repo,
                files, secrets)
    assert git("log", "--oneline", cwd=repo, env=env).count("\n") == 1  # still one commit
    # Keys moved out by hand: the commit goes through (binary and excluded files stay).
    for name in CODE | TEXT:
        (repo / name).unlink()
    (repo / "app.py").write_text("import os\nTOKEN = os.environ['QISKIT_IBM_TOKEN']\n")
    git("add", "-A", cwd=repo, env=env)
    ok = subprocess.run(["git", "commit", "-m", "no leak"], cwd=repo, env=env,
                        capture_output=True, text=True, timeout=600)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # A key committed past the hooks: only --all-files looks at it.
    (repo / "old.py").write_text(leak(FakeKeys("old").ibm_key()))
    git("add", "old.py", cwd=repo, env=env)
    git("commit", "--quiet", "--no-verify", "-m", "leak", cwd=repo, env=env)
    assert pre_commit("run", "keyguard", cwd=repo, env=env).returncode == 0  # nothing staged
    proc = pre_commit("run", "keyguard", "--all-files", cwd=repo, env=env)
    assert proc.returncode == 1 and "old.py:3:" in proc.stdout + proc.stderr


@pytest.mark.slow
@needs_git
def test_pre_push_hook_scans_exactly_the_pushed_commits(checkout, project, tmp_path) -> None:
    """`pre-commit install --hook-type pre-push`, a bare remote on disk, real `git push`: a
    key committed and removed again before the push blocks it; a key the remote already has
    does not block pushing clean commits on top."""
    (hook_repo, ref), (repo, env) = checkout, project
    remote = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", str(remote), cwd=tmp_path, env=env)
    git("remote", "add", "origin", str(remote), cwd=repo, env=env)
    fakes = FakeKeys(65)
    old_key = fakes.ibm_key()
    (repo / "old.py").write_text(leak(old_key))
    git("add", "old.py", cwd=repo, env=env)
    git("commit", "--quiet", "-m", "already on the remote", cwd=repo, env=env)
    git("push", "--quiet", "origin", "main", cwd=repo, env=env)  # no hook installed yet
    config = {"repos": [{"repo": str(hook_repo), "rev": ref, "hooks": [{"id": "keyguard-push"}]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    installed = pre_commit("install", "--hook-type", "pre-push", cwd=repo, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    git("add", ".pre-commit-config.yaml", cwd=repo, env=env)
    git("commit", "--quiet", "-m", "hook config", cwd=repo, env=env)
    clean = subprocess.run(["git", "push", "origin", "main"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stdout + clean.stderr  # old.py's key is not pushed now
    key = fakes.ibm_key()
    (repo / "leaky.py").write_text(leak(key))
    git("add", "leaky.py", cwd=repo, env=env)
    git("commit", "--quiet", "-m", "leak", cwd=repo, env=env)
    leaked = git("rev-parse", "HEAD", cwd=repo, env=env).strip()
    (repo / "leaky.py").write_text(leak("").replace('token=""', "token=None"))
    git("commit", "--quiet", "-am", "remove it again", cwd=repo, env=env)
    blocked = subprocess.run(["git", "push", "origin", "main"], cwd=repo, env=env,
                             capture_output=True, text=True, timeout=600)
    out = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, out
    assert "leaky.py:3:" in out and f"commit {leaked[:12]}" in out
    assert "old.py" not in out and key not in out and old_key not in out
    pushed = git("rev-parse", "main", cwd=remote, env=env).strip()
    assert pushed != git("rev-parse", "HEAD", cwd=repo, env=env).strip()
