"""`--fix` / `--diff` speed (a script, not a test): issue 11's fix target.

    python bench/fix_speed.py [--runs 3] [--modules 300] [--keep DIR]

Builds, in a temporary folder:
  (a) a tree of 300 small modules (~2.7 KB each, one fake key each, every file quantum code),
  (b) one 1.5 MB module with 100 findings spread through it.
For each it times, interleaved, `keyguard scan` (the scan alone), `keyguard scan --diff` and
`keyguard scan --fix` (on a fresh copy each run), and prints the seconds and the ratio
fix / scan. Target (issue 11): `--fix` and `--diff` cost at most 2x the scan of the same files
plus one libcst parse of each changed file; the libcst parse time of the changed files is
measured in-process and printed so the budget can be checked: budget = 2 * scan + parse.

Runs use --no-cache (a cached scan would flatter --fix). Keys come from keyguard.fakes (never
real). Timings are noisy on a shared machine: the script
interleaves the runs and prints medians.
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

from keyguard.fakes import FakeKeys

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
KEYGUARD = [sys.executable, "-m", "keyguard", "scan", "-q", "--exit-zero", "-j", "1", "--no-cache"]

BODY = '''

def energy_{i}_{j}(params, shots=1024):
    """Estimate the energy of the ansatz for parameter set {j}."""
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.rz(params[0], 0)
    values = [0.5 * p + {j} for p in params]
    return sum(values) / max(len(values), 1), shots
'''


def small_module(i: int, fake: FakeKeys) -> str:
    head = (
        f'"""Experiment {i}: a small VQE run on IBM Quantum."""\n'
        "import json\n"
        "import math\n\n"
        "from qiskit import QuantumCircuit\n"
        "from qiskit_ibm_runtime import QiskitRuntimeService\n\n"
    )
    if i % 2:
        key_line = f'service = QiskitRuntimeService(channel="ibm_quantum", token="{fake.ibm_key()}")\n'
    else:
        key_line = f'from cirq_ionq import Service\nservice = Service(api_key="{fake.ionq_key()}")\n'
    body = "".join(BODY.format(i=i, j=j) for j in range(8))
    return head + key_line + body + f"\n\nprint(math.pi, json.dumps({{'run': {i}}}))\n"


def big_module(fake: FakeKeys, mb: float = 1.5, findings: int = 100) -> str:
    head = (
        '"""A long generated research module."""\n'
        "import math\n\n"
        "from qiskit import QuantumCircuit\n"
        "from qiskit_ibm_runtime import QiskitRuntimeService\n\n"
    )
    chunk = "".join(BODY.format(i=0, j=j) for j in range(5))
    parts = [head]
    size = len(head)
    target = int(mb * 1024 * 1024)
    n_chunks = max(target // len(chunk), findings)
    every = max(n_chunks // findings, 1)
    placed = 0
    for c in range(n_chunks):
        text = chunk.replace("energy_0_", f"energy_{c}_")
        if c % every == 0 and placed < findings:
            text += f'\nservice_{c} = QiskitRuntimeService(channel="ibm_quantum", token="{fake.ibm_key()}")\n'
            placed += 1
        parts.append(text)
        size += len(text)
    return "".join(parts)


def build(folder: Path, modules: int) -> tuple[Path, Path]:
    fake = FakeKeys("bench-fix")
    tree = folder / "tree"
    for i in range(modules):
        sub = tree / f"pkg{i // 50}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"exp_{i}.py").write_text(small_module(i, fake))
    big = folder / "big"
    big.mkdir()
    (big / "long_module.py").write_text(big_module(fake))
    return tree, big


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def libcst_parse_seconds(folder: Path) -> float:
    import libcst

    total = 0.0
    for path in sorted(folder.rglob("*.py")):
        text = path.read_text()
        start = time.perf_counter()
        libcst.parse_module(text)
        total += time.perf_counter() - start
    return total


def measure(name: str, source: Path, work: Path, runs: int) -> None:
    scan, diff, fix = [], [], []
    for _ in range(runs):
        copy = work / f"{name}-copy"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(source, copy)
        scan.append(timed([*KEYGUARD, "."], copy))
        diff.append(timed([*KEYGUARD, "--diff", "."], copy))
        fix.append(timed([*KEYGUARD, "--fix", "."], copy))
        left = subprocess.run([*KEYGUARD, "--format", "json", "."], cwd=copy, env=ENV,
                              capture_output=True, text=True, check=False).stdout
        remaining = left.count('"rule_id"')
    parse = libcst_parse_seconds(source)
    s, d, f = (statistics.median(x) for x in (scan, diff, fix))
    budget = 2 * s + parse
    print(f"{name}: files={len(list(source.rglob('*.py')))} "
          f"MB={sum(p.stat().st_size for p in source.rglob('*.py')) / 1e6:.2f}")
    print(f"  scan {s:7.2f} s | --diff {d:7.2f} s ({d / s:4.1f}x scan) | --fix {f:7.2f} s "
          f"({f / s:4.1f}x scan) | libcst parse of the files {parse:6.2f} s")
    print(f"  budget 2*scan+parse = {budget:6.2f} s: --diff {'OK' if d <= budget else 'OVER'}, "
          f"--fix {'OK' if f <= budget else 'OVER'}; findings left after --fix: {remaining}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modules", type=int, default=300)
    parser.add_argument("--keep", type=Path, default=None, help="build the inputs here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        tree, big = build(folder, args.modules)
        measure("tree", tree, folder, args.runs)
        measure("big", big, folder, args.runs)


if __name__ == "__main__":
    main()
