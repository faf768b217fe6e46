"""Real-repository check (not a test): scan public quantum repositories, count per rule.

    python bench/real_repos.py [--work DIR] [--list medium] [REPO ...]

Each repository is a git directory: the work trees under /work/real/ and the bare mirrors
under /work/.mirror/*/repo (fetched public repositories). Each is cloned (local, hard-linked,
HEAD only) into --work (default /tmp/keyguard-real), so exactly what git tracks at HEAD is
scanned, `.ipynb_checkpoints/` copies included, whatever state the original work tree is in.
Each is scanned from --work as `keyguard scan NAME`, so every path starts with the
repository's name (`qiskit-community+qiskit-textbook/...`): the harder case, where a path
alone gives provider context (a user scanning a folder of clones).
Nothing fetched is written inside this repository.

Prints, per repository and in total: files scanned, seconds, findings per rule and per
severity, the skipped-file counts of the summary and the peak RSS of the largest process
(git's included: the clones are made by child processes too). `--list SEVERITY` also lists each
finding at or above that severity (path:line, rule, where; the secret redacted), the ones
to judge by hand: on these repositories every finding at or above medium should be real.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [Path("/work/real"), Path("/work/.mirror")]
SEVERITIES = ["info", "low", "medium", "high", "critical"]


def repositories(names: list[str]) -> list[tuple[str, Path]]:
    """(name, git directory) of every repository found under SOURCES (or only `names`)."""
    found: dict[str, Path] = {}
    for source in SOURCES:
        if not source.is_dir():
            continue
        for entry in sorted(source.iterdir()):
            git_dir = entry / ".git" if (entry / ".git").exists() else entry / "repo"
            if not (git_dir / "HEAD").exists():
                continue
            found.setdefault(entry.name, git_dir)
    # GitHub's own actions are not quantum code; they are there for the Action's tests.
    picked = {n: p for n, p in found.items() if not n.startswith(("actions+", "github+"))}
    if names:
        picked = {n: p for n, p in found.items() if n in names}
    return sorted(picked.items())


def checkout(name: str, git_dir: Path, work: Path) -> Path:
    """A fresh clone of HEAD in work/name (reused when already at the same commit)."""
    target = work / name
    head = subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if (target / ".git").exists():
        current = subprocess.run(
            ["git", "-C", str(target), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if current == head:
            return target
        subprocess.run(["rm", "-rf", str(target)], check=True)
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "-q", "--local", "--no-tags", "--no-checkout", str(git_dir), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "reset", "-q"], check=True)  # index = HEAD
    _export(target)
    return target


def _export(target: Path) -> None:
    """Write HEAD's files into the work tree. Mirrors may lack their largest blobs: those
    files stay absent (keyguard counts them as vanished), the rest is exact."""
    listing = subprocess.run(
        ["git", "-C", str(target), "ls-tree", "-r", "-z", "HEAD"], capture_output=True, check=True
    ).stdout.split(b"\0")
    entries = []
    for item in listing:
        if not item:
            continue
        meta, path = item.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob":
            entries.append((mode, sha, path))
    batch = subprocess.Popen(
        ["git", "-C", str(target), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert batch.stdin is not None and batch.stdout is not None
    for mode, sha, path in entries:
        batch.stdin.write(sha + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if header[-1] == b"missing":
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.read(1)
        dest = target / os.fsdecode(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if mode == b"120000":
            if not dest.is_symlink():
                os.symlink(os.fsdecode(data), dest)
        else:
            dest.write_bytes(data)
    batch.stdin.close()
    batch.wait()


def scan(tree: Path) -> tuple[dict, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "keyguard", "scan", "--format", "json", "--exit-zero", tree.name],
        cwd=tree.parent,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: keyguard exited {proc.returncode}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="*", help="only these (directory names, e.g. quantumlib+Cirq)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/keyguard-real"))
    parser.add_argument("--list", choices=SEVERITIES, default=None, help="list findings at or above")
    args = parser.parse_args()

    per_rule: collections.Counter[str] = collections.Counter()
    per_severity: collections.Counter[str] = collections.Counter()
    skipped: collections.Counter[str] = collections.Counter()
    files = 0
    seconds = 0.0
    listed: list[str] = []
    print(f"{'repository':45} {'files':>6} {'s':>6}  findings (rule:count)")
    for name, git_dir in repositories(args.repos):
        tree = checkout(name, git_dir, args.work)
        report, elapsed = scan(tree)
        summary = report["summary"]
        rules = collections.Counter(f"{f['rule']}/{f['severity']}" for f in report["findings"])
        per_rule.update(rules)
        per_severity.update(f["severity"] for f in report["findings"])
        skipped.update(summary.get("skipped", {}))
        files += summary.get("files_scanned", 0)
        seconds += elapsed
        shown = ", ".join(f"{k}:{v}" for k, v in sorted(rules.items())) or "-"
        print(f"{name:45} {summary.get('files_scanned', 0):>6} {elapsed:>6.1f}  {shown}")
        if args.list:
            floor = SEVERITIES.index(args.list)
            for f in report["findings"]:
                if SEVERITIES.index(f["severity"]) >= floor:
                    listed.append(
                        f"  {f['path']}:{f['line']} {f['rule']} {f['severity']} "
                        f"{f['secret']} {f['context']}"
                    )
    print(f"{'TOTAL':45} {files:>6} {seconds:>6.1f}")
    # ru_maxrss of children: the largest single process (a scan or one of its workers), in KB.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of the largest process: {peak:.0f} MB")
    print("per rule:", ", ".join(f"{k}:{v}" for k, v in sorted(per_rule.items())) or "-")
    print("per severity:", ", ".join(f"{s}:{per_severity[s]}" for s in SEVERITIES if per_severity[s]) or "-")
    print("skipped:", ", ".join(f"{k}:{v}" for k, v in sorted(skipped.items())) or "-")
    if listed:
        print(f"findings at or above {args.list}:")
        print("\n".join(listed))


if __name__ == "__main__":
    main()
