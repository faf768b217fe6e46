"""GitHub workflow-command annotations: format, levels, escaping, notebook raw lines."""

from __future__ import annotations

import re

from keyguard.model import Verification, VerificationState
from keyguard.report.github import escape_data, escape_property, render_github
from keyguard.rulepack.fakes import FakeKeys

from report_helpers import make_finding, notebook_with_secret, sample_findings

LINE = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<msg>.*)$")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """Split one workflow command into (command, properties, message); unescaped values."""
    match = LINE.match(line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group("props").split(","))
    return match.group(1), props, match.group("msg")


def unescape_property(value: str) -> str:
    # Mirror of the runner's unescaping (order matters: %25 last).
    for esc, ch in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(esc, ch)
    return value


def unescape_data(value: str) -> str:
    for esc, ch in (("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        value = value.replace(esc, ch)
    return value


def test_escaping_matches_actions_toolkit() -> None:
    assert escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    # Percent first: an existing escape sequence is not decoded by the runner.
    assert escape_data("%0A") == "%250A"
    for text in ("x%3Ay", "a\r\nb", "c:,%", "plain"):
        assert unescape_property(escape_property(text)) == text
        assert unescape_data(escape_data(text)) == text


def test_one_annotation_per_finding_with_levels() -> None:
    out = render_github(sample_findings())
    lines = out.splitlines()
    assert len(lines) == 4 and out.endswith("\n")
    parsed = [parse(line) for line in lines]
    by_rule = {p[1]["title"].split(" ")[0]: p for p in parsed}
    assert by_rule["KG201"][0] == "error"  # critical
    assert by_rule["KG101"][0] == "error"  # high
    assert by_rule["KG301"][0] == "error"  # medium
    assert by_rule["KG204"][0] == "notice"  # info
    _cmd, props, msg = by_rule["KG201"]
    assert props["file"] == "src/b.py"
    assert props["line"] == props["endLine"] == "7"
    assert props["col"] == "12" and int(props["endColumn"]) == 12 + 44
    assert unescape_property(props["title"]).startswith("KG201 IBM Cloud API key")
    assert "QISKIT_IBM_TOKEN" in msg
    # Sorted by path, then line.
    files = [(p[1]["file"], int(p[1]["line"])) for p in parsed]
    assert files == sorted(files)


def test_low_is_warning_and_live_is_error() -> None:
    fakes = FakeKeys(8)
    low = make_finding("KG205", fakes.ibm_key())
    live_info = make_finding("KG204", fakes.crn(), "z.py",
                             verification=Verification(VerificationState.VERIFIED, "ok"))
    cmds = {parse(line)[1]["file"]: parse(line)[0] for line in
            render_github([low, live_info]).splitlines()}
    assert cmds == {"src/app.py": "warning", "z.py": "error"}
    assert "verification: verified" in render_github([live_info])


def test_properties_and_message_are_escaped() -> None:
    key = FakeKeys(9).ionq_key()
    finding = make_finding(
        "KG101", key, "odd,dir/a:b%c.py", 2, 3,
        message="first line\nsecond, with: colon 100%",
    )
    (line,) = render_github([finding]).splitlines()
    _cmd, props, msg = parse(line)
    assert unescape_property(props["file"]) == "odd,dir/a:b%c.py"
    assert props["file"] == "odd%2Cdir/a%3Ab%25c.py"
    # Control characters are escaped visibly before the toolkit escaping (every format does
    # it, so a crafted name cannot move the cursor); `%` still follows the toolkit rule.
    assert msg == "first line\\nsecond, with: colon 100%25"
    assert unescape_data(msg) == "first line\\nsecond, with: colon 100%"
    assert escape_data("a\r\nb%") == "a%0D%0Ab%25"


def test_notebook_annotation_uses_raw_line(tmp_path) -> None:
    key = FakeKeys(10).ibm_key()
    text, raw_line, raw_col, cell_col = notebook_with_secret(key, cell_index=1)
    (tmp_path / "nb.ipynb").write_text(text, encoding="utf-8")
    finding = make_finding("KG201", key, "nb.ipynb", cell=1, cell_line=2, column=cell_col,
                           raw_line=raw_line, raw_column=raw_col)
    (line,) = render_github([finding], cwd=str(tmp_path)).splitlines()
    _, props, msg = parse(line)
    assert props["file"] == "nb.ipynb"
    assert props["line"] == props["endLine"] == str(raw_line)
    raw = text.splitlines()[raw_line - 1]
    assert raw[int(props["col"]) - 1: int(props["endColumn"]) - 1] == key
    assert msg.startswith("nb.ipynb%3Acell") is False  # message is data: ':' not escaped
    assert msg.startswith("nb.ipynb:cell 2:2:")
    assert key not in line


def test_empty() -> None:
    assert render_github([]) == ""
