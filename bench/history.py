"""History benchmark (not a test): `keyguard scan --history` against betterleaks.

    python bench/history.py [--runs 3] [--commits 10000] [--real DIR] [--betterleaks BIN]

Inputs, each scanned by both tools in interleaved runs (keyguard, betterleaks, keyguard, ...):

(a) a real repository: a mirror clone of /work/real/Qiskit+qiskit-ibm-runtime (2,743
    commits, every ref). That checkout lacks 39 large blobs (the mirror it came from left
    them out); betterleaks stops at the first unreadable blob ("incomplete scan"), so the
    bench points each missing blob at a placeholder blob with `refs/replace/` and runs
    betterleaks through a `git` wrapper that unsets GIT_NO_REPLACE_OBJECTS (betterleaks sets
    it). Both tools then read exactly the same history.
(b) a generated repository of --commits commits (git fast-import): a project of Python
    modules, notebooks and config files, each commit editing one to three of them, with
    fake keys (keyguard.rulepack.fakes) planted and removed again every few hundred commits.
(c) pre-push of a handful of commits (`keyguard scan --history=HEAD~5..HEAD`) against a
    pre-commit-style run on the files those commits touched (`keyguard scan FILES`).
(d) the same two through real pre-commit (--pre-commit, default the one on PATH): the
    `keyguard-push` hook against the `keyguard` hook on those files, both installed from
    this checkout's HEAD. pre-commit's own start-up is then in both, as a user meets it.

Prints wall time (median), the ratio keyguard / betterleaks, and the peak RSS of the largest
process of each tool (ru_maxrss over the whole process tree, from wait4). Targets: wall
time <= 1.0x betterleaks, peak memory <= 300 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keyguard.rulepack.fakes import FakeKeys

REAL = Path("/work/real/Qiskit+qiskit-ibm-runtime")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None
            ) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MB of the largest process in the tree, exit code, CPU seconds
    of the whole tree: user + system, which the other sessions on the machine disturb less
    than wall time)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime


def git(*args: str, cwd: Path, **kw) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          **kw).stdout


def prepare_real(source: Path, work: Path) -> tuple[Path, dict[str, str]]:
    """A mirror of `source` with its missing blobs replaced; the env betterleaks runs in."""
    mirror = work / "real.git"
    git("clone", "--quiet", "--mirror", str(source), str(mirror), cwd=work)
    listing = git("rev-list", "--objects", "--all", "--missing=print", cwd=mirror)
    missing = [line[1:] for line in listing.splitlines() if line.startswith("?")]
    if missing:
        placeholder = subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], cwd=mirror, check=True, capture_output=True,
            input=b"placeholder: this blob was absent from the mirror\n").stdout.decode().strip()
        for name in missing:
            git("update-ref", f"refs/replace/{name}", placeholder, cwd=mirror)
    wrapper = work / "gitwrap"
    wrapper.mkdir()
    real_git = shutil.which("git") or "/usr/bin/git"
    (wrapper / "git").write_text(f"#!/bin/sh\nunset GIT_NO_REPLACE_OBJECTS\nexec {real_git} \"$@\"\n")
    (wrapper / "git").chmod(0o755)
    env = dict(ENV, PATH=f"{wrapper}{os.pathsep}{ENV.get('PATH', '')}")
    print(f"real: {mirror} ({git('rev-list', '--all', '--count', cwd=mirror).strip()} commits, "
          f"{len(missing)} missing blobs replaced)")
    return mirror, env


def generate(path: Path, commits: int) -> Path:
    """A repository of `commits` commits built with git fast-import."""
    fakes = FakeKeys("bench-history")
    git("init", "--quiet", str(path), cwd=path.parent)
    files: dict[str, list[str]] = {}
    for i in range(60):
        files[f"src/pkg{i % 6}/module_{i}.py"] = [
            "import os\n", "from qiskit_ibm_runtime import QiskitRuntimeService\n\n",
            *[f"def f{j}(x):\n    return x * {j}  # step {j}\n" for j in range(40)]]
    for i in range(10):
        files[f"notebooks/nb_{i}.ipynb"] = []
    for i in range(10):
        files[f"config/settings_{i}.toml"] = [f"[section{j}]\nvalue = {j}\n" for j in range(20)]
    names = sorted(files)
    planted = {}

    def notebook(lines: list[str]) -> str:
        import json

        cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                  "source": [line]} for line in lines[-30:]] or [
                     {"cell_type": "markdown", "metadata": {}, "source": ["# notebook"]}]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                          indent=1) + "\n"

    # Written to fast-import as it is made: held in a list, the stream (~100 MB) would stay
    # in this process, and every tool the bench then starts would report it as its own peak
    # memory (a child's ru_maxrss counts what it shares with its parent until exec).
    importer = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=path, stdin=subprocess.PIPE)
    assert importer.stdin is not None
    stream = importer.stdin
    rng = __import__("random").Random(7)
    for n in range(commits):
        changed = rng.sample(names, rng.randint(1, 3))
        for name in changed:
            lines = files[name]
            if name.endswith(".ipynb"):
                lines.append(f"x{n} = {n} * 2\n")
            elif name.endswith(".toml"):
                lines[rng.randrange(len(lines))] = f"[s{n}]\nvalue = {n}\n"
            else:
                lines[rng.randrange(2, len(lines))] = f"def g{n}(x):\n    return x + {n}\n"
        if n % 500 == 250:  # plant a key ...
            name = changed[0]
            key = fakes.ibm_key()
            planted[name] = key
            files[name].append(f'TOKEN = "{key}"  # QISKIT_IBM_TOKEN\n' if not name.endswith(".ipynb")
                               else f'service = QiskitRuntimeService(token="{key}")\n')
        elif n % 500 == 260 and planted:  # ... and remove it again
            for name, key in list(planted.items()):
                files[name] = [line for line in files[name] if key not in line]
                changed.append(name)
            planted.clear()
        stream.write(f"commit refs/heads/main\nmark :{n + 1}\n"
                     f"author Bench <bench@example.invalid> {1_600_000_000 + n * 60} +0000\n"
                     f"committer Bench <bench@example.invalid> {1_600_000_000 + n * 60} +0000\n"
                     f"data {len(f'commit {n}')}\ncommit {n}\n".encode())
        for name in set(changed) if n else names:
            body = notebook(files[name]) if name.endswith(".ipynb") else "".join(files[name])
            data = body.encode()
            stream.write(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")
    stream.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    git("checkout", "--quiet", "-f", "main", cwd=path)
    return path


def compare(label: str, repo: Path, runs: int, betterleaks: str, bl_env: dict[str, str] | None,
            work: Path) -> None:
    keyguard = [sys.executable, "-m", "keyguard", "scan", "--history", str(repo), "-q",
                "--exit-zero"]
    report = work / "bl.json"
    peer = [betterleaks, "git", str(repo), "--no-banner", "--redact", "--exit-code", "0",
            "-o", str(report)]
    kg_t, bl_t, kg_m, bl_m, kg_c, bl_c = [], [], [], [], [], []
    for _ in range(runs):
        t, m, rc, c = measure(keyguard, work)
        assert rc == 0, f"keyguard exited {rc}"
        kg_t.append(t)
        kg_m.append(m)
        kg_c.append(c)
        t, m, rc, c = measure(peer, work, bl_env)
        assert rc == 0, f"betterleaks exited {rc}"
        bl_t.append(t)
        bl_m.append(m)
        bl_c.append(c)
    kg, bl = statistics.median(kg_t), statistics.median(bl_t)
    kc, bc = statistics.median(kg_c), statistics.median(bl_c)
    found = subprocess.run([*keyguard[:-2], "--format", "json", "--exit-zero"], cwd=work,
                           capture_output=True, text=True, env=ENV).stdout
    import json

    kg_found = len(json.loads(found)["findings"])
    peer_report = json.loads(report.read_text() or "[]")
    bl_found = len(peer_report["findings"] if isinstance(peer_report, dict) else peer_report)
    print(f"{label}: wall keyguard {kg:.2f} s (runs {', '.join(f'{t:.2f}' for t in kg_t)}), "
          f"betterleaks {bl:.2f} s (runs {', '.join(f'{t:.2f}' for t in bl_t)}): "
          f"ratio {kg / bl:.2f}x; CPU keyguard {kc:.2f} s, betterleaks {bc:.2f} s: ratio "
          f"{kc / bc:.2f}x; peak RSS (largest process, git included) keyguard "
          f"{max(kg_m):.0f} MB, betterleaks {max(bl_m):.0f} MB; findings keyguard {kg_found}, "
          f"betterleaks {bl_found}")


def pre_push(repo: Path, runs: int, work: Path) -> None:
    touched = sorted(set(git("diff", "--name-only", "HEAD~5", "HEAD", cwd=repo).split()))
    hook = [sys.executable, "-m", "keyguard", "scan", "--history=HEAD~5..HEAD", "-q", "--exit-zero"]
    files = [sys.executable, "-m", "keyguard", "scan", *touched, "-q", "--exit-zero"]
    a, b = interleaved_medians(hook, files, repo, runs)
    print(f"pre-push of 5 commits ({len(touched)} files): {a * 1000:.0f} ms; "
          f"pre-commit-style scan of those files: {b * 1000:.0f} ms (ratio {a / b:.2f}x)")


def interleaved_medians(first: list[str], second: list[str], cwd: Path, runs: int,
                        env: dict[str, str] | None = None) -> tuple[float, float]:
    """Median wall seconds of `first` and of `second`, run in turn `runs` times each."""
    a, b = [], []
    for _ in range(runs):
        a.append(measure(first, cwd, env)[0])
        b.append(measure(second, cwd, env)[0])
    return statistics.median(a), statistics.median(b)


def pre_push_hooks(repo: Path, runs: int, work: Path, pre_commit: str) -> None:
    """(d) the same comparison through real pre-commit, as a user meets it: `pre-commit run
    keyguard-push --hook-stage pre-push --from-ref HEAD~5 --to-ref HEAD` against `pre-commit
    run keyguard --files FILES`, both hooks from a clone of this checkout (its HEAD, in a
    pre-commit home of its own, installed before the timing starts)."""
    clone = work / "hooks-repo"
    git("clone", "--quiet", str(repo), str(clone), cwd=work)
    source = Path(__file__).resolve().parents[1]
    rev = git("rev-parse", "HEAD", cwd=source).strip()
    (clone / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {source}\n  rev: {rev}\n  hooks:\n  - id: keyguard\n"
        "  - id: keyguard-push\n")
    env = dict(ENV, PRE_COMMIT_HOME=str(work / "pre-commit-home"))
    subprocess.run([pre_commit, "install-hooks"], cwd=clone, env=env, check=True,
                   capture_output=True)
    touched = sorted(set(git("diff", "--name-only", "HEAD~5", "HEAD", cwd=clone).split()))
    push = [pre_commit, "run", "keyguard-push", "--hook-stage", "pre-push", "--from-ref",
            "HEAD~5", "--to-ref", "HEAD"]
    commit = [pre_commit, "run", "keyguard", "--files", *touched]
    a, b = interleaved_medians(push, commit, clone, runs, env)
    version = subprocess.run([pre_commit, "--version"], capture_output=True, text=True).stdout
    print(f"through {version.strip()} (hooks at {rev[:12]}): keyguard-push of 5 commits "
          f"{a * 1000:.0f} ms; keyguard on their {len(touched)} files {b * 1000:.0f} ms "
          f"(ratio {a / b:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--real", type=Path, default=REAL)
    parser.add_argument("--betterleaks", default=shutil.which("betterleaks")
                        or "/work/venvs/bench-peers/bin/betterleaks")
    parser.add_argument("--pre-commit", default=shutil.which("pre-commit"),
                        help="pre-commit to time the two hooks through (skipped without one)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; git {git('--version', cwd=Path('.')).split()[-1]}")
    with tempfile.TemporaryDirectory(prefix="kg-bench-history-") as tmp:
        work = Path(tmp)
        generated = work / "generated"
        generated.mkdir()
        start = time.perf_counter()
        generate(generated, args.commits)
        print(f"generated: {args.commits} commits in {time.perf_counter() - start:.1f} s")
        if args.real.is_dir():
            mirror, env = prepare_real(args.real, work)
            compare("real qiskit-ibm-runtime", mirror, args.runs, args.betterleaks, env, work)
        else:
            print(f"real: {args.real} is absent, skipped")
        compare(f"generated {args.commits} commits", generated, args.runs, args.betterleaks,
                None, work)
        pre_push(generated, max(args.runs, 5), work)
        if args.pre_commit:
            pre_push_hooks(generated, max(args.runs, 5), work, args.pre_commit)
        else:
            print("through pre-commit: no pre-commit on PATH (--pre-commit BIN), skipped")


if __name__ == "__main__":
    main()
