"""The composite GitHub Action (`action.yml`): its shell steps run for real, its `uses:` are
pinned and used as documented, and linters for workflows accept it.

`act` is not available here, so each composite `shell: bash` step's own script is run with
bash the way the runner runs it (`bash --noprofile --norc -eo pipefail {0}`), with the step's
`env:` evaluated from the inputs and the earlier steps' outputs, and RUNNER_TEMP /
GITHUB_WORKSPACE / GITHUB_ACTION_PATH / GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH /
GITHUB_STEP_SUMMARY set. The `uses:` step (actions/setup-python with
`update-environment: false`) is stood in for by its documented output `python-path`: a real
interpreter outside any virtual environment. The install step really creates keyguard's
venv and pip-installs a copy of this checkout into it (needs PyPI for the dependencies; a
network failure skips with the reason), and the scan steps run with a PATH that holds no
keyguard and no Python of the test run, so they can only work through that venv.
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

from keyguard.rulepack.fakes import FakeKeys

from report_helpers import SARIF_SCHEMA, load_schema

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
README = ROOT / "README.md"
EXPR = re.compile(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
BASH = shutil.which("bash")
GIT = shutil.which("git")
needs_bash = pytest.mark.skipif(BASH is None or GIT is None, reason="bash or git is not installed")
NETWORK_ERRORS = ("Temporary failure in name resolution", "Failed to establish a new connection",
                  "No matching distribution found", "Network is unreachable", "ProxyError")

# Each third-party action keyguard's files use: the commit its SHA pin names, the tag that
# commit is (looked up in the action's repository), and the inputs and outputs its
# action.yml declares at that tag.
PINS: dict[str, dict] = {
    "actions/setup-python": {
        "sha": "5fda3b95a4ea91299a34e894583c3862153e4b97", "tag": "v7.0.0",
        "inputs": {"python-version", "python-version-file", "cache", "architecture",
                   "check-latest", "token", "cache-dependency-path", "update-environment",
                   "allow-prereleases", "freethreaded", "pip-version"},
        "outputs": {"python-version", "cache-hit", "python-path"},
    },
    "github/codeql-action/upload-sarif": {
        "sha": "8aad20d150bbac5944a9f9d289da16a4b0d87c1e", "tag": "v4.36.2",
        "inputs": {"sarif_file", "checkout_path", "ref", "sha", "token", "matrix", "category",
                   "wait-for-processing"},
        "outputs": {"sarif-id", "sarif-ids"},
    },
    "actions/checkout": {
        "sha": "3d3c42e5aac5ba805825da76410c181273ba90b1", "tag": "v7.0.1",
        "inputs": {"repository", "ref", "token", "ssh-key", "ssh-known-hosts", "ssh-strict",
                   "ssh-user", "persist-credentials", "path", "clean", "filter",
                   "sparse-checkout", "sparse-checkout-cone-mode", "fetch-depth", "fetch-tags",
                   "show-progress", "lfs", "submodules", "set-safe-directory",
                   "github-server-url", "allow-unsafe-pr-checkout"},
        "outputs": {"ref", "commit"},
    },
}
USES = re.compile(r"^\s*-?\s*uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<tag>\S+))?",
                  re.MULTILINE)


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def steps(action: dict) -> list[dict]:
    return action["runs"]["steps"]


def step(action: dict, step_id: str) -> dict:
    return next(s for s in steps(action) if s.get("id") == step_id)


def readme_workflow() -> str:
    """The README's example workflow, as a user fills it in: OWNER and COMMIT_SHA are the
    README's two placeholders (no release is published yet)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# \.github/workflows/keyguard\.yml\n.*?)```", text, re.DOTALL)
    assert block, "README has no .github/workflows/keyguard.yml example"
    workflow = block.group(1)
    assert "OWNER/keyguard@COMMIT_SHA" in workflow
    return workflow.replace("OWNER/keyguard@COMMIT_SHA", "example/keyguard@" + "0" * 40)


# --- static: pins, inputs, expressions --------------------------------------------------------

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
    upload = next(s for s in steps(action) if s.get("uses", "").startswith(
        "github/codeql-action/upload-sarif@"))
    assert upload["with"]["category"] == "keyguard"


@pytest.mark.parametrize("source", ["action.yml", "README workflow"])
def test_every_uses_is_pinned_by_sha_to_a_known_tag(source: str) -> None:
    text = ACTION.read_text(encoding="utf-8") if source == "action.yml" else readme_workflow()
    found = [m.groupdict() for m in USES.finditer(text)]
    assert found
    for use in found:
        if use["action"] == "example/keyguard":  # the README's own placeholder
            continue
        pin = PINS[use["action"]]
        assert use["ref"] == pin["sha"], f"{use['action']} is not pinned to {pin['tag']}"
        assert use["tag"] == pin["tag"], f"{use['action']}: say which tag the SHA is"


def _with_blocks(document: dict) -> list[tuple[str, dict]]:
    if "runs" in document:
        found = document["runs"]["steps"]
    else:
        found = [s for job in document["jobs"].values() for s in job["steps"]]
    return [(s["uses"].split("@")[0], s.get("with") or {}) for s in found if "uses" in s]


@pytest.mark.parametrize("source", ["action.yml", "README workflow"])
def test_with_keys_are_documented_inputs(source: str) -> None:
    text = ACTION.read_text(encoding="utf-8") if source == "action.yml" else readme_workflow()
    own_inputs = set(yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"])
    for name, given in _with_blocks(yaml.safe_load(text)):
        documented = own_inputs if name == "example/keyguard" else PINS[name]["inputs"]
        assert set(given) <= documented, (name, set(given) - documented)


def test_caller_environment_is_left_alone(action) -> None:
    setup = next(s for s in steps(action) if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["update-environment"] is False
    for s in steps(action):
        for text in (s.get("run", ""),):
            assert "GITHUB_PATH" not in text and "GITHUB_ENV" not in text


def test_expressions_name_real_inputs_and_step_outputs(action) -> None:
    """`${{ inputs.X }}` names an input; `${{ steps.ID.outputs.Y }}` an earlier step and an
    output that step documents (a `uses:`) or writes (a `run:` script)."""
    seen: dict[str, set[str]] = {}
    for s in steps(action):
        text = yaml.safe_dump({k: v for k, v in s.items() if k != "run"})
        for expr in EXPR.findall(text) + re.findall(r"steps\.[\w-]+\.outputs\.[\w-]+", text):
            parts = expr.split(".")
            if parts[0] == "inputs":
                assert parts[1] in action["inputs"], expr
            elif parts[0] == "steps":
                assert parts[1] in seen and parts[3] in seen[parts[1]], expr
        if "id" in s:
            if "uses" in s:
                seen[s["id"]] = PINS[s["uses"].split("@")[0]]["outputs"]
            else:
                seen[s["id"]] = set(re.findall(r'echo "([\w-]+)=', s["run"]))
    for spec in action["outputs"].values():
        _, sid, _, name = EXPR.search(spec["value"]).group(1).split(".")
        assert name in seen[sid]


def test_no_input_expression_inside_run_scripts(action) -> None:
    """Inputs reach the shell only through env: (GitHub's script-injection guidance)."""
    runs = [s for s in steps(action) if "run" in s]
    assert runs
    for s in runs:
        assert "${{" not in s["run"], f"expression inside run: of step {s.get('name')}"
        assert s.get("shell") == "bash"


@pytest.mark.parametrize("source", ["action.yml", "README workflow"])
def test_zizmor_finds_nothing(source: str, tmp_path: Path) -> None:
    zizmor = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install zizmor, in the test extras)")
    if source == "action.yml":
        target = ACTION
    else:
        target = tmp_path / ".github" / "workflows" / "keyguard.yml"
        target.parent.mkdir(parents=True)
        target.write_text(readme_workflow(), encoding="utf-8")
    proc = subprocess.run([zizmor, "--offline", "--no-progress", str(target)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout


@pytest.mark.parametrize(("source", "schema"), [("action.yml", "vendor.github-actions"),
                                                ("README workflow", "vendor.github-workflows")])
def test_check_jsonschema_accepts_it(source: str, schema: str, tmp_path: Path) -> None:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed")
    target = ACTION
    if source != "action.yml":
        target = tmp_path / "keyguard.yml"
        target.write_text(readme_workflow(), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                           str(target)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_workflow_hardening() -> None:
    workflow = yaml.safe_load(readme_workflow())
    (job,) = workflow["jobs"].values()
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    assert workflow["permissions"] == {"contents": "read"}


# --- the steps' scripts, run for real ---------------------------------------------------------

class Runner:
    """Runs the action's bash steps in order, keeping step outputs as the runner does."""

    def __init__(self, action: dict, workspace: Path, tmp: Path, outputs: dict[str, dict]):
        self.action, self.workspace, self.tmp = action, workspace, tmp
        self.outputs = {k: dict(v) for k, v in outputs.items()}
        self.github: dict[str, str] = {}  # e.g. github.event.pull_request.base.sha
        self.files = {name: tmp / name for name in ("github_output", "github_env", "github_path",
                                                     "step_summary")}
        for f in self.files.values():
            f.write_text("")

    def evaluate(self, text: str, inputs: dict[str, str]) -> str:
        def value(m: re.Match) -> str:
            parts = m.group(1).split(".")
            if parts[0] == "inputs":
                return inputs[parts[1]]
            if parts[0] == "github":  # the event context (history: pr), as set by a test
                return self.github.get(m.group(1), "")
            assert parts[0] == "steps" and parts[2] == "outputs", m.group(0)
            return self.outputs.get(parts[1], {}).get(parts[3], "")
        return EXPR.sub(value, str(text))

    def run(self, step_id: str, **given: str) -> subprocess.CompletedProcess:
        inputs = {name: str(spec.get("default", "")) for name, spec in self.action["inputs"].items()}
        inputs.update({k.replace("_", "-"): v for k, v in given.items()})
        s = step(self.action, step_id)
        # No Python and no keyguard of the test run on PATH: only bash, git and coreutils.
        env = {"HOME": str(self.tmp), "LANG": "C.UTF-8",
               "PATH": os.pathsep.join(sorted({str(Path(BASH).parent), str(Path(GIT).parent),
                                               "/usr/bin", "/bin"}))}
        for key, value in (s.get("env") or {}).items():
            env[key] = self.evaluate(value, inputs)
        script = self.tmp / f"{step_id}.sh"
        script.write_text(s["run"], encoding="utf-8")
        self.files["github_output"].write_text("")
        env.update(
            RUNNER_TEMP=str(self.tmp / "runner_temp"),
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_ACTION_PATH=str(self.tmp / "action"),
            GITHUB_OUTPUT=str(self.files["github_output"]),
            GITHUB_ENV=str(self.files["github_env"]),
            GITHUB_PATH=str(self.files["github_path"]),
            GITHUB_STEP_SUMMARY=str(self.files["step_summary"]),
            GITHUB_ACTIONS="true", CI="true",
        )
        proc = subprocess.run([BASH, "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=self.workspace, env=env, capture_output=True, text=True,
                              timeout=600)
        self.outputs[step_id] = dict(
            line.split("=", 1) for line in self.files["github_output"].read_text().splitlines()
            if "=" in line)
        return proc

    def step_if(self, step_id: str, **given: str) -> bool:
        """The step's `if:` for this grammar: `always()`, `&&`, `==` on string literals."""
        inputs = {name: str(spec.get("default", "")) for name, spec in self.action["inputs"].items()}
        inputs.update({k.replace("_", "-"): v for k, v in given.items()})
        cond = step(self.action, step_id)["if"].strip().removeprefix("${{").removesuffix("}}")
        terms = [t.strip() for t in cond.split("&&")]
        result = True
        for term in terms:
            if term == "always()":
                continue
            left, right = (t.strip() for t in term.split("=="))
            value = self.evaluate("${{ " + left + " }}", inputs)
            result = result and value == right.strip("'")
        return result

    @property
    def summary(self) -> str:
        return self.files["step_summary"].read_text(encoding="utf-8")


def _checkout_copy(target: Path) -> None:
    """The action as the runner checks it out: this checkout's tracked and new files."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
    for rel in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / rel)


@pytest.fixture(scope="module")
def installed(action, tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """(runner temp dir, step outputs) after the install step ran for real, once."""
    if BASH is None or GIT is None:
        pytest.skip("bash or git is not installed")
    tmp = tmp_path_factory.mktemp("runner")
    (tmp / "runner_temp").mkdir()
    _checkout_copy(tmp / "action")
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    if base_python == sys.executable and sys.prefix != sys.base_prefix:
        # Python 3.10 in a venv names the venv's own interpreter there: take the base's.
        base_python = str(Path(sys.base_prefix) / "bin" / Path(sys.executable).name)
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}

    def has_keyguard() -> bool:
        return subprocess.run([base_python, "-c", "import keyguard"], cwd=tmp, env=clean_env,
                              capture_output=True).returncode == 0

    assert not has_keyguard(), "the stand-in for the job's Python must not have keyguard"
    workspace = tmp / "workspace"
    workspace.mkdir()
    runner = Runner(action, workspace, tmp, {"python": {"python-path": base_python}})
    proc = runner.run("install")
    if proc.returncode != 0:
        if any(sign in proc.stderr for sign in NETWORK_ERRORS):
            pytest.skip("pip could not download keyguard's dependencies (no network)")
        pytest.fail(f"install step failed:\n{proc.stdout}\n{proc.stderr}")
    # The job's environment is untouched: nothing added to PATH or the environment, and the
    # job's Python still has no keyguard.
    assert runner.files["github_path"].read_text() == ""
    assert runner.files["github_env"].read_text() == ""
    assert not has_keyguard()
    return tmp, runner.outputs


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


@pytest.fixture
def runner_for(action, installed, tmp_path):
    tmp, outputs = installed

    def make(files: dict[str, str]) -> Runner:
        repo = make_repo(tmp_path / "repo", files)
        (tmp_path / "action").symlink_to(tmp / "action")
        (tmp_path / "runner_temp").symlink_to(tmp / "runner_temp")
        return Runner(action, repo, tmp_path, outputs)

    return make


@pytest.mark.slow
@needs_bash
def test_install_step_makes_its_own_venv(installed) -> None:
    tmp, outputs = installed
    bin_dir = Path(outputs["install"]["bin"])
    assert bin_dir.parent == tmp / "runner_temp" / "keyguard-venv"
    version = subprocess.run([str(bin_dir / "keyguard"), "--version"], capture_output=True,
                             text=True, timeout=60)
    assert version.returncode == 0 and "keyguard" in version.stdout


@pytest.mark.slow
@needs_bash
def test_scan_step_on_a_leaky_repo(runner_for) -> None:
    key = FakeKeys(51).ibm_key()
    runner = runner_for(leaky_files(key))
    proc = runner.run("scan")
    assert proc.returncode == 1, proc.stderr
    # Annotations on stdout, on the line of the key.
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1, proc.stdout
    assert "file=app/quantum.py,line=3," in errors[0]
    assert "title=KG201 " in errors[0]
    outputs = runner.outputs["scan"]
    assert outputs["exit-code"] == "1" and outputs["scan-complete"] == "true"
    assert outputs["sarif-upload"] == "true" and runner.step_if("upload-sarif")
    sarif_path = runner.workspace / outputs["sarif-file"]
    log = json.loads(sarif_path.read_text(encoding="utf-8"))
    if SARIF_SCHEMA.is_file():
        import jsonschema

        jsonschema.Draft4Validator(load_schema()).validate(log)
    (result,) = log["runs"][0]["results"]
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "app/quantum.py"
    assert loc["region"]["startLine"] == 3
    summary = runner.summary
    assert "1 finding" in summary and "KG201" in summary and "app/quantum.py:3" in summary
    for text in (proc.stdout, proc.stderr, summary, sarif_path.read_text()):
        assert key not in text
    # sarif: "false" turns the upload off.
    assert not runner.step_if("upload-sarif", sarif="false")


@pytest.mark.slow
@needs_bash
def test_summary_with_a_notice_and_a_key(runner_for) -> None:
    """Issue 8 §2: a save_account() notice's env read is not a secret; the summary, the
    annotations and the SARIF keep it and the digits of file names readable."""
    key = FakeKeys(52).ibm_key()
    env_read = 'os.environ["QISKIT_IBM_TOKEN"]'
    runner = runner_for({
        "app/run_2024_lab.py": (
            "import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
            f"QiskitRuntimeService.save_account(token={env_read})\n"
            f'service = QiskitRuntimeService(token="{key}")\n'
        ),
    })
    proc = runner.run("scan", fail_on="low")
    assert proc.returncode == 1, proc.stderr
    summary = runner.summary
    assert "2 finding" in summary and "KG205" in summary and "KG201" in summary
    assert "app/run_2024_lab.py:4" in summary
    assert f"read it from the environment instead: {env_read}" in summary
    sarif = (runner.workspace / runner.outputs["scan"]["sarif-file"]).read_text(encoding="utf-8")
    for text in (proc.stdout, summary, sarif):
        assert key not in text
        assert "instead: os.e…" not in text and "….py" not in text


@pytest.mark.slow
@needs_bash
def test_scan_step_on_a_clean_repo(runner_for) -> None:
    runner = runner_for({"app/ok.py": "import os\nkey = os.environ['IONQ_API_KEY']\n"})
    proc = runner.run("scan", sarif_file="out/kg.sarif")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::error" not in proc.stdout
    outputs = runner.outputs["scan"]
    assert outputs["exit-code"] == "0" and outputs["sarif-file"] == "out/kg.sarif"
    log = json.loads((runner.workspace / "out" / "kg.sarif").read_text(encoding="utf-8"))
    assert log["runs"][0]["results"] == []
    assert "No credentials found" in runner.summary
    assert runner.step_if("upload-sarif")


@pytest.mark.slow
@needs_bash
@pytest.mark.parametrize("broken", ["missing path", "bad config"])
def test_a_scan_that_errors_fails_and_uploads_nothing(runner_for, broken: str) -> None:
    """Uploading the SARIF of a failed scan would close open alerts: the step fails, the
    summary says the scan did not complete, the upload step's condition is false."""
    files = {"app/ok.py": "x = 1\n"}
    if broken == "bad config":
        files["pyproject.toml"] = '[tool.keyguard]\nexclude = ["[z-a]"]\n'
    runner = runner_for(files)
    paths = "app no-such-dir" if broken == "missing path" else "."
    proc = runner.run("scan", paths=paths, args="--exit-zero")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    outputs = runner.outputs["scan"]
    assert outputs["exit-code"] == "2" and outputs["scan-complete"] == "false"
    assert outputs["sarif-upload"] == "false" and not runner.step_if("upload-sarif")
    summary = runner.summary
    assert "The scan did not complete" in summary and "No credentials found" not in summary
    assert "not uploaded" in summary
    sarif = runner.workspace / "keyguard.sarif"
    if broken == "missing path":
        assert "- no-such-dir: no such file or directory" in summary
        log = json.loads(sarif.read_text(encoding="utf-8"))
        assert log["runs"][0]["invocations"][0]["executionSuccessful"] is False
    else:
        assert not sarif.exists()  # a configuration error stops before scanning
        assert "invalid pattern '[z-a]'" in proc.stderr


@pytest.mark.slow
@needs_bash
def test_nothing_scanned_is_said_in_the_summary(runner_for) -> None:
    runner = runner_for({"assets/logo.png": "\0"})
    proc = runner.run("scan", paths="assets")
    assert proc.returncode == 0, proc.stderr  # not an error (see README "Exit codes")...
    assert "No file was scanned" in runner.summary and "not uploaded" in runner.summary
    # ...but a SARIF of nothing would close every open alert: it is not uploaded.
    assert runner.outputs["scan"]["sarif-upload"] == "false"
    assert not runner.step_if("upload-sarif")


@pytest.mark.slow
@needs_bash
def test_fail_on_and_paths_inputs(runner_for) -> None:
    key = FakeKeys(52).ibm_key()
    runner = runner_for({**leaky_files(key), "other/clean.py": "x = 1\n"})
    # Only the clean folder scanned: exit 0.
    proc = runner.run("scan", paths="other README.md")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # fail-on: a CRN is an info finding, annotated as a notice; it fails only from info up.
    (runner.workspace / "other" / "instance.py").write_text(f'INSTANCE = "{FakeKeys(53).crn()}"\n')
    proc = runner.run("scan", paths="other")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("::notice file=other/instance.py,line=1,")
    proc = runner.run("scan", paths="other", fail_on="info")
    assert proc.returncode == 1, proc.stdout + proc.stderr


@pytest.mark.slow
@needs_bash
def test_inputs_cannot_inject_shell(runner_for, tmp_path) -> None:
    runner = runner_for({"ok.py": "x = 1\n"})
    marker = tmp_path / "pwned"
    evil = f'$(touch {marker}) `touch {marker}`; touch {marker} && touch {marker}'
    runner.run("scan", paths=evil, args=evil, sarif_file=f"x.sarif; touch {marker}")
    assert not marker.exists()
    assert runner.outputs["scan"]["exit-code"] != "0"  # nonsense arguments are an error


def _git(repo: Path, *args: str) -> str:
    config = ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    return subprocess.run([GIT, *config, *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.slow
@needs_bash
def test_history_input_pr_and_all(runner_for) -> None:
    """history: pr scans the pull request's commits (the event's base..head SHAs): a key
    added and removed again inside the PR fails the step although the files are clean."""
    runner = runner_for({"app.py": "import os\n"})
    repo = runner.workspace
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD")
    key = FakeKeys("action-history").ibm_key()
    (repo / "app.py").write_text(
        f'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="{key}")\n')
    _git(repo, "commit", "-qam", "leak")
    (repo / "app.py").write_text("import os\n")
    _git(repo, "commit", "-qam", "remove it")
    head = _git(repo, "rev-parse", "HEAD")
    assert runner.run("scan").returncode == 0  # files only: clean
    runner.github = {"github.event.pull_request.base.sha": base,
                     "github.event.pull_request.head.sha": head}
    proc = runner.run("scan", history="pr")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "::error file=app.py,line=2," in proc.stdout and "introduced in commit" in proc.stdout
    sarif = (repo / runner.outputs["scan"]["sarif-file"]).read_text()
    assert '"commit": "' in sarif
    for text in (proc.stdout, proc.stderr, runner.summary, sarif):
        assert key not in text
    assert runner.run("scan", history="all").returncode == 1
    # The base commit absent (a fetch-depth 1 clone): a clear error naming fetch-depth.
    runner.github["github.event.pull_request.base.sha"] = "1" * 40
    proc = runner.run("scan", history="pr")
    assert proc.returncode == 2 and "fetch-depth: 0" in proc.stdout
    proc = runner.run("scan", history="yes please")
    assert proc.returncode == 2 and "must be pr, all or empty" in proc.stdout
