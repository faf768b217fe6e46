"""The README's promises about installing keyguard: two set-up commands that CI runs, no
install by an unclaimed package name, no tag that does not exist, one repository URL."""

from __future__ import annotations

import re
from pathlib import Path

import rtoml

import keyguard
from keyguard.report.sarif import INFORMATION_URI

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    section = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, re.DOTALL)


def test_exactly_two_setup_commands_in_a_virtual_environment() -> None:
    install, tests = setup_commands()
    for command in (install, tests):
        assert "\n" not in command  # one line each, copy-pasteable
        assert command.startswith("python3 -m venv .venv && .venv/bin/python -m pip install ")
    assert install.endswith(".venv/bin/keyguard scan examples/")
    assert tests.endswith(".venv/bin/python -m pytest")
    assert (ROOT / "examples").is_dir()


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = setup_commands()
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in script.splitlines()


def test_no_install_by_the_unclaimed_package_name() -> None:
    by_name = re.compile(r"pip install\s+(?:-\S+\s+)*[\"']?keyguard(?![\w-]|\s*@)")
    assert not by_name.search(README), by_name.search(README)
    assert "pypi.org/project/keyguard" not in README + INFORMATION_URI


def test_no_nonexistent_release_tag_is_pinned() -> None:
    # No release is published: pins are COMMIT_SHA placeholders, never a made-up tag.
    assert not re.search(r"keyguard@v\d", README)
    assert not re.search(r"rev:\s*v\d", README)


def test_one_repository_url_everywhere() -> None:
    pyproject = rtoml.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["urls"]["Repository"] == keyguard.REPOSITORY_URL
    assert INFORMATION_URI == keyguard.REPOSITORY_URL
    urls = set(re.findall(r"https://github\.com/[\w.-]+/keyguard\b", README))
    assert urls == {keyguard.REPOSITORY_URL}


def test_releasing_section_builds_checks_and_tags() -> None:
    section = README.split("## Releasing", 1)[1].split("\n## ", 1)[0]
    for step in ("-m build", "twine check", "git tag -a", "git push origin"):
        assert step in section
