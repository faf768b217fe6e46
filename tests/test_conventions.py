"""CLI conventions users bring from ruff and other scanners, each through a real process.

`python -m keyguard` in a subprocess (real stdin, real pipes, a real pseudo-terminal for
colour), on files written to a temporary folder with fake keys made at run time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard.rulepack.fakes import FakeKeys

ANSI = "\x1b["


def run(args: list[str], cwd: Path, *, input: str | bytes | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "KEYGUARD_DEBUG")}
    text = not isinstance(input, bytes)
    return subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd, input=input,
                          capture_output=True, text=text, timeout=120, env={**base, **(env or {})})


def leak(key: str) -> str:
    return (
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        f'service = QiskitRuntimeService(channel="ibm_quantum_platform", token="{key}")\n'
    )


@pytest.fixture
def key() -> str:
    return FakeKeys("conventions").ibm_key()


# --- standard input -------------------------------------------------------------------------

def test_scan_dash_reads_stdin_with_stdin_filename(tmp_path: Path, key: str) -> None:
    proc = run(["scan", "-", "--stdin-filename", "src/app.py"], tmp_path, input=leak(key))
    assert proc.returncode == 1, proc.stderr
    # Reported under the given name, and analysed as Python (the call site is named).
    assert proc.stdout.startswith("src/app.py:2:")
    assert "KG201" in proc.stdout and "QiskitRuntimeService(token=...)" in proc.stdout
    assert key not in proc.stdout + proc.stderr
    assert "in 1 scanned file." in proc.stderr


def test_scan_dash_without_a_name_is_plain_text(tmp_path: Path, key: str) -> None:
    proc = run(["scan", "-", "--format", "json"], tmp_path, input=f"QISKIT_IBM_TOKEN={key}\n")
    assert proc.returncode == 1, proc.stderr
    (finding,) = json.loads(proc.stdout)["findings"]
    assert finding["path"] == "-" and finding["rule"] == "KG201" and finding["line"] == 1


def test_stdin_honours_config_by_its_name(tmp_path: Path, key: str) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.keyguard]\nexclude = ["fixtures/"]\nper-file-ignores = {"tests/*" = ["KG2"]}\n')
    # per-file-ignores apply to the stdin file name.
    proc = run(["scan", "-", "--stdin-filename", "tests/t.py"], tmp_path, input=leak(key))
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    # exclude: scanned with a warning, skipped with --force-exclude (ruff's rules).
    proc = run(["scan", "-", "--stdin-filename", "fixtures/a.py"], tmp_path, input=leak(key))
    assert proc.returncode == 1 and "warning: fixtures/a.py: matches `exclude`" in proc.stderr
    proc = run(["scan", "-", "--stdin-filename", "fixtures/a.py", "--force-exclude"], tmp_path,
               input=leak(key))
    assert proc.returncode == 0 and proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "-", "other.py"], "cannot be combined with other paths"),
        (["scan", "--stdin-filename", "a.py", "."], "--stdin-filename needs `-`"),
        (["scan", "-", "--fix"], "do not take standard input"),
        (["scan", ".", "--statistics", "--format", "sarif"], "--statistics works with"),
    ],
)
def test_impossible_combinations_are_usage_errors(tmp_path: Path, args: list[str],
                                                  message: str) -> None:
    proc = run(args, tmp_path, input="")
    assert proc.returncode == 2 and message in proc.stderr


# --- errors are never hidden --------------------------------------------------------------

def test_exit_zero_never_hides_an_error(tmp_path: Path, key: str) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "leak.py").write_text(leak(key))
    assert run(["scan", "--exit-zero", "leak.py"], tmp_path).returncode == 0
    proc = run(["scan", "--exit-zero", "missing-path", "ok.py"], tmp_path)
    assert proc.returncode == 2
    assert "missing-path: no such file or directory" in proc.stderr
    assert "The scan did not complete" in proc.stderr
    proc = run(["scan", "missing-path", "leak.py"], tmp_path)
    assert proc.returncode == 2 and proc.stdout.startswith("leak.py:2:")  # findings still shown


@pytest.mark.parametrize("option", ["-o", "--output", "--sarif-output"])
def test_unwritable_output_is_a_usage_error_before_scanning(tmp_path: Path, key: str,
                                                           option: str) -> None:
    (tmp_path / "leak.py").write_text(leak(key))
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where a folder is needed: cannot be created
    target = "/no/such/dir/r.txt" if option != "--sarif-output" else f"{blocker}/sub/r.sarif"
    proc = run(["scan", option, target, "."], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Invalid value for" in proc.stderr and "internal error" not in proc.stderr
    assert "Found" not in proc.stderr and proc.stdout == ""  # nothing was scanned
    assert "/no/such/dir" in proc.stderr or str(blocker) in proc.stderr


def test_sarif_output_folder_is_created(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    proc = run(["scan", "--sarif-output", "reports/k.sarif", "."], tmp_path)
    assert proc.returncode == 0 and (tmp_path / "reports" / "k.sarif").is_file()


@pytest.mark.parametrize(
    ("table", "where"),
    [
        ('exclude = ["[z-a]"]', "[tool.keyguard]: key 'exclude': invalid pattern '[z-a]'"),
        ('per-file-ignores = {"[z-a]" = ["KG1"]}',
         """[tool.keyguard]: key 'per-file-ignores."[z-a]"': invalid pattern '[z-a]'"""),
    ],
)
def test_bad_glob_is_a_config_error_naming_file_and_key(tmp_path: Path, key: str, table: str,
                                                        where: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.keyguard]\n{table}\n")
    (tmp_path / "leak.py").write_text(leak(key))
    proc = run(["scan", "."], tmp_path)
    assert proc.returncode == 2
    assert f"keyguard: error: {tmp_path / 'pyproject.toml'} {where}" in proc.stderr
    assert "internal error" not in proc.stderr and proc.stdout == ""


def test_bad_glob_from_overrides_names_the_flag(tmp_path: Path) -> None:
    """Patterns passed as overrides (the CLI's path into load_config) name the flag."""
    from keyguard.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=r"--exclude: invalid pattern '\[z-a\]'"):
        load_config(["."], {"exclude": ["[z-a]"]}, cwd=str(tmp_path))


# --- colour ---------------------------------------------------------------------------------

def _leaky(tmp_path: Path, key: str) -> Path:
    (tmp_path / "leak.py").write_text(leak(key))
    return tmp_path


@pytest.mark.parametrize(
    ("env", "coloured"),
    [
        ({}, False),                                    # piped: no colour
        ({"FORCE_COLOR": "1"}, True),                   # force-color.org
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, True),   # forced wins over a dumb terminal
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins, as before
        ({"FORCE_COLOR": ""}, False),                   # empty means unset
    ],
)
def test_colour_when_piped(tmp_path: Path, key: str, env: dict[str, str], coloured: bool) -> None:
    proc = run(["scan", "."], _leaky(tmp_path, key), env=env)
    assert proc.returncode == 1
    assert (ANSI in proc.stdout) is coloured


def _run_in_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """stdout of keyguard attached to a real pseudo-terminal (what a user's shell gives)."""
    pty = pytest.importorskip("pty")
    main, child = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd, stdout=child,
                          stderr=subprocess.DEVNULL, env={**base, **env}, timeout=120)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.returncode == 1
    return b"".join(chunks).decode("utf-8", "replace")


def test_terminal_colour_and_term_dumb(tmp_path: Path, key: str) -> None:
    folder = _leaky(tmp_path, key)
    assert ANSI in _run_in_terminal(["scan", "."], folder, {"TERM": "xterm-256color"})
    assert ANSI not in _run_in_terminal(["scan", "."], folder, {"TERM": "dumb"})
    assert ANSI not in _run_in_terminal(["scan", "."], folder, {"TERM": "xterm", "NO_COLOR": "1"})
    assert ANSI in _run_in_terminal(["scan", "--color", "always", "."], folder, {"TERM": "dumb"})


# --- verbose and statistics -----------------------------------------------------------------

def test_verbose_lists_config_rules_and_files(tmp_path: Path, key: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.keyguard]\nexclude = ["vendor/"]\n')
    (tmp_path / "leak.py").write_text(leak(key))
    (tmp_path / "ok.txt").write_text("hello\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (tmp_path / "blob.dat").write_bytes(b"abc\0def")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.py").write_text("x = 1\n")
    proc = run(["scan", "-v", "."], tmp_path)
    err = proc.stderr
    assert proc.returncode == 1
    assert f"keyguard: config: {tmp_path / 'pyproject.toml'}" in err
    assert "keyguard: rules run (" in err and "KG101" in err and "KG301" in err
    for name in ("leak.py", "ok.txt", "pyproject.toml"):
        assert f"keyguard: scanned {name}\n" in err
    assert "keyguard: skipped logo.png: binary file" in err  # by extension, unread
    assert "keyguard: skipped blob.dat: binary file" in err  # by content
    assert "keyguard: skipped vendor/lib.py: excluded by configuration" in err
    assert key not in err + proc.stdout
    # --select shows in the rule list; without -v none of it is printed.
    proc = run(["scan", "--verbose", "--select", "KG2", "."], tmp_path)
    assert "rules run (5): KG201, KG202, KG203, KG204, KG205" in proc.stderr
    assert "keyguard: scanned" not in run(["scan", "."], tmp_path).stderr


def test_statistics_counts_per_rule(tmp_path: Path) -> None:
    fakes = FakeKeys("stats")
    (tmp_path / "a.py").write_text(leak(fakes.ibm_key()) + leak(fakes.ibm_key()))
    (tmp_path / "b.env").write_text(f"IONQ_API_KEY={fakes.ionq_key()}\n")
    proc = run(["scan", "--statistics", "."], tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "2  KG201  [critical]  IBM Cloud API key (IBM Quantum Platform token)",
        "1  KG101  [high]  IonQ API key",
    ]
    rows = json.loads(run(["scan", "--statistics", "--format", "json", "."], tmp_path).stdout)
    assert [(r["code"], r["count"]) for r in rows] == [("KG201", 2), ("KG101", 1)]
    assert rows[0]["severity"] == "critical"
    clean = tmp_path / "clean"
    clean.mkdir()
    assert run(["scan", "--statistics", "--format", "json", "."], clean).stdout == "[]\n"


# --- empty trees, wording -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["empty", "binary-only"])
def test_nothing_to_scan_exits_0_with_a_warning(tmp_path: Path, kind: str) -> None:
    """One documented exit code: 0, as ruff; the warning and SARIF say nothing was scanned."""
    if kind == "binary-only":
        for name in ("a.png", "b.bin", "c.dat"):
            (tmp_path / name).write_bytes(b"\0\1\2" * 10)
    proc = run(["scan", "--sarif-output", "../k.sarif", "."], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning: no file was scanned" in proc.stderr
    if kind == "binary-only":
        assert "in 0 scanned files; skipped 3 binary files." in proc.stderr
    run_ = json.loads((tmp_path.parent / "k.sarif").read_text())["runs"][0]
    (invocation,) = run_["invocations"]
    assert invocation["executionSuccessful"] is True
    assert {"level": "warning", "message": {"text": "no file was scanned"}} in (
        invocation["toolExecutionNotifications"])


def test_plural_and_singular_wording(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "one.bin").write_bytes(b"\0")
    proc = run(["scan", "."], tmp_path)
    assert "Found 0 findings in 1 scanned file; skipped 1 binary file." in proc.stderr
    (tmp_path / "two.bin").write_bytes(b"\0")
    (tmp_path / "b.py").write_text("y = 2\n")
    proc = run(["scan", "."], tmp_path)
    assert "Found 0 findings in 2 scanned files; skipped 2 binary files." in proc.stderr


def test_kg205_message_keeps_its_advice_unredacted(tmp_path: Path) -> None:
    """KG205 matches `save_account(token=os.environ[...])`: code, not a secret."""
    (tmp_path / "setup_account.py").write_text(
        "import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
        'QiskitRuntimeService.save_account(token=os.environ["QISKIT_IBM_TOKEN"])\n')
    proc = run(["scan", "--fail-on", "low", "setup_account.py"], tmp_path)
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines()
    assert "KG205" in line and line.endswith("repositories. [low]")  # no "[…(N chars)]"
    assert "chars)" not in line
    for fmt in ("github", "sarif"):
        out = run(["scan", "--format", fmt, "setup_account.py"], tmp_path).stdout
        assert 'token=os.environ[\\"QISKIT_IBM_TOKEN\\"]' in out or \
            'token=os.environ["QISKIT_IBM_TOKEN"]' in out
        assert "chars)" not in out


def test_baseline_from_an_incomplete_scan_is_not_written(tmp_path: Path) -> None:
    """`keyguard baseline --prune missing ok.py` would drop every entry under `missing`."""
    fakes = FakeKeys("baseline-errors")
    (tmp_path / "a.py").write_text(leak(fakes.ibm_key()))
    (tmp_path / "b.py").write_text(leak(fakes.ibm_key()))
    assert run(["baseline", "a.py", "b.py"], tmp_path).returncode == 0
    before = (tmp_path / ".keyguard-baseline.json").read_text()
    (tmp_path / "b.py").rename(tmp_path / "moved.py")
    for args in (["baseline", "--prune", "a.py", "b.py"], ["baseline", "a.py", "b.py"]):
        proc = run(args, tmp_path)
        assert proc.returncode == 2 and "b.py: no such file or directory" in proc.stderr
        assert "was not written" in proc.stderr
        assert (tmp_path / ".keyguard-baseline.json").read_text() == before


def test_quiet_keeps_errors_and_drops_warnings(tmp_path: Path, key: str) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.keyguard]\nexclude = ["gen/"]\n')
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "a.py").write_text(leak(key))
    proc = run(["scan", "-q", "gen/a.py", "missing"], tmp_path)
    assert proc.returncode == 2
    assert "warning" not in proc.stderr and "keyguard: error: missing" in proc.stderr
    assert proc.stdout.startswith("gen/a.py:2:")
