"""`keyguard scan --history` on real repositories built with `git` in tmp dirs.

One repository holds every case of issue 10: keys added then removed, a deleted file, a
renamed file, notebook outputs later cleared, an unmerged branch, a merge resolution, a
tag-only commit, a positional IonQProvider("<key>") call, a key in a comment, and benign
placeholders and 40-hex digests. Keys come from keyguard.rulepack.fakes at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from keyguard.cli import cli
from keyguard.config import Config
from keyguard.pipeline.scan import scan_paths
from keyguard.rulepack.fakes import FakeKeys
from keyguard.sources.history import GitError, scan_history

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    (home / "gitconfig").write_text("")
    env.update(GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.invalid",
               GIT_COMMITTER_NAME="Ada", GIT_COMMITTER_EMAIL="ada@example.invalid",
               GIT_CONFIG_GLOBAL=str(home / "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_PARAMETERS="'init.defaultBranch=main' 'commit.gpgsign=false'")
    return env


@dataclass
class Repo:
    path: Path
    env: dict[str, str]
    date: int = 1_700_000_000
    keys: dict[str, str] = field(default_factory=dict)  # name -> key
    # (key name, path) -> commit that introduced it there
    expected: dict[tuple[str, str], str] = field(default_factory=dict)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.path, env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str, *add: str) -> str:
        self.git("add", "-A", *add)
        self.date += 3600
        stamp = f"{self.date} +0000"
        env = dict(self.env, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", message], cwd=self.path,
                       env=env, check=True, capture_output=True)
        return self.git("rev-parse", "HEAD")


def notebook(source: str, output: str | None) -> str:
    outputs = [] if output is None else [
        {"output_type": "stream", "name": "stdout", "text": [output]}]
    cell = {"cell_type": "code", "execution_count": 1 if outputs else None, "metadata": {},
            "outputs": outputs, "source": [source]}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      indent=1)


def build(tmp_path: Path) -> Repo:
    """The repository of every case; `expected` says which commit introduced which key."""
    fakes = FakeKeys("test_history")
    path = tmp_path / "repo"
    path.mkdir()
    repo = Repo(path, git_env(tmp_path))
    repo.git("init", "-q")
    k = repo.keys
    for name in ("removed", "deleted", "renamed", "notebook", "branch", "merge", "tag",
                 "positional", "comment"):
        k[name] = fakes.ionq_key() if name in ("positional", "comment", "removed") else fakes.ibm_key()
    digest = fakes.hex(40)

    # 1. Benign history: placeholders and digests.
    repo.write("README.md", f"Set `IONQ_API_KEY`; see commit {digest} for the fix.\n")
    repo.write("placeholder.py", 'from qiskit_ionq import IonQProvider\n'
                                 'provider = IonQProvider("<your-api-key>")\n'
                                 'service_token = "YOUR_IBM_QUANTUM_TOKEN"\n')
    repo.write("requirements.txt", f"qiskit-ibm-runtime==0.30  # sha1 {fakes.hex(40)}\n")
    repo.commit("benign")
    # 2. A key added then removed.
    repo.write("config.py", f'from qiskit_ionq import IonQProvider\nprovider = IonQProvider(token="{k["removed"]}")\n')
    repo.expected[("removed", "config.py")] = repo.commit("add config")
    repo.write("config.py", 'import os\nfrom qiskit_ionq import IonQProvider\nprovider = IonQProvider(token=os.environ["IONQ_API_KEY"])\n')
    repo.commit("read the key from the environment")
    # 3. A deleted file.
    repo.write("deploy/.env", f"QISKIT_IBM_TOKEN={k['deleted']}\n")
    repo.expected[("deleted", "deploy/.env")] = repo.commit("deploy env")
    (path / "deploy/.env").unlink()
    repo.commit("remove .env")
    # 4. A renamed file: the key is at both paths; at the new one from the renaming commit.
    repo.write("old_name.py", f'from qiskit_ibm_runtime import QiskitRuntimeService\nservice = QiskitRuntimeService(channel="ibm_cloud", token="{k["renamed"]}")\n')
    repo.expected[("renamed", "old_name.py")] = repo.commit("service")
    repo.git("mv", "old_name.py", "new_name.py")
    repo.expected[("renamed", "new_name.py")] = repo.commit("rename")
    # 5. A notebook output, later cleared.
    source = "from qiskit_ibm_runtime import QiskitRuntimeService\nprint(QiskitRuntimeService.saved_accounts())"
    repo.write("nb/demo.ipynb", notebook(source, f"{{'token': '{k['notebook']}', 'channel': 'ibm_cloud'}}\n"))
    repo.expected[("notebook", "nb/demo.ipynb")] = repo.commit("notebook with outputs")
    repo.write("nb/demo.ipynb", notebook(source, None))
    repo.commit("clear outputs")
    # 6. A positional IonQProvider("<key>") call, and 7. a key in a comment.
    repo.write("ionq_run.py", f'from qiskit_ionq import IonQProvider as P\nbackend = P("{k["positional"]}").get_backend("simulator")\n')
    repo.expected[("positional", "ionq_run.py")] = repo.commit("positional")
    repo.write("ionq_run.py", 'import os\nfrom qiskit_ionq import IonQProvider as P\nbackend = P(os.environ["IONQ_API_KEY"]).get_backend("simulator")\n')
    repo.commit("env")
    repo.write("notes.py", f'import qiskit_ionq\n# my ionq api key: {k["comment"]}\n')
    repo.expected[("comment", "notes.py")] = repo.commit("comment")
    repo.write("notes.py", "import qiskit_ionq\n")
    repo.commit("drop comment")
    main = repo.git("rev-parse", "HEAD")
    # 8. An unmerged branch.
    repo.git("checkout", "-q", "-b", "experiment")
    repo.write("exp.py", f'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="{k["branch"]}")\n')
    repo.expected[("branch", "exp.py")] = repo.commit("experiment")
    # 9. A merge whose resolution alone holds a key.
    repo.git("checkout", "-q", "-b", "side", main)
    repo.write("settings.toml", 'token = "from side"\n')
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.write("settings.toml", 'token = "from main"\n')
    repo.commit("main settings")
    subprocess.run(["git", "merge", "-q", "side"], cwd=path, env=repo.env, capture_output=True)
    repo.write("settings.toml", f'[ibm_quantum]\ntoken = "{k["merge"]}"\n')
    repo.expected[("merge", "settings.toml")] = repo.commit("merge side")
    repo.write("settings.toml", 'token = "set QISKIT_IBM_TOKEN"\n')
    repo.commit("no key in settings")
    # 10. A commit only a tag reaches.
    repo.git("checkout", "-q", "--detach")
    repo.write("release.py", f'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="{k["tag"]}")\n')
    repo.expected[("tag", "release.py")] = repo.commit("release build")
    repo.git("tag", "v1.0")
    repo.git("checkout", "-q", "main")
    return repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return build(tmp_path_factory.mktemp("history"))


def scan(repo: Repo, monkeypatch: pytest.MonkeyPatch, revisions: str = "", paths=None, **config):
    monkeypatch.chdir(repo.path)
    return scan_history(paths or ["."], revisions, Config(jobs=1, **config))


def which_key(repo: Repo, value: str) -> str:
    return next(name for name, key in repo.keys.items() if key == value)


def test_every_key_once_with_its_introducing_commit(repo: Repo, monkeypatch) -> None:
    result = scan(repo, monkeypatch)
    found = {}
    for f in result.findings:
        key = (which_key(repo, f.secret.reveal()), f.location.path)
        assert key not in found, f"reported twice: {key}"
        found[key] = f
    assert {k: f.commit for k, f in found.items()} == repo.expected
    for f in found.values():
        assert len(f.commit) == 40 and f.commit_date and f.commit_date[:4] == "2023"
    assert found[("renamed", "new_name.py")].in_head is True
    assert found[("renamed", "new_name.py")].head_location.line == 2
    assert all(f.in_head is False for k, f in found.items() if k != ("renamed", "new_name.py"))
    assert found[("branch", "exp.py")].refs == ("refs/heads/experiment",)
    assert found[("tag", "release.py")].refs == ("refs/tags/v1.0",)
    assert "refs/heads/main" in found[("removed", "config.py")].refs
    assert found[("positional", "ionq_run.py")].rule_id == "KG101"
    assert result.commits == int(repo.git("rev-list", "--all", "--count"))


def test_git_log_runs_of_a_few_commits_give_what_one_run_gives(repo: Repo, monkeypatch) -> None:
    # One `git log` per COMMITS_PER_RUN commits (its memory grows with the history it
    # shows), and parts no larger: the changes, and what the scan reports, are the same.
    from keyguard.sources.history import commits as commit_module
    from keyguard.sources.history import diffpass
    from keyguard.sources.history.commits import iter_changes, list_commits
    from keyguard.sources.history.git import Git

    monkeypatch.chdir(repo.path)
    git = Git.at(".")
    listed = list_commits(git, ["--all"], []).order
    whole = list(iter_changes(git, listed, []))
    whole_result = scan(repo, monkeypatch)
    monkeypatch.setattr(commit_module, "COMMITS_PER_RUN", 2)
    monkeypatch.setattr(diffpass, "_LARGEST_PART", 2)
    assert len(listed) > 2 and list(iter_changes(git, listed, [])) == whole
    assert [c for part in diffpass._parts(listed, 2) for c in part] == listed
    in_runs = scan(repo, monkeypatch)
    assert [(f.fingerprint, f.commit, f.refs) for f in in_runs.findings] == \
        [(f.fingerprint, f.commit, f.refs) for f in whole_result.findings]
    assert in_runs.files_scanned == whole_result.files_scanned


def test_the_graph_rev_list_printed_gives_what_separate_walks_give(repo: Repo, monkeypatch) -> None:
    # Every ref without paths: merges and refs come from rev-list's --parents graph. The same
    # commits selected another way take the separate walks (merges by git log --merges,
    # refs by their own rev-list); both must report the same.
    def summary(result):
        return sorted((f.fingerprint, f.location.path, f.commit, f.refs, f.in_head)
                      for f in result.findings)

    by_graph = scan(repo, monkeypatch)
    by_walks = scan(repo, monkeypatch, "--all HEAD")
    assert summary(by_graph) == summary(by_walks)
    assert any(f.refs for f in by_graph.findings)
    assert by_graph.files_scanned == by_walks.files_scanned


def test_every_blob_scanned_is_cheaper_than_every_commit_times_files(repo: Repo, monkeypatch) -> None:
    result = scan(repo, monkeypatch)
    distinct = set(repo.git("rev-list", "--objects", "--all").split("\n"))
    assert 0 < result.files_scanned < len(distinct)


def test_cli_outputs_never_hold_a_key_and_name_the_commit(repo: Repo, monkeypatch) -> None:
    monkeypatch.chdir(repo.path)
    runner = CliRunner()
    outputs = {}
    for fmt in ("text", "json", "sarif", "github"):
        result = runner.invoke(cli, ["scan", "--history", "--format", fmt])
        assert result.exit_code == 1, result.output
        outputs[fmt] = result.output
        for key in repo.keys.values():
            assert key not in result.output
        assert "example.invalid" not in result.output  # no author e-mail
    commit = repo.expected[("removed", "config.py")]
    assert f"commit {commit[:12]}" in outputs["text"]
    report = json.loads(outputs["json"][:outputs["json"].rindex("}") + 1])
    entry = next(f for f in report["findings"] if f["path"] == "config.py")
    assert (entry["commit"], entry["in_head"], entry["commit_date"][:4]) == (commit, False, "2023")
    assert entry["refs"] == ["refs/heads/experiment", "refs/heads/main", "refs/heads/side",
                             "refs/tags/v1.0"]
    assert report["summary"]["history"]["commits"] > 10
    sarif = json.loads(outputs["sarif"][outputs["sarif"].index("{"):outputs["sarif"].rindex("}") + 1])
    results = sarif["runs"][0]["results"]
    assert {r["properties"]["commit"] for r in results} == set(repo.expected.values())
    renamed = next(r for r in results if r["properties"]["in_head"])
    assert renamed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "new_name.py"


def test_range_and_paths(repo: Repo, monkeypatch) -> None:
    side = repo.expected[("branch", "exp.py")]
    only = scan(repo, monkeypatch, f"main..{side}")
    assert [(which_key(repo, f.secret.reveal()), f.commit) for f in only.findings] == [("branch", side)]
    # A range's merges are known from rev-list's parents; the merge resolution is found.
    merge = repo.expected[("merge", "settings.toml")]
    ranged = scan(repo, monkeypatch, f"{merge}~1..{merge}")
    assert [(which_key(repo, f.secret.reveal()), f.commit) for f in ranged.findings] == [
        ("merge", merge)]
    limited = scan(repo, monkeypatch, paths=["nb"])
    assert [f.location.path for f in limited.findings] == ["nb/demo.ipynb"]
    with pytest.raises(GitError, match="rev-list"):
        scan(repo, monkeypatch, "no-such-branch..main")


def test_baseline_ignore_comment_and_fail_on(repo: Repo, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(repo.path)
    runner = CliRunner()
    baseline = tmp_path / "baseline.json"
    first = runner.invoke(cli, ["scan", "--history", "--format", "json", "-q"])
    findings = json.loads(first.output)["findings"]
    results: dict[str, list[dict[str, str]]] = {}
    for f in findings:
        rel = os.path.relpath(repo.path / f["path"], tmp_path).replace(os.sep, "/")
        results.setdefault(rel, []).append({"fingerprint": f["fingerprint"], "rule": f["rule"]})
    baseline.write_text(json.dumps({"results": results, "tool": "keyguard", "version": 1}))
    known = runner.invoke(cli, ["scan", "--history", "--baseline", str(baseline)])
    assert known.exit_code == 0, known.output
    assert f"{len(findings)} known in the baseline" in known.output
    # --select and --fail-on work on history findings as on tree findings.
    assert runner.invoke(cli, ["scan", "--history", "--select", "KG101", "--format", "json", "-q"]
                         ).output.count('"rule": "KG101"') == 3
    assert runner.invoke(cli, ["scan", "--history", "--fail-on", "critical", "--select", "KG101"]
                         ).exit_code == 0


def test_ignore_comment_in_history(tmp_path, monkeypatch) -> None:
    repo = Repo(tmp_path / "r", git_env(tmp_path))
    repo.path.mkdir()
    repo.git("init", "-q")
    key = FakeKeys("ignored").ionq_key()
    repo.write("a.py", f'from qiskit_ionq import IonQProvider\nIonQProvider("{key}")  # keyguard: ignore[KG101]\n')
    repo.commit("ignored key")
    result = scan(repo, monkeypatch)
    assert result.findings == [] and len(result.ignored) == 1
    repo.write("a.py", f'from qiskit_ionq import IonQProvider\nIonQProvider("{key}")\n')
    second = repo.commit("the comment goes")
    assert [f.commit for f in scan(repo, monkeypatch).findings] == [second]


def test_fix_does_not_touch_history(repo: Repo, monkeypatch) -> None:
    monkeypatch.chdir(repo.path)
    head = repo.git("rev-parse", "HEAD")
    before = (repo.path / "new_name.py").read_text()
    result = CliRunner().invoke(cli, ["scan", "--history", "--fix"])
    assert "git filter-repo --replace-text" in result.output and "Revoke" in result.output
    assert repo.git("rev-parse", "HEAD") == head
    assert (repo.path / "new_name.py").read_text() == before


def test_verify_works_on_history_findings(repo: Repo, monkeypatch) -> None:
    from tests.test_verify import BASE_URL_ENV, _serve

    gen = _serve(FakeKeys("test_verify"))
    server = next(gen)
    try:
        monkeypatch.setenv(BASE_URL_ENV, server.base_url)
        server.behave[repo.keys["removed"]] = "live"
        monkeypatch.chdir(repo.path)
        result = CliRunner().invoke(cli, ["scan", "--history", "--verify", "--select", "KG101",
                                          "--format", "json", "-q"])
        report = json.loads(result.output[:result.output.rindex("}") + 1])
        states = {f["path"]: f["verification"] for f in report["findings"]}
        assert states["config.py"] == "verified"
        assert repo.keys["removed"] not in result.output
    finally:
        next(gen, None)


# --- bad input ------------------------------------------------------------------------------

def small_repo(tmp_path: Path, name: str = "r") -> Repo:
    repo = Repo(tmp_path / name, git_env(tmp_path))
    repo.path.mkdir()
    repo.git("init", "-q")
    return repo


def ionq_file(key: str) -> str:
    return f'from qiskit_ionq import IonQProvider\nIonQProvider("{key}")\n'


def test_a_folder_whose_name_starts_with_two_dots_is_inside(tmp_path, monkeypatch) -> None:
    # "..data" is a folder of the repository, not a path outside it.
    repo = small_repo(tmp_path)
    key = FakeKeys("dots").ionq_key()
    repo.write("..data/run.py", ionq_file(key))
    commit = repo.commit("add")
    monkeypatch.chdir(repo.path)
    [finding] = scan_history(["..data"], "", Config(jobs=1)).findings
    assert (finding.secret.reveal(), finding.commit) == (key, commit)
    with pytest.raises(GitError, match="outside the repository"):
        scan_history(["..data", str(tmp_path)], "", Config(jobs=1))


def test_not_a_repository_is_exit_2(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = CliRunner().invoke(cli, ["scan", "--history", str(tmp_path)])
    assert result.exit_code == 2
    assert "not inside a git repository" in result.output
    assert "Traceback" not in result.output


def test_no_commits(tmp_path, monkeypatch) -> None:
    repo = small_repo(tmp_path)
    monkeypatch.chdir(repo.path)
    result = CliRunner().invoke(cli, ["scan", "--history"])
    assert result.exit_code == 0
    assert "no commits yet" in result.output


def test_shallow_clone_says_what_is_missing(tmp_path, monkeypatch) -> None:
    repo = small_repo(tmp_path)
    fakes = FakeKeys("shallow")
    old, new = fakes.ionq_key(), fakes.ionq_key()
    repo.write("a.py", ionq_file(old))
    repo.commit("old key")
    repo.write("a.py", ionq_file(new))
    repo.commit("new key")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)],
                   env=repo.env, check=True, capture_output=True)
    monkeypatch.chdir(clone)
    result = scan_history(["."], "", Config(jobs=1))
    assert [f.secret.reveal() for f in result.findings] == [new]
    assert any("shallow clone" in note and "--unshallow" in note for _, note in result.notes)


def test_submodules_lfs_binary_and_huge_blobs_are_counted(tmp_path, monkeypatch) -> None:
    inner = small_repo(tmp_path, "inner")
    inner.write("x.py", "x = 1\n")
    inner.commit("inner")
    repo = small_repo(tmp_path)
    fakes = FakeKeys("skips")
    repo.write("lfs.bin", "version https://git-lfs.github.com/spec/v1\noid sha256:"
               + fakes.hex(64) + "\nsize 123\n")
    (repo.path / "image.py").write_bytes(b"ionq\0" + fakes.ionq_key().encode())
    repo.write("big.py", ionq_file(fakes.ionq_key()) + "# pad\n" * 200_000)
    subprocess.run(["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q",
                    str(inner.path), "vendor/inner"], cwd=repo.path, env=repo.env, check=True,
                   capture_output=True)
    repo.commit("skips")
    monkeypatch.chdir(repo.path)
    result = scan_history(["."], "", Config(jobs=1, max_file_size=1024 * 1024))
    assert result.findings == []
    assert result.skipped["submodule (not followed)"] == 1
    assert result.skipped["Git LFS pointer (the content is not in git)"] == 1
    assert result.skipped["binary file"] == 1
    assert result.skipped["larger than 1 MB"] == 1
    assert any(p == "vendor/inner" and "not followed" in n for p, n in result.notes)


def test_non_utf8_path_names(tmp_path, monkeypatch) -> None:
    repo = small_repo(tmp_path)
    key = FakeKeys("latin1").ionq_key()
    name = b"caf\xe9.py"
    try:
        (repo.path / os.fsdecode(name)).write_text(ionq_file(key))
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses non-UTF-8 names")
    repo.commit("latin-1 name")
    monkeypatch.chdir(repo.path)
    runner = CliRunner()
    result = runner.invoke(cli, ["scan", "--history", "--format", "json", "-q"])
    [finding] = json.loads(result.output)["findings"]
    assert finding["path"] == "caf\\xe9.py"
    assert key not in result.output


def test_refs_of_a_finding_include_tags_of_tags(tmp_path, monkeypatch) -> None:
    repo = small_repo(tmp_path)
    key = FakeKeys("nested-tag").ionq_key()
    repo.write("q.py", ionq_file(key))
    repo.commit("a key")
    repo.git("tag", "-a", "inner", "-m", "inner")
    repo.git("tag", "-a", "outer", "inner", "-m", "a tag of a tag")
    repo.git("tag", "light")
    monkeypatch.chdir(repo.path)
    [finding] = scan_history(["."], "", Config(jobs=1)).findings
    branch = repo.git("symbolic-ref", "HEAD")
    assert finding.refs == tuple(sorted((branch, "refs/tags/inner", "refs/tags/light", "refs/tags/outer")))


def corrupt(repo: Repo, revision: str) -> tuple[str, Path]:
    """Overwrite the loose object of `revision`'s blob with bytes git cannot inflate."""
    blob = repo.git("rev-parse", revision)
    loose = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not zlib at all")
    return blob, loose


def test_the_reader_kept_open_answers_as_the_one_shot_readers(tmp_path) -> None:
    # The diff pass's workers keep their cat-file processes open over all their parts: the
    # answers must be the one-shot readers' ones, for a blob, a missing object, an object
    # whose header git cannot inflate (reported as missing) and one cut short after its
    # header (cat-file dies while streaming it: the reader starts it again and goes on),
    # every time asked.
    from keyguard.sources.history.git import Git
    from keyguard.sources.history.objects import ObjectReader, blob_sizes, read_blobs

    repo = small_repo(tmp_path)
    for i in range(3):
        repo.write(f"plain{i}.py", f"x = {i}\n" * (i + 1))
        repo.commit(f"plain {i}")
    repo.write("lost.py", "y = 1\n")
    repo.write("cut.py", "".join(f"z{i} = {i * 7919 % 10007}\n" for i in range(400)))
    repo.commit("their blobs go bad")
    lost, _ = corrupt(repo, "HEAD:lost.py")
    cut = repo.git("rev-parse", "HEAD:cut.py")
    loose = repo.path / ".git" / "objects" / cut[:2] / cut[2:]
    loose.chmod(0o644)
    loose.write_bytes(loose.read_bytes()[:len(loose.read_bytes()) // 2])
    blobs = [repo.git("rev-parse", f"HEAD:plain{i}.py") for i in range(3)]
    names = [blobs[0], lost, "0" * 39 + "1", blobs[1], cut, blobs[2], cut, blobs[0]]
    git = Git.at(str(repo.path))
    expected_sizes, expected = blob_sizes(git, names), list(read_blobs(git, names))
    assert [data for _, data in expected] == [b"x = 0\n", None, None, b"x = 1\n" * 2, None,
                                              b"x = 2\n" * 3, None, b"x = 0\n"]
    reader = ObjectReader(git)
    try:
        for _ in range(2):
            assert reader.sizes(names) == expected_sizes
            assert list(reader.read(names)) == expected
    finally:
        reader.close()


def test_missing_or_corrupt_object_is_named_and_the_scan_goes_on(tmp_path, monkeypatch) -> None:
    repo = small_repo(tmp_path)
    fakes = FakeKeys("corrupt")
    kept, lost = fakes.ionq_key(), fakes.ionq_key()
    repo.write("kept.py", ionq_file(kept))
    repo.write("lost.py", ionq_file(lost))
    repo.commit("two files")
    blob, loose = corrupt(repo, "HEAD:lost.py")
    monkeypatch.chdir(repo.path)
    result = scan_history(["."], "", Config(jobs=1))
    assert [f.secret.reveal() for f in result.findings] == [kept]
    assert result.skipped["missing or corrupt object"] == 1
    # Named readably: the abbreviated id survives output redaction (a full one would not).
    from keyguard.report.redact import safe_text

    assert any(blob[:12] in safe_text(note) for _, note in result.notes)
    loose.unlink()
    again = scan_history(["."], "", Config(jobs=1))
    assert [f.secret.reveal() for f in again.findings] == [kept]


def test_the_diff_pass_goes_on_after_an_unreadable_blob(tmp_path, monkeypatch) -> None:
    # git log -p stops at the first blob it cannot read; the pass starts again after that
    # commit, so the older commits are still gated instead of all being scanned in full.
    repo = small_repo(tmp_path)
    fakes = FakeKeys("corrupt-early")
    key = fakes.ionq_key()
    repo.write("old.py", ionq_file(key))
    repo.commit("a key, long ago")
    for i in range(5):
        repo.write(f"plain{i}.py", f"x = {i}\n")
        repo.commit(f"plain {i}")
    repo.write("lost.py", "y = 1\n")
    repo.commit("newest: its blob goes bad")
    corrupt(repo, "HEAD:lost.py")
    monkeypatch.chdir(repo.path)
    result = scan_history(["."], "", Config(jobs=1))
    assert [f.secret.reveal() for f in result.findings] == [key]
    assert result.skipped["missing or corrupt object"] == 1
    # Every blob is in HEAD here, so each is scanned; what the restart buys shows in the
    # pass itself: the older commits' blobs were seen.
    from keyguard.pipeline.scan import _engine
    from keyguard.rulepack.load import load_ruleset
    from keyguard.sources.history.commits import iter_changes
    from keyguard.sources.history.diffpass import DiffGate
    from keyguard.sources.history.git import Git

    engine = _engine((), load_ruleset(()).select(None, None))
    commits = repo.git("rev-list", "HEAD").split()
    _, seen, changes, _ = DiffGate(Git.at("."), commits, [], engine).result()
    older = {repo.git("rev-parse", f"HEAD:plain{i}.py") for i in range(5)}
    assert older <= seen
    # Every commit's changes survive the cut, the commit git stopped in included.
    expected = {}
    for change in iter_changes(Git.at("."), commits, []):
        expected.setdefault(change.commit, (change.date, []))[1].append(
            (change.path, change.blob, change.mode))
    assert changes == expected


def test_one_file_commits_before_an_unreadable_blob_are_all_seen(tmp_path, monkeypatch) -> None:
    # Commits that change one file each give git's output no "diff --git" line between
    # them (each first section follows its commit's raw entries): the pass must still know
    # how far git got when it stops at a bad blob, so that only the commits that read that
    # blob lose their diffs.
    from keyguard.pipeline.scan import _engine
    from keyguard.rulepack.load import load_ruleset
    from keyguard.sources.history.commits import list_commits
    from keyguard.sources.history.diffpass import DiffGate
    from keyguard.sources.history.git import Git

    repo = small_repo(tmp_path)
    for i in range(30):
        repo.write(f"before{i}.py", f"x = {i}\n")
        repo.commit(f"before {i}")
    repo.write("lost.py", "y = 1\n")
    repo.commit("its blob goes bad")
    corrupt(repo, "HEAD:lost.py")
    for i in range(30):
        repo.write(f"after{i}.py", f"z = {i}\n")
        repo.commit(f"after {i}")
    monkeypatch.chdir(repo.path)
    git = Git.at(".")
    commits = list_commits(git, ["--all"], []).order
    engine = _engine((), load_ruleset(()).select(None, None))
    _, seen, changes, _ = DiffGate(git, commits, [], engine).result()
    every = {repo.git("rev-parse", f"HEAD:{name}{i}.py") for name in ("before", "after")
             for i in range(30)}
    assert every <= seen
    assert len(changes) == 61  # the commit git stopped in too, from a raw-only pass


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_log_blocks_are_the_whole_output_cut_at_boundaries(repo: Repo, monkeypatch, chunk) -> None:
    # Whatever the read size (a boundary straddling two reads included), the blocks put
    # together are git's output, and each after the first starts at a boundary.
    from keyguard.sources.history.git import Git

    monkeypatch.chdir(repo.path)
    git = Git.at(".")
    commits = repo.git("rev-list", "--all").split()
    args = ["-z", "--raw", "-p", "-U0", "--no-merges", "--format=%x01%H %aI %P", "--"]
    boundaries = (b"\ndiff --git ", b"\n\x01")
    blocks = list(git.log_blocks(args, commits, boundaries, chunk=chunk))
    whole = subprocess.run(git.command(["log", "--no-walk=unsorted", "--stdin", *args]),
                           cwd=git.root, env=git.env, capture_output=True, check=True,
                           input="".join(c + "\n" for c in commits).encode()).stdout
    assert b"".join(blocks) == whole
    assert all(block.startswith(boundaries) for block in blocks[1:])
    assert len(blocks) > 1


@pytest.mark.parametrize("size", [1, 5000, 1 << 20])
def test_pipe_reads_give_a_writers_output_whole_in_pieces_of_the_size_asked(size, tmp_path) -> None:
    # A writer that writes 4 KB pieces as git does, with pauses: the pieces read are its
    # output in order, each but the last at least `size` bytes; a file (no pipe to
    # enlarge) reads the same.
    from keyguard.sources.history.git import pipe_reads

    writer = ("import os, sys, time\n"
              "for i in range(300):\n"
              "    os.write(1, bytes([65 + i % 26]) * 4096)\n"
              "    time.sleep(0.001) if i % 50 == 0 else None\n")
    expected = b"".join(bytes([65 + i % 26]) * 4096 for i in range(300))
    proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    pieces = list(pipe_reads(proc.stdout, size))
    assert proc.wait() == 0
    assert b"".join(pieces) == expected
    assert all(len(piece) >= size for piece in pieces[:-1])
    saved = tmp_path / "out"
    saved.write_bytes(expected)
    with saved.open("rb") as handle:
        assert b"".join(pipe_reads(handle, size)) == expected


_FAKES = FakeKeys("gate-soundness")
_LINE_PIECES = [
    *(_FAKES.make(name) for name in ("ionq_key", "ibm_key", "crn", "aws_key_id", "iam_jwt",
                                     "qbraid_key", "dwave_token", "hex40", "uuid")),
    "QiskitRuntimeService(token=TOKEN)", "from qiskit_ibm_runtime import QiskitRuntimeService",
    'os.environ["IONQ_API_KEY"] = value', "APItoken = ", "# keyguard: ignore",
    "# pragma: allowlist secret", "ionq", "x = 1", '"', "=", " ", "a" * 40, "Z9" * 20,
]


@settings(max_examples=250, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["+", "-", " "]),
                          st.lists(st.sampled_from(_LINE_PIECES), max_size=4).map("".join)),
                min_size=1, max_size=6),
       st.sampled_from(["m.py", "nb.ipynb", "notes.txt", "conf.toml"]))
def test_the_gates_fast_path_never_drops_a_section_the_full_test_passes(lines, name) -> None:
    # Gate.block first asks, for a whole block, where a key-character run, a rule keyword,
    # an ignore word or (Python) a call-site hint starts, and gives a section without any
    # no full test. The full test on its own must not pass any section that skips.
    from keyguard.pipeline.scan import _engine
    from keyguard.rulepack.load import load_ruleset
    from keyguard.sources.history.gate import _RUN_MAP, Gate

    engine = _engine((), load_ruleset(()).select(None, None))
    blob = "b" * 40
    body = "".join(f"{mark}{text}\n" for mark, text in lines).encode()
    section = (f"a/{name} b/{name}\nindex {'a' * 40}..{blob} 100644\n--- a/{name}\n"
               f"+++ b/{name}\n@@ -1 +1 @@\n").encode() + body
    fast, full = Gate(engine), Gate(engine)
    fast.section(section)
    full._decide(name.encode(), body, blob, body.translate(_RUN_MAP), body.lower())
    assert fast.seen == {blob}
    assert fast.scan == full.scan


def fake_git(tmp_path: Path, version: str) -> str:
    """A directory whose `git` prints `version` (an old git cannot be installed here)."""
    bin_dir = tmp_path / "old-git"
    bin_dir.mkdir()
    script = bin_dir / "git"
    script.write_text(f"#!/bin/sh\necho 'git version {version}'\n")
    script.chmod(0o755)
    return str(bin_dir)


def test_git_missing_or_too_old(tmp_path, monkeypatch) -> None:
    repo = small_repo(tmp_path)
    repo.commit("empty")
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    missing = CliRunner().invoke(cli, ["scan", "--history"])
    assert missing.exit_code == 2 and "git 2.20 or newer" in missing.output
    monkeypatch.setenv("PATH", fake_git(tmp_path, "2.1.4"))
    old = CliRunner().invoke(cli, ["scan", "--history"])
    assert old.exit_code == 2 and "found git version 2.1.4" in old.output


def test_parallel_passes_find_the_same(tmp_path, monkeypatch) -> None:
    """Enough commits and files for the worker processes (diff pass split in two, blobs
    scanned in a pool): the result equals the single-process one."""
    repo = small_repo(tmp_path)
    key = FakeKeys("parallel").ibm_key()
    stream = []
    for n in range(260):
        stamp = 1_700_000_000 + n
        stream.append(f"commit refs/heads/main\nauthor A <a@example.invalid> {stamp} +0000\n"
                      f"committer A <a@example.invalid> {stamp} +0000\ndata 4\nc{n:03d}\n")
        names = [f"m{i}.py" for i in range(60)] if n == 0 else [f"m{n % 60}.py"]
        for name in names:
            body = f"VALUE_{n} = {n}\n"
            if n == 200 and name == "m20.py":
                body += f'TOKEN = "{key}"  # QISKIT_IBM_TOKEN\n'
            stream.append(f"M 100644 inline {name}\ndata {len(body)}\n{body}\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.path, env=repo.env, check=True,
                   input="".join(stream).encode(), capture_output=True)
    repo.git("checkout", "-q", "-f", "main")
    introduced = repo.git("rev-list", "--skip=59", "-1", "main")
    monkeypatch.chdir(repo.path)
    single = scan_history(["."], "", Config(jobs=1))
    double = scan_history(["."], "", Config(jobs=2))
    assert [(f.secret.reveal(), f.commit) for f in double.findings] == [(key, introduced)]
    assert [(f.fingerprint, f.commit) for f in single.findings] == \
        [(f.fingerprint, f.commit) for f in double.findings]
    assert double.files_scanned == single.files_scanned >= 60


@given(st.integers(1, 150_000), st.integers(1, 16))
def test_the_pass_parts_are_the_commits_in_order_largest_first(count, workers) -> None:
    """Guided parts: every commit once, in order; no part larger than the one before but the
    last, nor than _LARGEST_PART; none smaller than 1/(8 x workers) of the commits (or
    _LARGEST_PART) but the last; few of them."""
    from keyguard.sources.history.diffpass import _LARGEST_PART, _parts

    commits = [f"{n:040x}" for n in range(count)]
    parts = _parts(commits, workers)
    assert [c for part in parts for c in part] == commits
    sizes = [len(part) for part in parts]
    assert all(a >= b for a, b in pairwise(sizes[:-1])) and max(sizes) <= _LARGEST_PART
    smallest = min(-(-count // (8 * workers)), _LARGEST_PART)
    assert all(size >= smallest for size in sizes[:-1]) and sizes[-1] >= 1
    assert len(sizes) <= 8 * workers + 1 + count // _LARGEST_PART


def test_files_binary_by_name_are_skipped_in_history_as_in_the_tree(tmp_path, monkeypatch) -> None:
    # A tree scan never reads `*.png` or `*.pickle`; neither does history (a docs build's
    # thousands of images and pickles were read and sniffed, one by one). Each blob counts once.
    repo = small_repo(tmp_path)
    key = FakeKeys("binary-names").ionq_key()
    repo.write("plot.png", ionq_file(key))
    repo.write("data.pickle", ionq_file(key) + "# another version\n")
    repo.write("copy.png", ionq_file(key))  # the same blob as plot.png
    repo.commit("images")
    repo.write("plot.png", "redrawn\n")
    repo.commit("redraw")
    monkeypatch.chdir(repo.path)
    tree = scan_paths(["."], Config(jobs=1))
    history = scan_history(["."], "", Config(jobs=1))
    assert tree.findings == [] and history.findings == []
    assert tree.skipped["binary file"] == 3
    assert history.skipped["binary file"] == 3  # the key's blob, the pickle, the redrawn png
    assert history.files_scanned == 0


def test_a_started_scan_that_will_not_run_ends_its_git_processes(tmp_path, monkeypatch) -> None:
    # The listing, HEAD's ls-tree and the pass's head start begin before the configuration
    # loads; a scan that then does not run (a configuration error) ends them and exits 2.
    from keyguard.sources.history.start import start_history

    repo = small_repo(tmp_path)
    repo.write("run.py", "x = 1\n")
    repo.commit("add")
    started = start_history([str(repo.path)], "")
    assert started.listing is not None and started.head_tree is not None
    assert started.early is not None
    started.stop()
    assert started.listing.running() is False
    assert started.head_tree.returncode is not None
    assert started.early._proc.returncode is not None
    repo.write("pyproject.toml", "[tool.keyguard]\nselect = 5\n")
    monkeypatch.chdir(repo.path)
    result = CliRunner().invoke(cli, ["scan", "--history"])
    assert result.exit_code == 2
    assert "must be a list of strings" in result.output
    assert "Traceback" not in result.output


def big_history(tmp_path: Path) -> tuple[Repo, str, str]:
    """260 commits by git fast-import, most of the newest 40 adding 40 KB pages (more
    `git log -p` than a pipe holds), with a merge, a deletion-only and an empty commit among them, a
    key added in commit 230 and removed in 240 (repo, the key, the commit adding it), and a
    legacy token in notes.txt (150) and, the same blob, in .qiskit/qiskitrc (245), both
    deleted in 246."""
    key = FakeKeys("head-start").ibm_key()
    saved = f"[ibmq]\ntoken = {FakeKeys('head-start').legacy_token()}\n"
    repo = small_repo(tmp_path, "big")
    stream = []
    for n in range(260):
        stamp = 1_700_000_000 + 60 * n
        who = f"author A <a@example.invalid> {stamp} +0000\ncommitter A <a@example.invalid> {stamp} +0000\n"
        if n == 249:  # a side branch off the main line, merged in the next commit
            stream.append(f"commit refs/heads/side\nmark :{n}\n{who}data 4\ns{n:03d}\nfrom :248\n"
                          f"M 100644 inline side.py\ndata 6\nx = 1\n\n")
            continue
        stream.append(f"commit refs/heads/main\nmark :{n}\n{who}data 4\nc{n:03d}\n")
        if n == 250:
            stream.append("merge :249\n")
        if n == 0:
            for i in range(60):
                stream.append(f"M 100644 inline m{i}.py\ndata 6\nx = 0\n\n")
        elif n < 220:
            body = f"VALUE_{n} = {n}\n"
            stream.append(f"M 100644 inline m{n % 60}.py\ndata {len(body)}\n{body}\n")
            stream.extend(_broken_notebook(n))
            if n == 150:
                stream.append(f"M 100644 inline notes.txt\ndata {len(saved)}\n{saved}\n")
        elif n == 252:
            stream.append("D docs/page_221.txt\n")
        elif n != 255:  # 255: an empty commit
            page = "".join(f"line {i} of page {n}\n" for i in range(2000))[:40_000]
            stream.append(f"M 100644 inline docs/page_{n}.txt\ndata {len(page)}\n{page}\n")
            stream.extend(_broken_notebook(n))
            if n == 245:  # notes.txt's blob as a credential file, which reads differently
                stream.append(f"M 100644 inline .qiskit/qiskitrc\ndata {len(saved)}\n{saved}\n")
            if n == 246:  # gone from HEAD: scanned where the pass meets it
                stream.append("D .qiskit/qiskitrc\nD notes.txt\n")
            if n in (230, 240):
                body = f'TOKEN = "{key}"  # QISKIT_IBM_TOKEN\n' if n == 230 else "TOKEN = None\n"
                stream.append(f"M 100644 inline creds.py\ndata {len(body)}\n{body}\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.path, env=repo.env, check=True,
                   input="".join(stream).encode(), capture_output=True)
    repo.git("checkout", "-q", "-f", "main")
    return repo, key, repo.git("log", "--format=%H", "--grep=^c230$", "main")


def _broken_notebook(n: int) -> list[str]:
    """fast-import lines of commit n: a notebook with a cell that does not parse (a note),
    added in commits 100 and 235 and changed in the next."""
    if n not in (100, 101, 235, 236):
        return []
    text = notebook(f"from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(channel=\"ibm_quantum\")\ndef broken{n}(:", None)
    return [f"M 100644 inline nb/broken_{100 if n < 200 else 235}.ipynb\ndata {len(text)}\n{text}\n"]


def _filled(early) -> None:
    """Wait (10 s at most) until the head start's git has filled its pipe and waits there."""
    import struct
    import time

    fcntl = pytest.importorskip("fcntl")
    termios = pytest.importorskip("termios")
    fd = early._proc.stdout.fileno()
    held, since, deadline = -1, time.monotonic(), time.monotonic() + 10
    while time.monotonic() < deadline and early._proc.poll() is None:
        now = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
        if now != held:
            held, since = now, time.monotonic()
        elif held and time.monotonic() - since > 0.2:
            return
        time.sleep(0.02)


def test_the_head_start_keeps_whole_commits_newest_first(tmp_path, monkeypatch) -> None:
    # Left to fill its pipe and then ended, the head start gives the commits it wrote whole,
    # in git's own order, each exactly as the pass's `git log` over that commit alone.
    from keyguard.sources.history.early import PASS_LOG, EarlyLog
    from keyguard.sources.history.git import Git

    repo, _, _ = big_history(tmp_path)
    monkeypatch.chdir(repo.path)
    git = Git.at(".")
    early = EarlyLog(git, ["--all"], [])
    _filled(early)
    data, written = early.take()
    order = repo.git("log", "--all", "--no-merges", "--full-history", "--diff-filter=AMT",
                     "--format=%H").split()  # git shows no deletion-only or empty commit
    assert 0 < len(written) < len(order)
    assert written == order[:len(written)]
    for commit, record in zip(written, data.split(b"\n\x01")):
        alone = subprocess.run(git.command(["log", "--no-walk", *PASS_LOG, commit]),
                               cwd=git.root, env=git.env, capture_output=True, check=True).stdout
        assert alone.rstrip(b"\n") == (record if record.startswith(b"\x01") else b"\x01" + record)
    assert early.take() == (b"", [])


def test_a_pass_with_a_head_start_gives_what_one_without_gives(tmp_path, monkeypatch) -> None:
    # Some commits from the head start (newest first, a merge and commits git shows no diff
    # for among them), the rest from parts in worker processes: the same blobs passed and
    # seen, the same changes, and parts in commit order.
    from keyguard.pipeline.scan import _engine
    from keyguard.rulepack.load import load_ruleset
    from keyguard.sources.history.commits import list_commits
    from keyguard.sources.history.diffpass import DiffGate
    from keyguard.sources.history.early import EarlyLog
    from keyguard.sources.history.git import Git

    repo, _, _ = big_history(tmp_path)
    monkeypatch.chdir(repo.path)
    git = Git.at(".")
    commits = list_commits(git, ["--all"], []).order
    engine = _engine((), load_ruleset(()).select(None, None))
    early = EarlyLog(git, ["--all"], [])
    _filled(early)
    started = DiffGate(git, commits, [], engine, workers=2, early=early)
    assert 0 < len(started._written) < len(commits) - 200  # the rest is enough for the pool
    assert [c for chunk in started.chunks for c in chunk] == commits
    with_start = started.result()
    without = DiffGate(git, commits, [], engine).result()
    assert with_start[:3] == without[:3]


def test_a_scan_with_a_head_start_reports_what_one_without_reports(tmp_path, monkeypatch) -> None:
    from keyguard.sources.history import start as start_module

    repo, key, introduced = big_history(tmp_path)
    monkeypatch.chdir(repo.path)

    def summary(result):
        return ([(f.fingerprint, f.location.path, f.commit, f.refs, f.in_head, f.rule_id,
                  f.message) for f in result.findings], result.files_scanned, result.gated_out,
                result.skipped, result.notes)

    with_start = scan_history(["."], "", Config(jobs=2))
    assert [(f.secret.reveal(), f.commit) for f in with_start.findings
            if f.rule_id != "KG301"] == [(key, introduced)]
    assert {path for path, _ in with_start.notes} == {"nb/broken_100.ipynb", "nb/broken_235.ipynb"}
    monkeypatch.setattr(start_module, "EarlyLog", lambda *args: None)
    without = scan_history(["."], "", Config(jobs=2))
    assert summary(with_start) == summary(without)


@pytest.mark.parametrize("setting", ["log.showRoot=false", "log.follow=true"])
def test_the_users_git_log_settings_change_nothing(setting, tmp_path, monkeypatch) -> None:
    # log.showRoot=false hides a root commit's files from `git log -p`; log.follow=true makes
    # a walk over one path follow renames: neither may change what a scan reports.
    repo = small_repo(tmp_path)
    key = FakeKeys("settings").ionq_key()
    repo.write("old.py", ionq_file(key))
    root = repo.commit("root")
    repo.git("mv", "old.py", "new.py")
    renamed = repo.commit("rename")
    repo.write("new.py", "x = 1\n")
    repo.commit("remove the key")
    monkeypatch.chdir(repo.path)

    def found(paths: list[str]) -> list[tuple[str, str, str]]:
        result = scan_history(paths, "", Config(jobs=1))
        return [(f.secret.reveal(), f.location.path, f.commit) for f in result.findings]

    plain = (found(["."]), found(["new.py"]))
    assert plain == ([(key, "old.py", root), (key, "new.py", renamed)], [(key, "new.py", renamed)])
    name, _, value = setting.partition("=")
    repo.git("config", name, value)
    assert (found(["."]), found(["new.py"])) == plain
