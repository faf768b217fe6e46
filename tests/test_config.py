"""Configuration: finding the file, every key valid and invalid, flags win, path matching."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from keyguard.cli import cli
from keyguard.config import (
    Config,
    ConfigError,
    find_config,
    ignored_rules_for,
    is_excluded,
    is_rule_ignored_for,
    load_config,
)
from keyguard.model import Severity
from keyguard.rulepack.fakes import FakeKeys

CUSTOM_PACK = '''
schema = 1

[provider]
id = "acme-quantum"
name = "Acme Quantum"
keywords = ["acmeq"]

[[rule]]
id = "KG901"
type = "token"
kind = "api key"
title = "Acme Quantum API key"
severity = "high"
regex = '(?<![A-Za-z0-9])(?P<secret>acmeq_[A-Za-z0-9]{32})(?![A-Za-z0-9])'
keywords = ["acmeq_"]
source = "test pack"
description = "An Acme Quantum key."
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def pyproject(root: Path, body: str) -> Path:
    return write(root / "pyproject.toml", f"[project]\nname = 'x'\n\n[tool.keyguard]\n{body}\n")


# ---------------------------------------------------------------------------- finding the file


def test_no_config_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    if find_config(tmp_path) is not None:
        pytest.skip("a config file above the temporary directory")
    config = load_config([str(tmp_path / "src")], {}, cwd=str(tmp_path))
    assert config.config_file is None
    assert config.root == str(tmp_path)
    assert config.select is None and config.ignore == ()
    assert config.fail_on is Severity.MEDIUM


def test_walks_up_from_common_directory(tmp_path: Path) -> None:
    cfg = pyproject(tmp_path, 'fail-on = "high"')
    write(tmp_path / "pkg" / "a" / "x.py", "")
    write(tmp_path / "pkg" / "b" / "y.py", "")
    config = load_config(["pkg/a/x.py", "pkg/b/y.py"], {}, cwd=str(tmp_path))
    assert config.config_file == str(cfg)
    assert config.root == str(tmp_path)
    assert config.fail_on is Severity.HIGH


def test_nearest_file_wins_and_dotfile_beats_pyproject(tmp_path: Path) -> None:
    pyproject(tmp_path, 'fail-on = "high"')
    inner = tmp_path / "sub"
    pyproject(inner, 'fail-on = "low"')
    assert find_config(inner / "x.py") == inner / "pyproject.toml"
    write(inner / ".keyguard.toml", 'fail-on = "critical"\n')
    assert find_config(inner) == inner / ".keyguard.toml"
    assert load_config(["sub"], {}, cwd=str(tmp_path)).fail_on is Severity.CRITICAL
    assert load_config(["."], {}, cwd=str(tmp_path)).fail_on is Severity.HIGH


def test_pyproject_without_table_is_skipped(tmp_path: Path) -> None:
    pyproject(tmp_path, 'fail-on = "low"')
    write(tmp_path / "sub" / "pyproject.toml", "[project]\nname = 'inner'\n")
    assert find_config(tmp_path / "sub") == tmp_path / "pyproject.toml"


def test_git_directory_does_not_stop_the_walk(tmp_path: Path) -> None:
    # Like ruff: settings above a nested repository still apply.
    pyproject(tmp_path, 'fail-on = "low"')
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert find_config(tmp_path / "repo") == tmp_path / "pyproject.toml"


def test_keyguard_toml_may_use_tool_table(tmp_path: Path) -> None:
    write(tmp_path / ".keyguard.toml", '[tool.keyguard]\nfail-on = "low"\n')
    assert load_config(["."], {}, cwd=str(tmp_path)).fail_on is Severity.LOW


def test_explicit_config_and_isolated(tmp_path: Path) -> None:
    pyproject(tmp_path, 'fail-on = "low"')
    other = write(tmp_path / "ci" / "keyguard.toml", 'fail-on = "critical"\n')
    explicit = load_config(["."], {"config": str(other)}, cwd=str(tmp_path))
    assert explicit.fail_on is Severity.CRITICAL
    isolated = load_config(["."], {"isolated": True}, cwd=str(tmp_path))
    assert isolated.config_file is None and isolated.fail_on is Severity.MEDIUM
    with pytest.raises(ConfigError, match="--config"):
        load_config(["."], {"config": "missing.toml"}, cwd=str(tmp_path))


def test_invalid_toml_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.keyguard\nselect = [")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(["."], {}, cwd=str(tmp_path))


# ---------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ('select = ["KG1", "KG201"]', "select", ("KG1", "KG201")),
        ('select = ["kg2"]', "select", ("KG2",)),
        ('ignore = ["KG204"]', "ignore", ("KG204",)),
        ('exclude = ["examples/", "*.min.js"]', "exclude", ("examples/", "*.min.js")),
        ('per-file-ignores = {"tests/**" = ["KG1"], "*.md" = ["KG204", "KG205"]}',
         "per_file_ignores", {"tests/**": ("KG1",), "*.md": ("KG204", "KG205")}),
        ('fail-on = "critical"', "fail_on", Severity.CRITICAL),
        ('fail-on = "INFO"', "fail_on", Severity.INFO),
    ],
)
def test_valid_keys(tmp_path: Path, body: str, field: str, expected: object) -> None:
    pyproject(tmp_path, body)
    config = load_config(["."], {}, cwd=str(tmp_path))
    assert getattr(config, field) == expected


def test_baseline_and_extend_rules_are_relative_to_the_config_file(tmp_path: Path) -> None:
    pack = write(tmp_path / "rules" / "acme.toml", CUSTOM_PACK)
    pyproject(tmp_path, 'baseline = ".keyguard-baseline.json"\nextend-rules = ["rules/acme.toml"]\n'
                        'select = ["KG9"]')
    (tmp_path / "src" / "deep").mkdir(parents=True)
    config = load_config(["."], {}, cwd=str(tmp_path / "src" / "deep"))
    assert config.baseline == str(tmp_path / ".keyguard-baseline.json")
    assert config.extend_rules == (str(pack),)
    assert config.select == ("KG9",)  # only valid because the extra pack defines KG901


@pytest.mark.parametrize(
    ("body", "key", "why"),
    [
        ('select = "KG1"', "select", "list of strings"),
        ('select = ["E501"]', "select", "not a rule id"),
        ('select = ["KG999"]', "select", "matches no rule"),
        ('ignore = [1]', "ignore", "list of strings"),
        ('ignore = ["KG"]', None, None),  # valid: every rule
        ('exclude = "examples/"', "exclude", "list of strings"),
        ('exclude = ["!"]', "exclude", "invalid pattern"),
        ('per-file-ignores = ["tests/"]', "per-file-ignores", "table"),
        ('per-file-ignores = {"tests/" = "KG1"}', "per-file-ignores", "list of strings"),
        ('per-file-ignores = {"tests/" = ["X1"]}', "per-file-ignores", "not a rule id"),
        ('extend-rules = ["nope.toml"]', "extend-rules", "does not exist"),
        ('extend-rules = "nope.toml"', "extend-rules", "list of strings"),
        ('fail-on = "severe"', "fail-on", "unknown severity"),
        ('fail-on = 3', "fail-on", "must be a string"),
        ('baseline = 1', "baseline", "path"),
        ('baseline = ""', "baseline", "path"),
        ('selct = ["KG1"]', "selct", "unknown key"),
        ('fail_on = "low"', "fail_on", "did you mean 'fail-on'"),
    ],
)
def test_invalid_values_name_the_key_and_file(
    tmp_path: Path, body: str, key: str | None, why: str | None
) -> None:
    cfg = pyproject(tmp_path, body)
    if key is None:
        load_config(["."], {}, cwd=str(tmp_path))
        return
    with pytest.raises(ConfigError) as info:
        load_config(["."], {}, cwd=str(tmp_path))
    message = str(info.value)
    assert str(cfg) in message
    assert key in message
    assert why in message


def test_broken_extra_rule_pack_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path / "bad.toml", "schema = 1\n[provider]\n")
    pyproject(tmp_path, 'extend-rules = ["bad.toml"]')
    with pytest.raises(ConfigError, match="extend-rules"):
        load_config(["."], {}, cwd=str(tmp_path))


# ---------------------------------------------------------------------------- flags win


def test_flags_replace_file_values(tmp_path: Path) -> None:
    pyproject(tmp_path, 'select = ["KG1"]\nignore = ["KG102"]\nfail-on = "low"\n'
                        'exclude = ["a/"]\nbaseline = "b.json"')
    (tmp_path / "sub").mkdir()
    config = load_config(
        ["."],
        {"select": "KG2,KG3", "ignore": ["KG204"], "fail_on": "high", "exclude": ["c/"],
         "baseline": "other.json", "max_file_size": 5, "jobs": 2, "extend_rules": None},
        cwd=str(tmp_path / "sub"),
    )
    assert config.select == ("KG2", "KG3")
    assert config.ignore == ("KG204",)
    assert config.fail_on is Severity.HIGH
    assert config.exclude == ("c/",)
    assert config.exclude_root == str(tmp_path / "sub")  # flag patterns: relative to cwd
    assert config.baseline == str(tmp_path / "sub" / "other.json")
    assert (config.max_file_size, config.jobs) == (5, 2)


def test_none_means_flag_not_given(tmp_path: Path) -> None:
    pyproject(tmp_path, 'fail-on = "low"')
    assert load_config(["."], {"fail_on": None}, cwd=str(tmp_path)).fail_on is Severity.LOW


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        ({"fail_on": "nope"}, "--fail-on"),
        ({"select": "KG1,E5"}, "--select"),
        ({"jobs": -1}, "--jobs"),
        ({"colour": "x"}, "colour"),
    ],
)
def test_invalid_flags_name_the_flag(tmp_path: Path, overrides: dict, flag: str) -> None:
    with pytest.raises(ConfigError, match=flag):
        load_config(["."], overrides, cwd=str(tmp_path))


# ---------------------------------------------------------------------------- path matching


def test_is_excluded_gitignore_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(exclude=("examples/", "*.min.js", "/build", "docs/generated"),
                    root=str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert is_excluded("examples/leak.py", config)
    assert is_excluded("examples", config, is_dir=True)
    assert not is_excluded("examples", config)  # a file named examples is not the directory
    assert is_excluded("pkg/examples/leak.py", config)
    assert is_excluded("web/app.min.js", config)
    assert is_excluded("build/x.py", config)
    assert not is_excluded("pkg/build/x.py", config)  # anchored to the root
    assert is_excluded("docs/generated/a.md", config)
    assert not is_excluded("src/app.py", config)
    assert is_excluded(str(tmp_path / "examples" / "x.py"), config)  # absolute paths too


def test_is_excluded_relative_to_root_from_another_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config(exclude=("/build",), root=str(tmp_path))
    (tmp_path / "pkg").mkdir()
    monkeypatch.chdir(tmp_path / "pkg")
    assert is_excluded("../build/x.py", config)
    assert not is_excluded("build/x.py", config)  # that is pkg/build, not /build


def test_ignored_rules_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = Config(per_file_ignores={"tests/": ("KG1",), "*.md": ("KG204", "KG1")},
                    root=str(tmp_path))
    assert ignored_rules_for("tests/test_x.py", config) == ("KG1",)
    assert ignored_rules_for("tests/README.md", config) == ("KG1", "KG204")
    assert ignored_rules_for("src/app.py", config) == ()
    assert is_rule_ignored_for("KG101", "tests/a.py", config)
    assert not is_rule_ignored_for("KG201", "tests/a.py", config)


def test_file_excludes_are_relative_to_the_config_file(tmp_path: Path) -> None:
    pyproject(tmp_path, 'exclude = ["/vendor"]')
    (tmp_path / "src").mkdir()
    config = load_config(["."], {}, cwd=str(tmp_path / "src"))
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path / "src")
        assert is_excluded("../vendor/lib.py", config)
        assert not is_excluded("vendor/lib.py", config)
    finally:
        os.chdir(cwd)


# ---------------------------------------------------------------------------- through the CLI


def run_cli(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('colour = "never"', "colour"),
        ('select = ["KG999"]', "select"),
        ('fail-on = "urgent"', "fail-on"),
        ('exclude = "examples/"', "exclude"),
        ('per-file-ignores = {"tests/" = ["nope"]}', "per-file-ignores"),
        ('extend-rules = ["missing.toml"]', "extend-rules"),
        ('baseline = 3', "baseline"),
    ],
)
def test_cli_config_errors_exit_2_naming_the_key(project: Path, body: str, key: str) -> None:
    pyproject(project, body)
    (project / "app.py").write_text("x = 1\n")
    result = run_cli(["scan", "."])
    assert result.exit_code == 2
    assert key in result.stderr
    assert "pyproject.toml" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_cli_config_error_from_a_real_process(project: Path) -> None:
    import subprocess
    import sys

    write(project / ".keyguard.toml", "selct = ['KG1']\n")
    proc = subprocess.run([sys.executable, "-m", "keyguard", "scan", "."], cwd=project,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "selct" in proc.stderr and ".keyguard.toml" in proc.stderr
    assert "Traceback" not in proc.stderr


def leaky_files(project: Path) -> tuple[str, str]:
    fakes = FakeKeys(21)
    ionq, ibm = fakes.ionq_key(), fakes.ibm_key()
    write(project / "src" / "app.py", f'IONQ_API_KEY = "{ionq}"\n')
    write(project / "examples" / "demo.py", f'IBM_CLOUD_API_KEY = "{ibm}"\n')
    return ionq, ibm


def reported_paths(result: Result) -> list[str]:
    return sorted(line.split(":")[0] for line in result.stdout.splitlines())


def test_cli_uses_the_file_and_flags_win(project: Path) -> None:
    leaky_files(project)
    pyproject(project, 'exclude = ["examples/"]\nfail-on = "critical"')
    # KG101 is "high": below fail-on critical, so reported but exit 0.
    result = run_cli(["scan", "--color", "never", "."])
    assert reported_paths(result) == ["src/app.py"]
    assert result.exit_code == 0
    # The flag wins over the file.
    result = run_cli(["scan", "--color", "never", "--fail-on", "high", "."])
    assert result.exit_code == 1
    # --select from the command line replaces the file's selection.
    result = run_cli(["scan", "--color", "never", "--select", "KG2", "src", "examples/demo.py"])
    # A file named explicitly is scanned although examples/ is excluded (ruff's rule), with
    # a warning; --force-exclude (the pre-commit hooks' flag) skips it.
    assert reported_paths(result) == ["examples/demo.py"]
    assert ("warning: examples/demo.py: matches `exclude` in the configuration but was named "
            "explicitly, so it is scanned (--force-exclude skips it)") in result.stderr
    result = run_cli(["scan", "--color", "never", "--select", "KG2", "--force-exclude", "src",
                      "examples/demo.py"])
    assert reported_paths(result) == [] and result.exit_code == 0
    assert "1 file excluded by configuration" in result.stderr and "warning" not in result.stderr
    # A named excluded directory: scanned by default, skipped with --force-exclude.
    assert reported_paths(run_cli(["scan", "--select", "KG2", "examples"])) == ["examples/demo.py"]
    assert reported_paths(run_cli(["scan", "--select", "KG2", "--force-exclude", "examples"])) == []


def test_cli_finds_config_from_a_subdirectory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    leaky_files(project)
    pyproject(project, 'ignore = ["KG1"]')
    monkeypatch.chdir(project / "src")
    result = run_cli(["scan", "."])
    assert result.exit_code == 0 and result.stdout == ""


def test_cli_explicit_config_file(project: Path) -> None:
    leaky_files(project)
    pyproject(project, 'ignore = ["KG1"]')
    other = write(project / "ci.toml", 'select = ["KG1"]\n')
    result = run_cli(["scan", "--color", "never", "--config", str(other), "src"])
    assert result.exit_code == 1 and reported_paths(result) == ["src/app.py"]
