"""Cost per file (not a test): big generated Python files with many findings.

    python bench/big_files.py [--sizes 1.5,15] [--findings 1,100,10000] [--timeout 300]
                              [--steps scan,diff,fix]

Builds Python files of about 1.5 MB and 15 MB (ordinary code: functions, loops, a long
dict, docstrings, comments) with 1, 100 and 10,000 findings spread evenly through them
(fake keys from keyguard.rulepack.fakes: half `QiskitRuntimeService(token=...)` call sites, half
`IONQ_API_KEY = "..."` assignments), and prints, per file:

* `parse s`: one in-process `ast.parse` of the file (the reference);
* `scan s`: in-process `scan_paths` of the file (what the target compares: <= 3x parse);
* seconds per MB of the CLI (`python -m keyguard`, a fresh process, an empty cache) for scan, `--diff`
  and `--fix` (on a fresh copy each time), with a timeout per command.

Files over 2 MB are scanned by the token detector only (MAX_PARSE_CHARS), so for 15 MB
the reference parse is not a step keyguard takes; it is printed for scale.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keyguard.config import Config
from keyguard.pipeline.scan import scan_paths
from keyguard.rulepack.fakes import FakeKeys

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)

HEADER = '''"""Generated benchmark module."""
import math
from qiskit_ibm_runtime import QiskitRuntimeService

'''
BLOCK = '''

def step_{n}(values, scale=1.5):
    """Scale the values of step {n} and return their sum (ordinary code)."""
    total = 0.0
    for index, value in enumerate(values):
        # Weighted sum; the weight decays with the index.
        total += math.exp(-index / scale) * value
    table = {{"alpha": {n}, "beta": {n} * 2, "gamma": [1, 2, 3], "name": "step_{n}"}}
    if total > table["beta"]:
        return total - table["alpha"]
    return total
'''


def build(path: Path, megabytes: float, findings: int, fakes: FakeKeys) -> None:
    """Write a Python file of about `megabytes` MB holding `findings` findings."""
    finding_size = 80
    block_size = len(BLOCK.format(n=100000))
    blocks = max(int((megabytes * 1_000_000 - findings * finding_size) / block_size), 1)
    made = 0
    with path.open("w") as out:
        out.write(HEADER)
        for n in range(blocks):
            out.write(BLOCK.format(n=n))
            # Findings spread evenly: after block n, as many as bring the count to its share.
            while made < findings and made < (n + 1) * findings / blocks:
                if made % 2:
                    out.write(f'IONQ_API_KEY_{made} = "{fakes.ionq_key()}"\n')
                else:
                    out.write(f'service_{made} = QiskitRuntimeService(channel="ibm_cloud", token="{fakes.ibm_key()}")\n')
                made += 1


def _cli(args: list[str], cwd: Path, timeout: float) -> float | None:
    start = time.perf_counter()
    try:
        subprocess.run(
            [sys.executable, "-m", "keyguard", *args], cwd=cwd, env=ENV, timeout=timeout,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1.5,15")
    parser.add_argument("--findings", default="1,100,10000")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--steps", default="scan,diff,fix")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    counts = [int(c) for c in args.findings.split(",")]
    steps = args.steps.split(",")
    fakes = FakeKeys("big-files")
    print(f"{'file':>16} {'MB':>6} {'found':>6} {'parse s':>8} {'scan s':>8} {'x parse':>8}"
          + "".join(f" {step + ' s/MB':>11}" for step in steps))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in sizes:
            for count in counts:
                name = f"big_{size:g}mb_{count}.py"
                path = folder / name
                build(path, size, count, fakes)
                mb = path.stat().st_size / 1_000_000
                source = path.read_text()
                start = time.perf_counter()
                ast.parse(source)
                parse_s = time.perf_counter() - start
                del source
                cwd = os.getcwd()
                os.chdir(folder)
                try:
                    start = time.perf_counter()
                    result = scan_paths([name], Config(jobs=1, max_file_size=64 * 1024 * 1024))
                    scan_s = time.perf_counter() - start
                finally:
                    os.chdir(cwd)
                row = (f"{name:>16} {mb:>6.1f} {len(result.findings):>6} {parse_s:>8.2f} {scan_s:>8.2f}"
                       f" {scan_s / parse_s:>8.1f}")
                for step in steps:
                    target = path
                    extra: list[str] = []
                    if step == "diff":
                        extra = ["--diff"]
                    elif step == "fix":
                        target = folder / f"fix_{name}"
                        shutil.copyfile(path, target)
                        extra = ["--fix"]
                    cache = str(folder / f"cache-{step}-{name}")  # cold, and written as a first scan writes it
                    seconds = _cli(["scan", "--cache-dir", cache, "--max-file-size", "64", "--exit-zero", "-q", *extra, target.name],
                                   folder, args.timeout)
                    row += f" {seconds / mb:>11.2f}" if seconds is not None else f" {'>' + str(int(args.timeout)) + 's':>11}"
                print(row, flush=True)
                path.unlink()


if __name__ == "__main__":
    main()
