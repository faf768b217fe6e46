"""Progress (keyguard.pipeline.progress): shown on a terminal only, never in pipes, CI or with -q."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import time

from keyguard.pipeline.progress import Progress, wanted


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_only_on_a_terminal_outside_ci_and_not_quiet(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert wanted(_Terminal())
    assert not wanted(io.StringIO())  # a pipe or file
    assert not wanted(_Terminal(), quiet=True)
    monkeypatch.setenv("CI", "true")
    assert not wanted(_Terminal())


def test_bar_counts_files_and_bytes(tmp_path):
    paths = []
    for i in range(3):
        path = tmp_path / f"f{i}.py"
        path.write_text("x = 1\n" * 1000)
        paths.append(str(path))
    stream = _Terminal()
    progress = Progress(stream)
    progress.start(paths)
    time.sleep(0.6)  # past the delay below which nothing is shown
    for path in paths:
        progress.advance(path)
    progress.close()
    shown = stream.getvalue()
    assert "/3 files" in shown and "kB/17.6kB" in shown and "B/s" in shown
    assert "f0.py" not in shown  # no file names


def test_cli_on_a_pty_shows_progress_and_in_a_pipe_does_not(tmp_path):
    for i in range(200):
        (tmp_path / f"m{i}.py").write_text("import qiskit\n" + "x = 'abc'\n" * 2000)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["KEYGUARD_PROGRESS_DELAY"] = "0"
    piped = subprocess.run([sys.executable, "-m", "keyguard", "scan", "--no-cache", "."],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "/200 files" not in piped.stderr and "%|" not in piped.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "keyguard", "scan", "--no-cache", "."],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "/200 files" in shown
