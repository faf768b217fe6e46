"""Bad input (issue 5): each case gets a clear message on stderr, no traceback, the rest of the
scan goes on, and exit code 2 only when nothing could be scanned or the request is impossible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import keyguard.pipeline.scan
from keyguard.cli import cli
from keyguard.rulepack.fakes import FakeKeys


def run_cli(args: list[str]) -> Result:
    # catch_exceptions=False: an exception escaping the CLI fails the test with its traceback.
    result = CliRunner().invoke(cli, ["scan", "--color", "never", *args], catch_exceptions=False)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def reported(result: Result) -> list[str]:
    return sorted(line.split(":")[0] for line in result.stdout.splitlines())


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory (not a git repository) holding one leaky file, good.py; cwd is set to it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.py").write_text(f'IONQ_API_KEY = "{FakeKeys(1).ionq_key()}"\n')
    return tmp_path


def test_nonexistent_path_alone_exits_2(project: Path) -> None:
    result = run_cli(["missing.py"])
    assert result.exit_code == 2
    assert "missing.py: no such file or directory" in result.stderr


def test_nonexistent_path_next_to_a_good_one_does_not_stop_the_scan(project: Path) -> None:
    result = run_cli(["missing.py", "good.py"])
    assert "missing.py: no such file or directory" in result.stderr
    assert reported(result) == ["good.py"]  # the rest of the scan goes on
    # ...but a scan that could not look at a path it was given did not complete: exit 2,
    # also with --exit-zero (it silences findings, never errors).
    assert result.exit_code == 2
    assert "The scan did not complete: 1 error" in result.stderr
    assert run_cli(["--exit-zero", "missing.py", "good.py"]).exit_code == 2


def _as_nobody() -> list[str] | None:
    """A command prefix that drops root privileges, or None when that is not possible."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    probe = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", "import keyguard.cli"],
                           capture_output=True, timeout=60)
    if probe.returncode != 0:
        return None
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    # pytest's tmp_path lives under a 0700 directory that an unprivileged user cannot enter.
    path = Path(tempfile.mkdtemp(prefix="keyguard-bad-input-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for sub in path.rglob("*"):
            if sub.is_dir() and not sub.is_symlink():
                sub.chmod(0o755)
        shutil.rmtree(path)


def test_unreadable_directory(world_readable_dir: Path) -> None:
    """chmod 000 stops everyone but root; as root the scan runs as `nobody` via setpriv."""
    root = world_readable_dir
    (root / "good.py").write_text(f'IONQ_API_KEY = "{FakeKeys(2).ionq_key()}"\n')
    (root / "good.py").chmod(0o644)
    locked = root / "locked"
    locked.mkdir()
    (locked / "secret.py").write_text(f'IONQ_API_KEY = "{FakeKeys(3).ionq_key()}"\n')
    locked.chmod(0o000)
    prefix: list[str] = []
    if os.geteuid() == 0:
        nobody = _as_nobody()
        if nobody is None:
            pytest.skip("running as root and cannot drop privileges (no setpriv): "
                        "root reads a chmod 000 directory")
        prefix = nobody
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "keyguard", "scan", "--color", "never", "."],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "HOME": str(root)},
    )
    assert "Traceback" not in proc.stderr
    assert "locked" in proc.stderr and "cannot read directory" in proc.stderr
    assert proc.stdout.startswith("good.py:1:")  # the rest of the scan went on
    assert proc.returncode == 2  # but it did not complete


def test_broken_symlink_and_symlink_loops(project: Path) -> None:
    (project / "dangling.py").symlink_to("missing.py")
    (project / "loop.py").symlink_to("loop.py")
    (project / "sub").mkdir()
    (project / "sub" / "up").symlink_to("..")  # a directory loop: must not be followed
    result = run_cli(["."])
    assert reported(result) == ["good.py"]
    assert result.exit_code == 1
    assert "1 broken symlink" in result.stderr and "1 symlink loop" in result.stderr
    # Named explicitly, alongside a good file.
    result = run_cli(["dangling.py", "loop.py", "good.py"])
    assert reported(result) == ["good.py"]
    assert "broken symlink" in result.stderr and "symlink loop" in result.stderr


def test_file_removed_between_discovery_and_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic race: discovery lists the file, then it is deleted before the read."""
    (project / "gone.py").write_text(f'IONQ_API_KEY = "{FakeKeys(4).ionq_key()}"\n')
    real_discover = keyguard.pipeline.scan.discover

    def discover_then_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real_discover(*args, **kwargs)
        assert "gone.py" in found.files
        (project / "gone.py").unlink()
        return found

    monkeypatch.setattr(keyguard.pipeline.scan, "discover", discover_then_delete)
    result = run_cli(["."])
    assert reported(result) == ["good.py"]
    assert "vanished" in result.stderr
    assert result.exit_code == 1


def test_fifo_is_skipped_without_blocking(project: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(project / "pipe.py")  # opening it for reading would block forever
    result = run_cli(["."])
    assert reported(result) == ["good.py"]
    assert "not a regular file" in result.stderr
    named = run_cli(["pipe.py", "good.py"])
    assert reported(named) == ["good.py"]


def test_empty_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    monkeypatch.chdir(repo)
    result = run_cli(["."])
    assert result.exit_code == 0  # nothing to scan is not an error
    assert result.stdout == ""
    # Nothing to scan: exit 0 (ruff's convention; pre-commit may name only excluded files),
    # said on stderr.
    assert "0 scanned files" in result.stderr
    assert "warning: no file was scanned" in result.stderr


def test_non_utf8_file(project: Path) -> None:
    key = FakeKeys(5).ionq_key()
    (project / "latin1.py").write_bytes(b"# caf\xe9 cr\xe8me\n" + f'IONQ_API_KEY = "{key}"\n'.encode())
    result = run_cli(["latin1.py"])
    assert result.exit_code == 1
    assert reported(result) == ["latin1.py"]  # the key is still found
    assert "latin1.py: not valid UTF-8" in result.stderr


@pytest.mark.parametrize(
    ("content", "note"),
    [
        ('{"cells": [{"cell_type": "code", "source": "IONQ_API_KEY = \'{key}\'"', "invalid JSON"),
        ('{"hello": "IONQ_API_KEY={key}"}', "no nbformat version"),
        ('["IONQ_API_KEY={key}"]', "not an object"),
    ],
)
def test_notebook_that_is_not_json_or_not_a_notebook(project: Path, content: str, note: str) -> None:
    key = FakeKeys(6).ionq_key()
    (project / "bad.ipynb").write_text(content.replace("{key}", key))
    result = run_cli(["bad.ipynb", "good.py"])
    assert "bad.ipynb: not a valid notebook" in result.stderr
    assert note in result.stderr and "scanned as plain text" in result.stderr
    # Scanned as plain text: the key inside is still reported.
    assert reported(result) == ["bad.ipynb", "good.py"]
    assert result.exit_code == 1


def test_200_megabyte_file_is_skipped_quickly(project: Path) -> None:
    huge = project / "huge.py"
    with open(huge, "wb") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: no disk space, no time
    result = run_cli(["."])
    assert reported(result) == ["good.py"]
    assert "larger than 10 MB" in result.stderr
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "nope.toml", "."], "nope.toml"),
        (["--baseline", "nope.json", "."], "baseline file not found"),
        (["--fail-on", "urgent", "."], "urgent"),
        (["--select", "XYZ", "."], "XYZ"),
    ],
)
def test_impossible_requests_exit_2(project: Path, args: list[str], message: str) -> None:
    result = run_cli(args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_everything_at_once_in_a_real_process(project: Path) -> None:
    """One real `python -m keyguard scan .` over a tree with every kind of bad input."""
    (project / "dangling.py").symlink_to("missing.py")
    (project / "loop.py").symlink_to("loop.py")
    (project / "latin1.py").write_bytes(b"\xff\xfe\x00garbage\n")
    (project / "bad.ipynb").write_text("{not json")
    (project / "notes.ipynb").write_text('{"hello": 1}')
    with open(project / "huge.txt", "wb") as handle:
        handle.truncate(200 * 1024 * 1024)
    if hasattr(os, "mkfifo"):
        os.mkfifo(project / "pipe.env")
    proc = subprocess.run([sys.executable, "-m", "keyguard", "scan", "--color", "never", "."],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr
    assert proc.stdout.startswith("good.py:1:")
    assert proc.returncode == 1


def test_notebook_with_a_lone_surrogate_escape(tmp_path: Path) -> None:
    # JSON may escape half a surrogate pair ("\ud800"); the decoded cell then holds a
    # character UTF-8 cannot carry, which the keyword search must not choke on.
    import json

    key = FakeKeys("surrogate").ionq_key()
    source = ["from qiskit_ionq import IonQProvider\n", "x = '\ud800'  # half a pair\n",
              f'p = IonQProvider("{key}")\n']
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}]}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb), encoding="ascii")  # ensure_ascii: \ud800
    result = CliRunner().invoke(cli, ["scan", "--no-cache", "--format", "json", str(tmp_path / "n.ipynb")])
    assert result.exit_code == 1, result.output
    assert "KG101" in result.output and key not in result.output
