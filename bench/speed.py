"""Speed benchmarks (not tests): a pre-commit style run and a whole-tree scan.

    python bench/speed.py [--tree DIR] [--mb 250] [--runs 10]

(a) pre-commit: `keyguard scan` on 5 small Python files, against `python -c pass`
    (target: at most 5x the bare interpreter start-up).
(b) whole tree: builds (or takes with --tree) a tree of real Python sources from this
    interpreter's standard library and site-packages, each given a quantum import line so
    every file passes the keyword prefilter (the worst case: quantum repositories mention
    qiskit everywhere), plus the real notebooks of ../shared/corpus/real copied many times,
    and a few planted fake keys. Prints MB/s, files/s and the peak RSS of the largest process.
    The reference is the design's figure for a gitleaks-compatible Go scanner: 292 MB in 9.9 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from keyguard.rulepack.fakes import FakeKeys

ROOT = Path(__file__).resolve().parents[1]
REAL_NOTEBOOKS = ROOT.parent / "shared" / "corpus" / "real"
QUANTUM_LINE = "from qiskit_ibm_runtime import QiskitRuntimeService  # bench: pass the prefilter\n"
GO_REFERENCE_MB_S = 292 / 9.9


# Measure as an installed tool runs: with bytecode caches (pip writes them at install time;
# PYTHONDONTWRITEBYTECODE would recompile every keyguard module on every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(cmd: list[str], runs: int, cwd: Path) -> list[float]:
    subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return times


def precommit(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fake = FakeKeys("bench")
        names = []
        for i in range(5):
            name = f"module_{i}.py"
            body = "import os\n\n\ndef f(x):\n    return x * 2\n" * 20
            if i == 0:
                body = f'from qiskit_ionq import IonQProvider\np = IonQProvider("{fake.ionq_key()}")\n' + body
            (folder / name).write_text(body)
            names.append(name)
        exe = shutil.which("keyguard") or "keyguard"
        bare = _time([sys.executable, "-c", "pass"], runs, folder)
        scan = _time([exe, "scan", *names], runs, folder)
        ratio = statistics.median(scan) / statistics.median(bare)
        print("(a) pre-commit style run, 5 small files")
        print(f"    python -c pass        median {statistics.median(bare) * 1000:6.1f} ms  (min {min(bare) * 1000:.1f})")
        print(f"    keyguard scan 5 files median {statistics.median(scan) * 1000:6.1f} ms  (min {min(scan) * 1000:.1f})")
        print(f"    ratio {ratio:.1f}x (target <= 5x)")


def build_tree(out: Path, megabytes: int, notebook_share: float = 0.5) -> tuple[int, int]:
    """Fill `out` with about `megabytes` MB, `notebook_share` of it notebooks; returns (files, bytes)."""
    budget = megabytes * 1024 * 1024
    total = files = 0
    sources = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    notebooks = sorted(REAL_NOTEBOOKS.rglob("*.ipynb")) if REAL_NOTEBOOKS.exists() else []
    fake = FakeKeys("tree")
    # Notebooks first: half of the bytes (in the design's measured tree, .py files were 73 of
    # 292 MB and notebooks most of the rest).
    copies = 0
    while notebooks and total < budget * notebook_share:
        for nb in notebooks:
            target = out / "notebooks" / f"c{copies}" / nb.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb, target)
            total += target.stat().st_size
            files += 1
        copies += 1
    for source in sources:
        for path in sorted(source.rglob("*.py")):
            if total >= budget:
                break
            if "site-packages" in path.parts and source == sources[0]:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if files % 500 == 0:
                text += f'\nQiskitRuntimeService(token="{fake.ibm_key()}")\n'
            # Not "site-packages": a plain walk skips directories of that name (vendored code).
            target = out / "py" / f"src{sources.index(source)}" / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(QUANTUM_LINE + text, encoding="utf-8")
            total += len(text) + len(QUANTUM_LINE)
            files += 1
    return files, total


def whole_tree(tree: Path | None, megabytes: int, notebook_share: float) -> None:
    tmp = None
    if tree is None:
        tmp = tempfile.mkdtemp(prefix="keyguard-bench-")
        tree = Path(tmp)
        files, size = build_tree(tree, megabytes, notebook_share)
    else:
        paths = [p for p in tree.rglob("*") if p.is_file()]
        files, size = len(paths), sum(p.stat().st_size for p in paths)
    try:
        exe = shutil.which("keyguard") or "keyguard"
        subprocess.run(["cat", *map(str, list(tree.rglob("*.py"))[:2000])], stdout=subprocess.DEVNULL, check=False)
        start = time.perf_counter()
        proc = subprocess.run([exe, "scan", "--format", "json", "-q", "."], cwd=tree, env=ENV,
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        import json

        report = json.loads(proc.stdout) if proc.stdout else {"findings": [], "summary": {}}
        findings = len(report["findings"])
        scanned = report["summary"].get("files_scanned", 0)
        if scanned != files:
            print(f"    warning: {scanned} of {files} files scanned ({report['summary'].get('skipped')})")
        mb = size / 1024 / 1024
        print(f"(b) whole tree: {files} files, {mb:.0f} MB, {os.cpu_count()} cores")
        print(f"    {elapsed:.2f} s  ->  {mb / elapsed:.1f} MB/s, {files / elapsed:.0f} files/s, {findings} findings")
        print(f"    peak RSS of the largest process: {peak_mb:.0f} MB (target < 300 MB)")
        print(f"    reference: gitleaks-class Go scanner {GO_REFERENCE_MB_S:.1f} MB/s (design.md: 292 MB in 9.9 s)")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, help="scan this tree instead of building one")
    parser.add_argument("--mb", type=int, default=250, help="size of the generated tree in MB")
    parser.add_argument("--runs", type=int, default=10, help="runs of the pre-commit measurement")
    parser.add_argument("--notebook-share", type=float, default=0.5, help="share of the tree's bytes in notebooks")
    args = parser.parse_args()
    precommit(args.runs)
    whole_tree(args.tree, args.mb, args.notebook_share)


if __name__ == "__main__":
    main()
