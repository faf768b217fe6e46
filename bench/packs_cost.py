"""What the provider packs cost (not a test): the same scan with the original three packs
(IonQ, IBM Cloud, legacy IBM) and with every built-in pack, interleaved.

    python bench/packs_cost.py [--tree DIR] [--runs 7] [--before-python PATH]

(a) in-process: `scan_bytes` over every file of the tree, and over 5 small Python files of
    it, with an Engine built from the three original packs and from all packs, in
    alternating rounds (A B A B ...), so machine noise (other jobs on shared cores) hits both.
(b) with `--before-python` (an interpreter with the previous keyguard installed): the real
    `keyguard scan` CLI, before and after, interleaved, on the tree and on the 5 files.
Prints medians and the after/before ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from keyguard.pipeline.scan import Engine, scan_bytes
from keyguard.rulepack.load import build_ruleset, builtin_pack_paths, load_pack_file

ORIGINAL_PACKS = ("ionq.toml", "ibm_cloud.toml", "ibm_quantum_legacy.toml")
DEFAULT_TREE = Path("/work/real/Qiskit+qiskit-ibm-runtime")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def engines() -> tuple[Engine, Engine]:
    paths = builtin_pack_paths()
    base = build_ruleset(load_pack_file(p) for p in paths if p.name in ORIGINAL_PACKS)
    full = build_ruleset(load_pack_file(p) for p in paths)
    return Engine.build(base, base.select(None, ())), Engine.build(full, full.select(None, ()))


def tree_files(tree: Path) -> list[tuple[str, bytes]]:
    out = subprocess.run(["git", "-C", str(tree), "ls-files"], capture_output=True, text=True, check=True)
    files = []
    for rel in out.stdout.splitlines():
        path = tree / rel
        if path.is_file() and not path.is_symlink():
            files.append((rel, path.read_bytes()))
    return files


def small_files(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    py = sorted((f for f in files if f[0].endswith(".py") and 500 < len(f[1]) < 4000), key=lambda f: f[0])
    return py[:5]


def time_scan(engine: Engine, files: list[tuple[str, bytes]]) -> tuple[float, int]:
    start = time.perf_counter()
    findings = 0
    for path, data in files:
        findings += len(scan_bytes(path, data, engine).findings)
    return time.perf_counter() - start, findings


def interleave(label: str, runs: int, a, b) -> None:
    ta, tb = [], []
    for _ in range(runs):
        ta.append(a())
        tb.append(b())
    ma, mb = statistics.median(ta), statistics.median(tb)
    print(f"{label:<44} before {ma * 1000:9.1f} ms  after {mb * 1000:9.1f} ms  ratio {mb / ma:5.2f}"
          f"  (min {min(ta) * 1000:.1f} / {min(tb) * 1000:.1f})")


def cli(python: str, args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([python, "-m", "keyguard", "scan", "--color", "never", "-q", "--no-cache", *args], cwd=cwd,
                          env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: findings; anything else is a broken run, not a time
        raise SystemExit(f"{python} keyguard scan failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=DEFAULT_TREE)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before-python", help="interpreter with the previous keyguard installed")
    ns = parser.parse_args()
    base, full = engines()
    files = tree_files(ns.tree)
    small = small_files(files)
    size = sum(len(d) for _, d in files)
    print(f"tree {ns.tree}: {len(files)} files, {size / 1e6:.1f} MB; small: {[p for p, _ in small]}")
    print(f"prefilter keywords: before {len(base.prefilter or ())}, after {len(full.prefilter or ())}")
    for engine in (base, full):  # warm up: imports, compiled regexes
        time_scan(engine, files)
    _, fb = time_scan(base, files)
    _, ff = time_scan(full, files)
    print(f"findings on the tree: before {fb}, after {ff}")
    interleave("in-process, whole tree", ns.runs, lambda: time_scan(base, files)[0], lambda: time_scan(full, files)[0])
    interleave("in-process, 5 small files", ns.runs * 20, lambda: time_scan(base, small)[0], lambda: time_scan(full, small)[0])
    if ns.before_python:
        rels = [p for p, _ in small]
        interleave("CLI keyguard scan, 5 small files", ns.runs * 2,
                   lambda: cli(ns.before_python, rels, ns.tree), lambda: cli(sys.executable, rels, ns.tree))
        interleave("CLI keyguard scan . (whole tree)", ns.runs,
                   lambda: cli(ns.before_python, ["."], ns.tree), lambda: cli(sys.executable, ["."], ns.tree))
    return 0


if __name__ == "__main__":
    sys.exit(main())
