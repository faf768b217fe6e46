"""Inline ignores: `# keyguard: ignore[...]`, detect-secrets pragmas, the notebook cell tag."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner, Result

from keyguard.cli import cli
from keyguard.filter.ignores import parse_directives, segment_for, split_ignored, statement_starts
from keyguard.model import Confidence, Finding, Location, Secret, Severity
from keyguard.read.documents import Document, Segment, read_document
from keyguard.rulepack.fakes import FakeKeys


def finding_at(
    path: str,
    line: int,
    rule_id: str = "KG201",
    secret: str | None = None,
    *,
    cell: int | None = None,
    part: str | None = None,
    output_index: int | None = None,
) -> Finding:
    """A finding as a detector would make it (only what the ignore logic reads matters)."""
    value = secret or FakeKeys(line).ibm_key()
    loc = Location(path, line, 1, line, 1 + len(value), line, 1, cell, part, output_index)
    return Finding(rule_id, "ibm-cloud", "api key", "IBM Cloud API key", Severity.CRITICAL,
                   Confidence.HIGH, loc, Secret(value), "move it to an environment variable")


def python_doc(source: str, path: str = "app.py") -> Document:
    return read_document(path, source.encode())


KEY = FakeKeys(7).ibm_key()


# ---------------------------------------------------------------------------- directives


@pytest.mark.parametrize(
    ("comment", "kind", "codes"),
    [
        ("# keyguard: ignore", "ignore", None),
        ("#keyguard:ignore", "ignore", None),
        ("# KEYGUARD: IGNORE", "ignore", None),
        ("# keyguard: ignore[KG101,KG201]", "ignore", ("KG101", "KG201")),
        ("# keyguard: ignore[kg2, KG101]", "ignore", ("KG2", "KG101")),
        ("// keyguard: ignore[KG1]", "ignore", ("KG1",)),
        ("<!-- keyguard: ignore -->", "ignore", None),
        ("; keyguard: ignore", "ignore", None),
        ("# pragma: allowlist secret", "pragma", None),
        ("# pragma: whitelist secret", "pragma", None),
        ("# pragma: allowlist nextline secret", "nextline", None),
    ],
)
def test_parse_directives(comment: str, kind: str, codes: tuple[str, ...] | None) -> None:
    (directive,) = parse_directives(comment)
    assert directive.kind == kind
    assert directive.codes == codes


@pytest.mark.parametrize(
    "comment",
    ["keyguard: ignore", "# keyguard: ignored", "# keyguard: ignore-next-line", "# noqa"],
)
def test_not_directives(comment: str) -> None:
    assert parse_directives(comment) == []


def test_brackets_with_no_valid_code_ignore_nothing() -> None:
    (directive,) = parse_directives("# keyguard: ignore[E501]")
    assert directive.codes == ()
    assert not directive.covers("KG201")


# ---------------------------------------------------------------------------- Python


def test_same_line_ignore() -> None:
    doc = python_doc(f'token = "{KEY}"  # keyguard: ignore\nother = "{KEY}"\n')
    f1, f2 = finding_at("app.py", 1, secret=KEY), finding_at("app.py", 2, secret=KEY)
    kept, ignored = split_ignored(doc, [f1, f2])
    assert kept == [f2]
    assert ignored == [(f1, "# keyguard: ignore at line 1")]


def test_ignore_with_codes_only_covers_those_rules() -> None:
    doc = python_doc(f'token = "{KEY}"  # keyguard: ignore[KG101, KG20]\n')
    ibm = finding_at("app.py", 1, "KG201", KEY)
    other = finding_at("app.py", 1, "KG301", KEY)
    kept, ignored = split_ignored(doc, [ibm, other])
    assert kept == [other]
    assert ignored == [(ibm, "# keyguard: ignore[KG101,KG20] at line 1")]


def test_first_line_of_multiline_call() -> None:
    source = (
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        "service = QiskitRuntimeService(  # keyguard: ignore[KG201]\n"
        '    channel="ibm_cloud",\n'
        f'    token="{KEY}",\n'
        ")\n"
        f'again = QiskitRuntimeService(\n    token="{KEY}",\n)\n'
    )
    doc = python_doc(source)
    inside, later = finding_at("app.py", 4, secret=KEY), finding_at("app.py", 7, secret=KEY)
    kept, ignored = split_ignored(doc, [inside, later])
    assert kept == [later]
    assert ignored == [(inside, "# keyguard: ignore[KG201] at line 2")]


def test_ignore_on_compound_header_does_not_cover_its_body() -> None:
    source = f'if True:  # keyguard: ignore\n    token = "{KEY}"\n'
    doc = python_doc(source)
    f = finding_at("app.py", 2, secret=KEY)
    assert split_ignored(doc, [f]) == ([f], [])


def test_decorator_is_part_of_the_header() -> None:
    source = (
        "@register(  # keyguard: ignore\n"
        f'    key="{KEY}")\n'
        "def f():\n"
        "    pass\n"
    )
    f = finding_at("app.py", 2, secret=KEY)
    _, ignored = split_ignored(python_doc(source), [f])
    assert ignored == [(f, "# keyguard: ignore at line 1")]


def test_marker_inside_a_string_is_not_a_comment() -> None:
    doc = python_doc(f'token = "{KEY}"; doc = "# keyguard: ignore"\n')
    f = finding_at("app.py", 1, secret=KEY)
    assert split_ignored(doc, [f]) == ([f], [])


def test_unparsable_python_falls_back_to_the_line() -> None:
    doc = python_doc(f'print "hello"\ntoken = "{KEY}"  # keyguard: ignore\n')
    f = finding_at("app.py", 2, secret=KEY)
    assert split_ignored(doc, [f])[1] == [(f, "# keyguard: ignore at line 2")]


def test_pragma_allowlist_secret_same_line_and_nextline() -> None:
    source = (
        f'a = "{KEY}"  # pragma: allowlist secret\n'
        "# pragma: allowlist nextline secret\n"
        f'b = "{KEY}"\n'
        f'c = "{KEY}"\n'
        f'd = 1  # pragma: allowlist nextline secret\ne = "{KEY}"\n'
    )
    doc = python_doc(source)
    fs = [finding_at("app.py", n, secret=KEY) for n in (1, 3, 4, 6)]
    kept, ignored = split_ignored(doc, fs)
    assert kept == [fs[2], fs[3]]  # nextline must stand alone on its line (detect-secrets)
    assert [r for _, r in ignored] == [
        "# pragma: allowlist secret at line 1",
        "# pragma: allowlist nextline secret at line 2",
    ]


def test_multiline_string_takes_the_comment_after_its_closing_quotes() -> None:
    source = (
        "def f():\n"
        '    config = """\n'
        f"    token: {KEY}\n"
        '    """  # keyguard: ignore[KG2]\n'
        '    other = """\n'
        f"    token: {KEY}\n"
        '    """\n'
        "    return config, other  # keyguard: ignore\n"
    )
    inside, unrelated = finding_at("app.py", 3, secret=KEY), finding_at("app.py", 6, secret=KEY)
    kept, ignored = split_ignored(python_doc(source), [inside, unrelated])
    assert kept == [unrelated]  # a later statement's comment does not reach into the string
    assert ignored == [(inside, "# keyguard: ignore[KG2] at line 4")]


def test_statement_starts_map() -> None:
    source = "x = f(\n  1,\n  2)\nif x:\n    y = [\n      3]\n"
    assert statement_starts(source) == {2: 1, 3: 1, 6: 5}


# ---------------------------------------------------------------------------- text files


@pytest.mark.parametrize(
    ("name", "template", "line", "reason"),
    [
        (".env", "A=1\nIBM_CLOUD_API_KEY={key} # keyguard: ignore\n", 2,
         "# keyguard: ignore at line 2"),
        ("config.yaml", "ibm:\n  apikey: {key}  # keyguard: ignore[KG201]\n", 2,
         "# keyguard: ignore[KG201] at line 2"),
        ("run.sh", "export IBM_CLOUD_API_KEY={key}  # pragma: allowlist secret\n", 1,
         "# pragma: allowlist secret at line 1"),
        ("settings.ini", "[ibm]\napikey = {key} ; keyguard: ignore\n", 2,
         "; keyguard: ignore at line 2"),
        ("README.md", "Use `{key}` <!-- keyguard: ignore -->\n", 1,
         "<!-- keyguard: ignore at line 1"),
        ("app.jsonc", '{{"apikey": "{key}"}} // keyguard: ignore\n', 1,
         "// keyguard: ignore at line 1"),
        ("config.yaml", "# pragma: allowlist nextline secret\napikey: {key}\n", 2,
         "# pragma: allowlist nextline secret at line 1"),
    ],
)
def test_text_file_comments(name: str, template: str, line: int, reason: str) -> None:
    doc = read_document(name, template.format(key=KEY).encode())
    f = finding_at(name, line, secret=KEY)
    assert split_ignored(doc, [f]) == ([], [(f, reason)])


def test_text_file_without_comment_is_kept() -> None:
    doc = read_document(".env", f"IBM_CLOUD_API_KEY={KEY}\n".encode())
    f = finding_at(".env", 1, secret=KEY)
    assert split_ignored(doc, [f]) == ([f], [])


# ---------------------------------------------------------------------------- notebooks


def notebook_doc(cells: list[nbformat.NotebookNode], path: str = "nb.ipynb") -> Document:
    nb = nbformat.v4.new_notebook(cells=cells)
    return read_document(path, nbformat.writes(nb).encode())


def test_notebook_comment_in_code_cell() -> None:
    doc = notebook_doc([
        nbformat.v4.new_markdown_cell("# Setup"),
        nbformat.v4.new_code_cell(f'%matplotlib inline\ntoken = "{KEY}"  # keyguard: ignore\n'
                                  f'other = "{KEY}"'),
    ])
    f1 = finding_at("nb.ipynb", 2, secret=KEY, cell=1, part="source")
    f2 = finding_at("nb.ipynb", 3, secret=KEY, cell=1, part="source")
    kept, ignored = split_ignored(doc, [f1, f2])
    assert kept == [f2]
    assert ignored == [(f1, "# keyguard: ignore at cell 2 line 2")]


def test_notebook_comment_on_masked_magic_line() -> None:
    doc = notebook_doc([
        nbformat.v4.new_code_cell(f"%env IBM_CLOUD_API_KEY={KEY}  # keyguard: ignore"),
    ])
    f = finding_at("nb.ipynb", 1, secret=KEY, cell=0, part="source")
    assert split_ignored(doc, [f])[1] == [(f, "# keyguard: ignore at cell 1 line 1")]


def test_notebook_cell_tag_skips_source_and_outputs() -> None:
    tagged = nbformat.v4.new_code_cell(f'token = "{KEY}"\nprint(token)',
                                       metadata={"tags": ["keyguard-ignore"]})
    tagged.outputs = [nbformat.v4.new_output("stream", name="stdout", text=KEY + "\n")]
    plain = nbformat.v4.new_code_cell(f'token = "{KEY}"')
    plain.outputs = [nbformat.v4.new_output("stream", name="stdout", text=KEY + "\n")]
    doc = notebook_doc([tagged, plain])
    src = finding_at("nb.ipynb", 1, secret=KEY, cell=0, part="source")
    out = finding_at("nb.ipynb", 1, secret=KEY, cell=0, part="output", output_index=0)
    src2 = finding_at("nb.ipynb", 1, secret=KEY, cell=1, part="source")
    out2 = finding_at("nb.ipynb", 1, secret=KEY, cell=1, part="output", output_index=0)
    kept, ignored = split_ignored(doc, [src, out, src2, out2])
    assert kept == [src2, out2]
    assert ignored == [(src, "cell tag keyguard-ignore"), (out, "cell tag keyguard-ignore")]


def test_segment_for_matches_cell_part_and_output() -> None:
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b\n"),
    ]
    doc = notebook_doc([cell])
    out = finding_at("nb.ipynb", 1, secret=KEY, cell=0, part="output", output_index=1)
    seg = segment_for(doc, out)
    assert seg is not None and seg.text.startswith("b")
    missing = finding_at("nb.ipynb", 1, secret=KEY, cell=5, part="source")
    assert segment_for(doc, missing) is None


def test_plain_segment_without_notebook_fields() -> None:
    doc = Document("x.txt", "text", "a\n", [Segment(text="a\n")])
    f = finding_at("x.txt", 1, secret=KEY)
    assert segment_for(doc, f) is doc.segments[0]


# ---------------------------------------------------------------------------- end to end (CLI)


def run_cli(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_python_text_and_notebook_ignores(project: Path) -> None:
    fakes = FakeKeys(3)
    k1, k2, k3 = fakes.ibm_key(), fakes.ibm_key(), fakes.ionq_key()
    (project / "a.py").write_text(
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        "QiskitRuntimeService(  # keyguard: ignore\n"
        '    channel="ibm_cloud",\n'
        f'    token="{k1}",\n'
        ")\n"
        f'IONQ_API_KEY = "{k3}"  # pragma: allowlist secret\n'
    )
    (project / "config.yaml").write_text(
        f"ibm:\n  IBM_CLOUD_API_KEY: {k1}  # keyguard: ignore[KG201]\n  other: {k2}\n"
    )
    (project / ".env").write_text(f"IONQ_API_KEY={k3}  # keyguard: ignore[KG1]\n")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(
            "from qiskit_ibm_runtime import QiskitRuntimeService\n"
            f'svc = QiskitRuntimeService(token="{k1}")  # keyguard: ignore'
        ),
        nbformat.v4.new_code_cell(f'IONQ_API_KEY = "{k3}"', metadata={"tags": ["keyguard-ignore"]}),
        nbformat.v4.new_code_cell(f'IONQ_API_KEY = "{k3}"'),
    ])
    nbformat.write(nb, str(project / "nb.ipynb"))

    result = run_cli(["scan", "--color", "never", "."])
    assert result.exit_code == 1
    reported = sorted(line.split(": ")[0] for line in result.stdout.splitlines())
    assert reported == ["config.yaml:3:10", "nb.ipynb:cell 3:1:17"]
    assert "6 ignored" in result.stderr and "--show-ignored" in result.stderr
    assert "ignored:" not in result.stderr

    audit = run_cli(["scan", "--color", "never", "--show-ignored", "."])
    assert audit.exit_code == 1
    assert audit.stdout == result.stdout  # the report itself does not change
    lines = [line for line in audit.stderr.splitlines() if " ignored: " in line]
    assert lines == [
        ".env:1:14: KG101 ignored: # keyguard: ignore[KG1] at line 1",
        "a.py:4:12: KG201 ignored: # keyguard: ignore at line 2",
        "a.py:6:17: KG101 ignored: # pragma: allowlist secret at line 6",
        "config.yaml:2:22: KG201 ignored: # keyguard: ignore[KG201] at line 2",
        "nb.ipynb:cell 1:2:35: KG201 ignored: # keyguard: ignore at cell 1 line 2",
        "nb.ipynb:cell 2:1:17: KG101 ignored: cell tag keyguard-ignore",
    ]
    for secret in (k1, k2, k3):
        assert secret not in audit.stderr and secret not in audit.stdout


def test_cli_show_ignored_in_json(project: Path) -> None:
    key = FakeKeys(4).ionq_key()
    (project / "a.py").write_text(f'IONQ_API_KEY = "{key}"  # keyguard: ignore\n')
    result = run_cli(["scan", "--format", "json", "--show-ignored", "a.py"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["findings"] == []
    assert data["summary"]["ignored"] == 1
    (item,) = data["summary"]["ignored_findings"]
    assert item["rule"] == "KG101" and item["reason"] == "# keyguard: ignore at line 1"
    assert key not in result.stdout


def test_cli_per_file_ignores_are_listed(project: Path) -> None:
    key = FakeKeys(5).ionq_key()
    (project / "pyproject.toml").write_text(
        '[tool.keyguard]\nper-file-ignores = {"tests/" = ["KG1"]}\n'
    )
    (project / "tests").mkdir()
    (project / "tests" / "t.py").write_text(f'IONQ_API_KEY = "{key}"\n')
    (project / "app.py").write_text(f'IONQ_API_KEY = "{key}"\n')
    result = run_cli(["scan", "--show-ignored", "."])
    assert result.exit_code == 1
    assert result.stdout.startswith("app.py:1:")
    assert "tests/t.py:1:17: KG101 ignored: per-file-ignores KG1 (pyproject.toml)" in result.stderr
