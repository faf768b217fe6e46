"""Issue 8 §2, §6, §7: no output carries a key or a control character, and only real
secrets are scrubbed. Each test runs the real CLI (`python -m keyguard`) on files written
to a temporary folder; keys are generated at run time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard.model import redact
from keyguard.rulepack.fakes import FakeKeys

FORMATS = ("text", "json", "sarif", "github")
IMPORT = "from qiskit_ibm_runtime import QiskitRuntimeService\n"
ENV_READ = 'os.environ["QISKIT_IBM_TOKEN"]'


def kg(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """The CLI as a user runs it; output kept as bytes (a file name may not be UTF-8)."""
    return subprocess.run(
        [sys.executable, "-m", "keyguard", *args], cwd=cwd, capture_output=True, timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def text_of(proc: subprocess.CompletedProcess[bytes]) -> str:
    out = proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")  # must be UTF-8
    assert "internal error" not in out and "Traceback" not in out, out
    return out


def leaky_call(key: str) -> str:
    return IMPORT + f'service = QiskitRuntimeService(channel="ibm_cloud", token="{key}")\n'


# ------------------------------------------------------------------ §2 a notice is not a secret


@pytest.fixture
def notice_and_key(tmp_path: Path) -> tuple[Path, str]:
    key = FakeKeys("hygiene-mixed").ibm_key()
    (tmp_path / "app.py").write_text(
        IMPORT + "import os\n"
        f"QiskitRuntimeService.save_account(token={ENV_READ})\n"
        f'service = QiskitRuntimeService(token="{key}")\n', encoding="utf-8")
    (tmp_path / "run_2024_experiment_final.py").write_text(leaky_call(key), encoding="utf-8")
    return tmp_path, key


@pytest.mark.parametrize("fmt", FORMATS)
def test_notice_and_key_in_one_run(notice_and_key: tuple[Path, str], fmt: str) -> None:
    folder, key = notice_and_key
    proc = kg("scan", "--format", fmt, ".", cwd=folder)
    assert proc.returncode == 1
    out = text_of(proc)
    assert key not in out
    # The notice's "secret" is the env read: it is not scrubbed from other messages ...
    assert f"read it from the environment instead: {ENV_READ}" in out.replace('\\"', '"')
    assert "instead: os.e…" not in out and "os.e…(30 chars))" not in out
    # ... and file names with digits are not scrubbed either.
    assert "run_2024_experiment_final.py" in out
    assert "in ….py" not in out
    if fmt == "sarif":
        log = json.loads(proc.stdout)
        rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
        assert ENV_READ in rules["KG201"]["help"]["text"]
        assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"KG201", "KG205"}


# ------------------------------------------------------------------ §7 names, notes, errors


def test_folder_named_after_its_key(tmp_path: Path) -> None:
    key = FakeKeys("hygiene-folder").ibm_key()
    (tmp_path / key).mkdir()
    (tmp_path / key / "run.py").write_text(leaky_call(key), encoding="utf-8")
    (tmp_path / f"{key}.py").write_text(leaky_call(key), encoding="utf-8")
    for fmt in FORMATS:
        out = text_of(kg("scan", "--format", fmt, ".", cwd=tmp_path))
        assert key not in out, fmt
    out = text_of(kg("scan", ".", cwd=tmp_path))
    assert f"{redact(key)}/run.py:2:" in out
    # The baseline stores the redacted path, and matching still works with it.
    assert kg("baseline", ".", cwd=tmp_path).returncode == 0
    baseline = (tmp_path / ".keyguard-baseline.json").read_text(encoding="utf-8")
    assert key not in baseline and f"{redact(key)}/run.py" in baseline
    proc = kg("scan", "--baseline", ".keyguard-baseline.json", ".", cwd=tmp_path)
    assert proc.returncode == 0, text_of(proc)
    assert "2 known in the baseline" in text_of(proc)


def test_notebook_note_does_not_quote_a_key(tmp_path: Path) -> None:
    key = FakeKeys("hygiene-nb").ibm_key()
    (tmp_path / "nb.ipynb").write_text(
        json.dumps({"nbformat": key, "cells": [], "metadata": {"note": "qiskit"}}),
        encoding="utf-8")
    for fmt in ("text", "json"):
        out = text_of(kg("scan", "--format", fmt, ".", cwd=tmp_path))
        assert "unsupported nbformat version" in out and key not in out


@pytest.mark.parametrize("config", [
    'fail-on = "{k}"',
    'select = ["{k}"]',
    '{k} = 1',
    'exclude = "{k}"',
    'per-file-ignores = {{ "{k}" = 7 }}',
    'baseline = "{k}/b.json"',
    'extend-rules = ["{k}.toml"]',
])
def test_config_errors_never_echo_a_key(tmp_path: Path, config: str) -> None:
    key = FakeKeys("hygiene-config").ibm_key()
    (tmp_path / ".keyguard.toml").write_text(config.format(k=key) + "\n", encoding="utf-8")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    proc = kg("scan", ".", cwd=tmp_path)
    out = text_of(proc)
    assert proc.returncode == 2, out
    assert "keyguard: error:" in out and key not in out
    assert redact(key) in out  # the value is still named, redacted


@pytest.mark.parametrize("args", [
    ["scan", "--fail-on", "{k}", "."],
    ["scan", "--select", "{k}", "."],
    ["scan", "--{k}", "."],
    ["{k}"],
    ["scan", "--baseline", "{k}.json", "."],
])
def test_usage_errors_never_echo_a_key(tmp_path: Path, args: list[str]) -> None:
    key = FakeKeys("hygiene-usage").ibm_key()
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    proc = kg(*[a.format(k=key) for a in args], cwd=tmp_path)
    out = text_of(proc)
    assert proc.returncode == 2, out
    assert key not in out


@pytest.mark.parametrize("body", [
    '{{"version": 1, "results": {{"{k}/a.py": "x"}}}}',
    '{{"version": "{k}", "results": {{}}}}',
    '{{"version": 1, "results": {{"a.py": [{{"rule": "KG201", "fingerprint": "{k}"}}]}}}}',
])
def test_baseline_errors_never_echo_a_key(tmp_path: Path, body: str) -> None:
    key = FakeKeys("hygiene-baseline").ibm_key()
    (tmp_path / "b.json").write_text(body.format(k=key), encoding="utf-8")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    proc = kg("scan", "--baseline", "b.json", ".", cwd=tmp_path)
    out = text_of(proc)
    assert proc.returncode == 2 and "not a keyguard baseline" in out, out
    assert key not in out


# ------------------------------------------------------------------ control characters, bytes


def test_control_characters_in_file_names_are_escaped(tmp_path: Path) -> None:
    key = FakeKeys("hygiene-ctrl").ibm_key()
    name = "bad\nname\x1b[31m\r.py"
    (tmp_path / name).write_text(leaky_call(key), encoding="utf-8")
    for fmt in FORMATS:
        proc = kg("scan", "--format", fmt, ".", cwd=tmp_path)
        assert proc.returncode == 1
        out = text_of(proc)
        assert "\x1b" not in out and "\r" not in out, fmt
        if fmt == "text":
            [line] = proc.stdout.decode().splitlines()  # one finding, one line
            assert line.startswith("bad\\nname\\x1b[31m\\r.py:2:")
        if fmt == "json":
            assert json.loads(proc.stdout)["findings"][0]["path"] == "bad\\nname\\x1b[31m\\r.py"
        if fmt == "github":
            assert len(proc.stdout.decode().splitlines()) == 1


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="needs byte file names")
@pytest.mark.parametrize("fmt", FORMATS)
def test_file_name_that_is_not_utf8(tmp_path: Path, fmt: str) -> None:
    key = FakeKeys("hygiene-bytes").ibm_key()
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xff.py"), "w", encoding="utf-8") as fh:
        fh.write(leaky_call(key))
    proc = kg("scan", "--format", fmt, ".", cwd=tmp_path)
    out = text_of(proc)
    assert proc.returncode == 1, out
    assert key not in out
    if fmt == "sarif":
        [result] = json.loads(proc.stdout)["runs"][0]["results"]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == "caf%FF.py"  # the file's bytes, percent-encoded
    elif fmt == "json":
        assert json.loads(proc.stdout)["findings"][0]["path"] == "caf\\xff.py"
    else:
        assert "caf\\xff.py" in out


def test_github_and_sarif_output_together_with_bytes_name(tmp_path: Path) -> None:
    """The Action's exact invocation: --format github --sarif-output."""
    key = FakeKeys("hygiene-action").ibm_key()
    with open(os.path.join(os.fsencode(tmp_path), b"\xfe\xff.py"), "w", encoding="utf-8") as fh:
        fh.write(leaky_call(key))
    proc = kg("scan", "--format", "github", "--sarif-output", "k.sarif", ".", cwd=tmp_path)
    assert proc.returncode == 1, text_of(proc)
    assert json.loads((tmp_path / "k.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]


# ------------------------------------------------------------------ --max-file-size


def test_only_oversized_input_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("x = 1\n" * 200_000, encoding="utf-8")  # 1.2 MB
    proc = kg("scan", "--max-file-size", "1", ".", cwd=tmp_path)
    out = text_of(proc)
    assert proc.returncode == 2, out
    assert "nothing could be scanned: 1 file larger than 1 MB" in out
    assert "--max-file-size" in out
    proc = kg("scan", "--max-file-size", "1", "--format", "json", "big.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["summary"]["errors"]
    # With one readable file beside it the run is a normal one; the skip is still counted.
    (tmp_path / "small.py").write_text("x = 1\n", encoding="utf-8")
    proc = kg("scan", "--max-file-size", "1", ".", cwd=tmp_path)
    assert proc.returncode == 0
    assert "skipped 1 file larger than 1 MB" in text_of(proc)
    # Binary files alone are nothing to scan, not a failure.
    (tmp_path / "big.py").unlink()
    (tmp_path / "small.py").unlink()
    (tmp_path / "blob.bin").write_bytes(b"\0" * 100)
    assert kg("scan", ".", cwd=tmp_path).returncode == 0


# ------------------------------------------------------------------ property: byte file names


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="needs byte file names")
def test_any_byte_file_name_reaches_every_format(tmp_path_factory: pytest.TempPathFactory
                                                 ) -> None:
    """Hypothesis over byte-level file names: the finding is kept, every format encodes as
    UTF-8 (what writing it to stdout needs), shows no control character and no key."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from keyguard.config import Config
    from keyguard.pipeline.scan import scan_paths
    from keyguard.report.github import render_github
    from keyguard.report.json import render_json
    from keyguard.report.sarif import render_sarif
    from keyguard.report.text import render_text
    from keyguard.rulepack.load import load_ruleset

    key = FakeKeys("hygiene-property").ibm_key()
    ruleset = load_ruleset()
    names = st.binary(min_size=1, max_size=24).filter(
        lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.filter_too_much])
    @given(names)
    def check(raw: bytes) -> None:
        folder = tmp_path_factory.mktemp("names")
        path = os.path.join(os.fsencode(folder), raw + b".py")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(leaky_call(key))
        name = os.fsdecode(path)
        result = scan_paths([name], Config(jobs=1))
        assert [f.rule_id for f in result.findings] == ["KG201"]
        outputs = [
            render_text(result.findings),
            render_json(result.findings, {"notes": [{"path": name, "note": "n"}]}),
            render_sarif(result.findings, ruleset, version="0", cwd=os.fsdecode(folder)),
            render_github(result.findings, cwd=os.fsdecode(folder)),
        ]
        for out in outputs:
            out.encode("utf-8")
            assert key not in out
            assert not any(c in out for c in "\x1b\r\x7f\x9b")
        assert len(outputs[0].splitlines()) == 1 and len(outputs[3].splitlines()) == 1

    check()
