"""Baselines: deterministic files, content identity, pruning, paths from any directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from keyguard.cli import cli
from keyguard.filter.baseline import (
    Baseline,
    BaselineError,
    baseline_from_findings,
    load_baseline,
    prune,
    write_baseline,
)
from keyguard.model import Confidence, Finding, Location, Secret, Severity
from keyguard.rulepack.fakes import FakeKeys

FAKES = FakeKeys(11)
KEY_A = FAKES.ibm_key()
KEY_B = FAKES.ibm_key()
KEY_C = FAKES.ionq_key()


def finding(path: str, line: int, secret: str, rule_id: str = "KG201") -> Finding:
    loc = Location(path, line, 5, line, 5 + len(secret), line, 5)
    return Finding(rule_id, "ibm-cloud", "api key", "IBM Cloud API key", Severity.CRITICAL,
                   Confidence.HIGH, loc, Secret(secret), "move it to an environment variable")


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_file_format_is_sorted_and_deterministic(in_tmp: Path) -> None:
    findings = [
        finding("src/b.py", 9, KEY_B),
        finding("src/a.py", 3, KEY_A),
        finding("src/a.py", 1, KEY_C, "KG101"),
        finding("src/a.py", 7, KEY_A),  # same secret twice in a file: one entry
    ]
    write_baseline(findings, "baseline.json")
    first = (in_tmp / "baseline.json").read_bytes()
    write_baseline(list(reversed(findings)), "baseline.json")
    assert (in_tmp / "baseline.json").read_bytes() == first
    text = first.decode()
    assert text.endswith("}\n")
    data = json.loads(text)
    assert list(data) == ["results", "tool", "version"]
    assert data["version"] == 1 and data["tool"] == "keyguard"
    assert list(data["results"]) == ["src/a.py", "src/b.py"]
    entries = data["results"]["src/a.py"]
    assert entries == sorted(entries, key=lambda e: (e["rule"], e["fingerprint"]))
    assert {e["rule"] for e in entries} == {"KG101", "KG201"}
    assert len(entries) == 2
    # No secrets, no line numbers, no timestamps.
    for secret in (KEY_A, KEY_B, KEY_C):
        assert secret not in text
    assert "line" not in text and "generated" not in text and "time" not in text


def test_same_secret_moved_is_known_different_secret_same_line_is_new(in_tmp: Path) -> None:
    write_baseline([finding("app.py", 3, KEY_A)], ".keyguard-baseline.json")
    baseline = load_baseline(".keyguard-baseline.json")
    moved = finding("app.py", 40, KEY_A)
    replaced = finding("app.py", 3, KEY_B)
    other_file = finding("other.py", 3, KEY_A)
    other_rule = finding("app.py", 3, KEY_A, "KG202")
    new, known = baseline.filter([moved, replaced, other_file, other_rule])
    assert known == [moved]
    assert new == [replaced, other_file, other_rule]


def test_paths_work_from_another_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    write_baseline([finding("src/pkg/app.py", 2, KEY_A)], ".keyguard-baseline.json")
    data = json.loads((tmp_path / ".keyguard-baseline.json").read_text())
    assert list(data["results"]) == ["src/pkg/app.py"]
    # From a subdirectory the same file is "pkg/app.py", and the baseline is "../.keyguard-...".
    monkeypatch.chdir(tmp_path / "src")
    baseline = load_baseline("../.keyguard-baseline.json")
    new, known = baseline.filter([finding("pkg/app.py", 9, KEY_A)])
    assert (new, len(known)) == ([], 1)
    # Absolute paths, too.
    new, known = baseline.filter([finding(str(tmp_path / "src/pkg/app.py"), 1, KEY_A)])
    assert (new, len(known)) == ([], 1)


def test_baseline_in_a_subdirectory_uses_paths_relative_to_itself(in_tmp: Path) -> None:
    write_baseline([finding("app.py", 1, KEY_A)], "ci/baseline.json")
    data = json.loads((in_tmp / "ci" / "baseline.json").read_text())
    assert list(data["results"]) == ["../app.py"]
    assert len(load_baseline("ci/baseline.json").filter([finding("app.py", 5, KEY_A)])[1]) == 1


def test_prune_drops_entries_that_match_nothing(in_tmp: Path) -> None:
    old = [finding("a.py", 1, KEY_A), finding("a.py", 2, KEY_B), finding("b.py", 1, KEY_C)]
    write_baseline(old, "bl.json")
    baseline = load_baseline("bl.json")
    pruned = prune(baseline, [finding("a.py", 30, KEY_A)])
    assert len(pruned) == 1
    assert pruned.filter([finding("a.py", 1, KEY_A)])[1]
    pruned.save()
    assert list(json.loads((in_tmp / "bl.json").read_text())["results"]) == ["a.py"]
    assert len(baseline) == 3  # the input is not modified


def test_prune_keeps_entries_outside_the_scanned_paths(in_tmp: Path) -> None:
    baseline = baseline_from_findings(
        [finding("src/a.py", 1, KEY_A), finding("tests/t.py", 1, KEY_B)], "bl.json"
    )
    pruned = prune(baseline, [], scanned=["src"])
    assert set(pruned.results) == {"tests/t.py"}
    assert len(prune(baseline, [], scanned=["."])) == 0
    assert len(prune(baseline, [], scanned=["src/a.py"])) == 1


def test_prune_never_adds(in_tmp: Path) -> None:
    baseline = baseline_from_findings([finding("a.py", 1, KEY_A)], "bl.json")
    pruned = prune(baseline, [finding("a.py", 1, KEY_A), finding("a.py", 2, KEY_B)])
    assert len(pruned) == 1


def test_save_to_another_directory_rebases_paths(in_tmp: Path) -> None:
    baseline = baseline_from_findings([finding("src/a.py", 1, KEY_A)], "bl.json")
    baseline.save("out/bl.json")
    loaded = load_baseline("out/bl.json")
    assert list(loaded.results) == ["../src/a.py"]
    assert loaded.filter([finding("src/a.py", 3, KEY_A)])[1]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "invalid JSON"),
        ("[]", "JSON object"),
        ('{"version": 2, "results": {}}', "unsupported version 2"),
        ('{"results": {}}', "unsupported version None"),
        ('{"version": 1}', "'results'"),
        ('{"version": 1, "results": {"a.py": {}}}', "must be a list"),
        ('{"version": 1, "results": {"a.py": ["x"]}}', "must be an object"),
        ('{"version": 1, "results": {"a.py": [{"fingerprint": "' + "0" * 64 + '"}]}}', "'rule'"),
        ('{"version": 1, "results": {"a.py": [{"rule": "KG201", "fingerprint": "abc"}]}}',
         "64 lowercase hex"),
    ],
)
def test_bad_baselines_are_clear_errors(in_tmp: Path, content: str, why: str) -> None:
    (in_tmp / "bl.json").write_text(content)
    with pytest.raises(BaselineError) as info:
        load_baseline("bl.json")
    assert why in str(info.value)
    assert "bl.json" in str(info.value)


def test_missing_baseline_says_how_to_create_it(in_tmp: Path) -> None:
    with pytest.raises(BaselineError, match="keyguard baseline"):
        load_baseline("nope.json")


def test_empty_baseline_round_trips(in_tmp: Path) -> None:
    write_baseline([], "bl.json")
    assert json.loads((in_tmp / "bl.json").read_text()) == {
        "results": {}, "tool": "keyguard", "version": 1,
    }
    baseline = load_baseline("bl.json")
    assert isinstance(baseline, Baseline) and len(baseline) == 0
    f = finding("a.py", 1, KEY_A)
    assert baseline.filter([f]) == ([f], [])


def test_unwritable_location_is_a_baseline_error(in_tmp: Path) -> None:
    (in_tmp / "file").write_text("")
    with pytest.raises(BaselineError, match="cannot write"):
        write_baseline([], os.path.join("file", "bl.json"))


# ---------------------------------------------------------------------------- through the CLI


def run_cli(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_cli_baseline_then_scan(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes = FakeKeys(31)
    old, other = fakes.ionq_key(), fakes.ionq_key()
    app = in_tmp / "src" / "app.py"
    app.parent.mkdir()
    app.write_text(f'IONQ_API_KEY = "{old}"\n')

    made = run_cli(["baseline", "."])
    assert made.exit_code == 0, made.stderr
    assert "Wrote 1 entry for 1 file(s) to .keyguard-baseline.json" in made.stderr
    text = (in_tmp / ".keyguard-baseline.json").read_text()
    assert old not in text and list(json.loads(text)["results"]) == ["src/app.py"]
    # Deterministic: regenerating gives the same bytes.
    assert run_cli(["baseline", "."]).exit_code == 0
    assert (in_tmp / ".keyguard-baseline.json").read_text() == text

    clean = run_cli(["scan", "--baseline", ".keyguard-baseline.json", "."])
    assert clean.exit_code == 0 and clean.stdout == ""
    assert "1 known in the baseline" in clean.stderr

    # The same secret moved down: still known.
    app.write_text(f'\n\n# moved\nIONQ_API_KEY = "{old}"\n')
    assert run_cli(["scan", "--baseline", ".keyguard-baseline.json", "."]).exit_code == 0
    # A different secret on the same line: new.
    app.write_text(f'IONQ_API_KEY = "{other}"\n')
    new = run_cli(["scan", "--color", "never", "--baseline", ".keyguard-baseline.json", "."])
    assert new.exit_code == 1 and new.stdout.startswith("src/app.py:1:")

    # From another directory, with the path given relative to it.
    app.write_text(f'IONQ_API_KEY = "{old}"\n')
    monkeypatch.chdir(in_tmp / "src")
    there = run_cli(["scan", "--baseline", "../.keyguard-baseline.json", "app.py"])
    assert there.exit_code == 0 and there.stdout == ""


def test_cli_baseline_from_config_and_show_ignored(in_tmp: Path) -> None:
    key = FakeKeys(32).ibm_key()
    (in_tmp / "pyproject.toml").write_text('[tool.keyguard]\nbaseline = "ci/baseline.json"\n')
    (in_tmp / "app.py").write_text(f'IBM_CLOUD_API_KEY = "{key}"\n')
    assert run_cli(["baseline"]).exit_code == 0  # writes the configured file
    assert (in_tmp / "ci" / "baseline.json").is_file()
    result = run_cli(["scan", "--show-ignored", "."])
    assert result.exit_code == 0
    assert "app.py:1:22: KG201 ignored: known in baseline ci/baseline.json" in result.stderr


def test_cli_prune(in_tmp: Path) -> None:
    fakes = FakeKeys(33)
    a, b = fakes.ionq_key(), fakes.ionq_key()
    (in_tmp / "a.py").write_text(f'IONQ_API_KEY = "{a}"\n')
    (in_tmp / "b.py").write_text(f'IONQ_API_KEY = "{b}"\n')
    assert run_cli(["baseline", "-o", "bl.json", "."]).exit_code == 0
    (in_tmp / "b.py").write_text("import os\nIONQ_API_KEY = os.environ['IONQ_API_KEY']\n")
    # A third secret appears: prune must not add it.
    (in_tmp / "c.py").write_text(f'IONQ_API_KEY = "{fakes.ionq_key()}"\n')
    pruned = run_cli(["baseline", "--prune", "-o", "bl.json", "."])
    assert pruned.exit_code == 0
    assert "Pruned 1 stale entry from bl.json; 1 remain." in pruned.stderr
    assert list(json.loads((in_tmp / "bl.json").read_text())["results"]) == ["a.py"]


def test_cli_partial_rescan_keeps_other_paths(in_tmp: Path) -> None:
    fakes = FakeKeys(34)
    for name in ("src", "tests"):
        (in_tmp / name).mkdir()
        (in_tmp / name / "x.py").write_text(f'IONQ_API_KEY = "{fakes.ionq_key()}"\n')
    assert run_cli(["baseline", "."]).exit_code == 0
    (in_tmp / "src" / "x.py").write_text("x = 1\n")
    assert run_cli(["baseline", "src"]).exit_code == 0
    results = json.loads((in_tmp / ".keyguard-baseline.json").read_text())["results"]
    assert list(results) == ["tests/x.py"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "baseline file not found"), ("{oops", "invalid JSON"),
     ('{"version": 9, "results": {}}', "unsupported version 9")],
)
def test_cli_bad_baseline_exits_2(in_tmp: Path, content: str | None, message: str) -> None:
    (in_tmp / "a.py").write_text("x = 1\n")
    if content is not None:
        (in_tmp / "bl.json").write_text(content)
    result = run_cli(["scan", "--baseline", "bl.json", "."])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert run_cli(["baseline", "--prune", "-o", "bl.json", "."]).exit_code == 2
