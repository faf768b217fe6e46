"""Tests for keyguard.fix (`keyguard scan --fix / --diff`).

Every key is generated at run time by keyguard.fakes.FakeKeys; no key-shaped literal lives
in this file. Rule-pack examples with a `fixed` after-text run through the real scanner and
the fixer (one harness for both the expected findings and the after-text).
"""

from __future__ import annotations

import ast
import codecs
import os
import stat
import sys
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyguard import fix
from keyguard.advice import is_fixable
from keyguard.documents import read_document
from keyguard.fakes import FakeKeys, render
from keyguard.model import Confidence, Finding, Location, Secret, Severity
from keyguard.rulepack import load_ruleset

RULES = load_ruleset()

try:  # the scanner (issue 1); the codemod tests below do not need it
    from keyguard.scan import _engine, scan_bytes

    ENGINE = _engine((), frozenset(RULES.rules))
except ImportError:  # pragma: no cover - only before the scanner existed
    ENGINE = None

needs_scanner = pytest.mark.skipif(ENGINE is None, reason="keyguard.scan not available yet")


# ------------------------------------------------------------------------------------------
# helpers


def make_finding(path: str, text: str, secret: str, rule_id: str = "KG101", occurrence: int = 0) -> Finding:
    """A Finding at the `occurrence`-th place `secret` appears in `text` (1-based columns)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(secret, start + 1)
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    rule = RULES.rules[rule_id]
    loc = Location(path, line, col, line, col + len(secret), line, col)
    return Finding(
        rule_id=rule_id, provider=rule.provider, kind=rule.kind, title=rule.title,
        severity=rule.severity, confidence=Confidence.HIGH, location=loc, secret=Secret(secret),
        message="", env_var=rule.env_var,
    )


def findings_for(path: str, text: str, secrets: list[tuple[str, str]]) -> list[Finding]:
    out = []
    for secret, rule_id in secrets:
        for i in range(text.count(secret)):
            out.append(make_finding(path, text, secret, rule_id, i))
    return out


def plan_text(path: str, text: str, secrets: list[tuple[str, str]], data: bytes | None = None) -> fix.FixPlan:
    raw = data if data is not None else text.encode("utf-8")
    doc = read_document(path, raw)
    return fix.plan_fixes(doc, findings_for(path, doc.raw_text, secrets), data=raw)


def scan_and_plan(path: str, data: bytes) -> tuple[list[Finding], fix.FixPlan]:
    result = scan_bytes(path, data, ENGINE, keep_document=True)
    if result.document is None:  # stopped by the keyword prefilter: nothing to fix
        assert result.findings == []
        return [], fix.FixPlan(path=path, kind="python")
    return result.findings, fix.plan_fixes(result.document, result.findings, data=data)


@pytest.fixture
def keys() -> FakeKeys:
    return FakeKeys("test_fix")


# ------------------------------------------------------------------------------------------
# before/after pairs from the rule packs (scanner + fixer)

FIX_EXAMPLES = [e for e in RULES.examples if e.fixed is not None]


@needs_scanner
@pytest.mark.parametrize("example", FIX_EXAMPLES, ids=[f"{e.pack}:{e.name}" for e in FIX_EXAMPLES])
@pytest.mark.parametrize("seed", [0, 1])
def test_rule_pack_fix_examples(example, seed):
    code, values = render(example.code, FakeKeys(f"{example.name}:{seed}"))
    data = code.encode()
    findings, plan = scan_and_plan(example.file, data)
    assert sorted((f.rule_id, f.location.line) for f in findings) == sorted(example.expect)
    assert plan.unfixable == []
    assert plan.new is not None
    assert plan.new.decode() == example.fixed
    for value in values:
        assert value not in example.fixed
    # idempotent, and nothing fixable is left for the scanner
    again, plan2 = scan_and_plan(example.file, plan.new)
    assert [f for f in again if RULES.rules[f.rule_id].is_secret] == []
    assert plan2.new is None


def test_every_python_call_site_example_has_an_after_text():
    """Every pack example that reports a credential in a Python file carries `fixed`."""
    missing = [
        f"{e.pack}:{e.name}" for e in RULES.examples
        if e.file.endswith(".py") and e.fixed is None
        and any(is_fixable(RULES.rules[rid]) for rid, _ in e.expect)
    ]
    assert missing == []


# ------------------------------------------------------------------------------------------
# call-site shapes with hand-made findings (codemod only)


def test_keyword_positional_and_import_added(keys):
    k = keys.ionq_key()
    text = f'import cirq_ionq\nservice = cirq_ionq.Service("https://api.ionq.co", "{k}")\n'
    plan = plan_text("a.py", text, [(k, "KG101")])
    # `import os` opens the standard-library section, before the third-party imports (isort).
    assert plan.new.decode() == (
        'import os\n\nimport cirq_ionq\nservice = cirq_ionq.Service("https://api.ionq.co", os.environ["IONQ_API_KEY"])\n'
    )
    assert plan.env_vars == {"IONQ_API_KEY": "ionq"}
    assert [f.rule_id for f in plan.fixed] == ["KG101"]


def test_existing_import_os_is_reused_and_quote_style_kept(keys):
    k = keys.ibm_key()
    text = f"import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\ns = QiskitRuntimeService(token='{k}')\n"
    plan = plan_text("a.py", text, [(k, "KG201")])
    assert plan.new.decode() == text.replace(f"'{k}'", "os.environ['QISKIT_IBM_TOKEN']")


def test_os_bound_to_something_else_gets_an_alias(keys):
    k = keys.ionq_key()
    text = f'from qiskit_ionq import IonQProvider\nos = "linux"\np = IonQProvider("{k}")\n'
    plan = plan_text("a.py", text, [(k, "KG101")])
    out = plan.new.decode()
    assert "import os as _os\n" in out and 'IonQProvider(_os.environ["IONQ_API_KEY"])' in out
    assert 'os = "linux"' in out


def test_from_os_import_is_not_mistaken_for_the_module(keys):
    k = keys.ionq_key()
    text = f'from os import path\nfrom qiskit_ionq import IonQProvider\np = IonQProvider("{k}")\n'
    out = plan_text("a.py", text, [(k, "KG101")]).new.decode()
    assert out.startswith("import os\nfrom os import path\n") and 'IonQProvider(os.environ["IONQ_API_KEY"])' in out


def test_constant_rewritten_once_use_site_finding_counts_as_fixed(keys):
    k = keys.ibm_key()
    text = f'from qiskit_ibm_runtime import QiskitRuntimeService\nTOKEN = "{k}"\ns = QiskitRuntimeService(token=TOKEN)\n'
    doc = read_document("a.py", text.encode())
    at_literal = make_finding("a.py", text, k, "KG201")
    use = text.index("TOKEN)")
    loc = Location("a.py", 3, use - text.rfind("\n", 0, use), 3, use - text.rfind("\n", 0, use) + 5, 3, 1)
    at_use = Finding("KG201", "ibm-cloud", "ibm-cloud-api-key", "t", Severity.CRITICAL,
                     Confidence.HIGH, loc, Secret(k), "")
    plan = fix.plan_fixes(doc, [at_literal, at_use], data=text.encode())
    assert plan.new.decode().count("os.environ") == 1
    assert len(plan.fixed) == 2 and plan.unfixable == []


def test_two_different_keys_get_two_variables(keys):
    k1, k2 = keys.ionq_key(), keys.ionq_key()
    text = f'from qiskit_ionq import IonQProvider\ndev = IonQProvider("{k1}")\nprod = IonQProvider("{k2}")\n'
    out = plan_text("a.py", text, [(k1, "KG101"), (k2, "KG101")]).new.decode()
    assert 'IonQProvider(os.environ["IONQ_API_KEY"])' in out
    assert 'IonQProvider(os.environ["IONQ_API_KEY_2"])' in out


def test_header_string_and_raw_and_braces(keys):
    k = keys.ionq_key()
    text = f'h = {{"Authorization": "apiKey {k}", "X": r"{{a}} {k}"}}\n'
    out = plan_text("a.py", text, [(k, "KG101")]).new.decode()
    assert "f\"apiKey {os.environ['IONQ_API_KEY']}\"" in out
    assert "rf\"{{a}} {os.environ['IONQ_API_KEY']}\"" in out
    assert k not in out
    ast.parse(out, feature_version=(3, 10))


def test_key_inside_existing_fstring_literal_part(keys):
    k = keys.ionq_key()
    text = f"u = 'x'\nh = f'{{u}}: apiKey {k}'\n"
    out = plan_text("a.py", text, [(k, "KG101")]).new.decode()
    assert 'h = f\'{u}: apiKey {os.environ["IONQ_API_KEY"]}\'' in out


def test_implicit_concatenation_with_whole_part(keys):
    k = keys.ionq_key()
    text = f'h = "apiKey " "{k}"\n'
    out = plan_text("a.py", text, [(k, "KG101")]).new.decode()
    assert out == 'import os\n\nh = "apiKey " f"{os.environ[\'IONQ_API_KEY\']}"\n'


def test_env_writes_removed_comments_kept(keys):
    k, b = keys.ionq_key(), keys.ibm_key()
    text = (
        "import os\n\n# configure\nos.environ['IONQ_API_KEY'] = '" + k + "'\n"
        "os.environ.setdefault('QISKIT_IBM_TOKEN', '" + b + "')\n"
        "if True:\n    os.putenv('X', '" + k + "')\nprint(1)\n"
    )
    plan = plan_text("a.py", text, [(k, "KG101"), (b, "KG201")])
    out = plan.new.decode()
    assert out == "import os\n\n# configure\nif True:\n    pass\nprint(1)\n"
    assert set(plan.env_vars) == {"IONQ_API_KEY", "QISKIT_IBM_TOKEN"}
    ast.parse(out)


def test_getenv_default_dropped(keys):
    k = keys.ionq_key()
    text = f'import os\nkey = os.environ.get("MY_IONQ", "{k}")\n'
    plan = plan_text("a.py", text, [(k, "KG101")])
    assert plan.new.decode() == 'import os\nkey = os.environ.get("MY_IONQ")\n'
    assert plan.env_vars == {"MY_IONQ": "ionq"}


# ------------------------------------------------------------------------------------------
# not fixable


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("x = 1  # old key {k}\n", "comment"),
        ('def f():\n    """Key: {k}"""\n', "docstring"),
        ('b = b"{k}"\n', "bytes"),
    ],
)
def test_not_fixable_in_python(keys, template, reason):
    k = keys.ionq_key()
    text = template.format(k=k)
    plan = plan_text("a.py", text, [(k, "KG101")])
    assert plan.new is None and plan.fixed == []
    assert [u.reason for u in plan.unfixable] == [reason]
    assert "revoke" in plan.unfixable[0].instruction


def test_key_split_over_concatenated_parts_is_not_fixable(keys):
    k = keys.ionq_key()
    text = f'key = "{k[:16]}" "{k[16:]}"\n'
    start = text.index('"') + 1
    loc = Location("a.py", 1, start + 1, 1, len(text) - 1, 1, start + 1)
    f = Finding("KG101", "ionq", "ionq-api-key", "t", Severity.HIGH, Confidence.HIGH, loc, Secret(k), "")
    plan = fix.plan_fixes(read_document("a.py", text.encode()), [f], data=text.encode())
    assert plan.new is None and [u.reason for u in plan.unfixable] == ["split-string"]


def test_key_partly_in_fstring_expression_is_not_fixable(keys):
    k = keys.ionq_key()
    text = f'head = "{k[:8]}"\nkey = f"{{head}}{k[8:]}"\n'
    col = text.splitlines()[1].index("{") + 1
    loc = Location("a.py", 2, col, 2, col + 30, 2, col)
    f = Finding("KG101", "ionq", "ionq-api-key", "t", Severity.HIGH, Confidence.HIGH, loc, Secret(k), "")
    plan = fix.plan_fixes(read_document("a.py", text.encode()), [f], data=text.encode())
    assert plan.new is None and [u.reason for u in plan.unfixable] == ["partial-fstring"]


def test_dotenv_and_json_are_reported_with_instructions(keys):
    k = keys.ionq_key()
    text = f"IONQ_API_KEY={k}\n"
    plan = plan_text(".env", text, [(k, "KG101")])
    assert plan.new is None and plan.unfixable[0].reason == "dotenv"
    assert ".gitignore" in plan.unfixable[0].instruction
    assert "git rm --cached .env" in plan.unfixable[0].instruction
    text = f'{{"api_key": "{k}"}}\n'
    plan = plan_text("config.json", text, [(k, "KG101")])
    assert plan.unfixable[0].reason == "config-file" and "IONQ_API_KEY" in plan.unfixable[0].instruction


def test_syntax_error_leaves_file_untouched(tmp_path, keys):
    k = keys.ionq_key()
    path = tmp_path / "broken.py"
    text = f'from qiskit_ionq import IonQProvider\np = IonQProvider("{k}"\n'
    path.write_text(text)
    doc = read_document(str(path), path.read_bytes())
    plan = fix.plan_fixes(doc, [make_finding(str(path), text, k)])
    assert plan.new is None and not fix.apply(plan)
    assert [u.reason for u in plan.unfixable] == ["syntax-error"]
    assert "syntax error at line" in plan.unfixable[0].instruction
    assert path.read_text() == text


# ------------------------------------------------------------------------------------------
# byte preservation


def _expected(text: str, k: str, import_before: str | None, replacement: str = 'os.environ["IONQ_API_KEY"]',
              newline: str = "\n") -> str:
    # `import os` opens the standard-library section above the third-party import.
    out = text.replace(f'"{k}"', replacement)
    if import_before is not None:
        out = out.replace(import_before, "import os" + newline + newline + import_before, 1)
    return out


def test_crlf_comments_and_formatting_preserved(keys):
    k = keys.ionq_key()
    text = (
        "#!/usr/bin/env python\r\n# leading comment\r\nimport cirq_ionq  # why\r\n\r\n"
        f"svc  =  cirq_ionq.Service( api_key = \"{k}\" ,  # keep\r\n    default_target='x')\r\n"
    )
    plan = plan_text("a.py", text, [(k, "KG101")])
    assert plan.new.decode() == _expected(text, k, "import cirq_ionq  # why\r\n", newline="\r\n")


def test_bom_preserved(keys):
    k = keys.ionq_key()
    text = f'import cirq_ionq\ns = cirq_ionq.Service(api_key="{k}")\n'
    data = codecs.BOM_UTF8 + text.encode()
    plan = plan_text("a.py", text, [(k, "KG101")], data=data)
    assert plan.new == codecs.BOM_UTF8 + _expected(text, k, "import cirq_ionq\n").encode()


def test_coding_cookie_and_latin1_bytes_preserved(keys):
    k = keys.ionq_key()
    text = f'# -*- coding: latin-1 -*-\nimport cirq_ionq\nname = "Müller"\ns = cirq_ionq.Service(api_key="{k}")\n'
    data = text.encode("latin-1")
    plan = plan_text("a.py", text, [(k, "KG101")], data=data)
    assert plan.new == _expected(text, k, "import cirq_ionq\n").encode("latin-1")


def test_no_trailing_newline_preserved(keys):
    k = keys.ionq_key()
    text = f'import cirq_ionq\ns = cirq_ionq.Service(api_key="{k}")'
    plan = plan_text("a.py", text, [(k, "KG101")])
    assert plan.new.decode() == _expected(text, k, "import cirq_ionq\n")
    assert not plan.new.endswith(b"\n")


def test_docstring_and_future_imports_come_first(keys):
    k = keys.ionq_key()
    text = f'"""Mod."""\nfrom __future__ import annotations\n\nx = ("{k}")\n'
    out = plan_text("a.py", text, [(k, "KG101")]).new.decode()
    assert out == '"""Mod."""\nfrom __future__ import annotations\n\nimport os\n\nx = (os.environ["IONQ_API_KEY"])\n'


def test_second_fix_is_a_no_op(keys):
    k = keys.ibm_key()
    text = f'import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\ns = QiskitRuntimeService(token="{k}")\n'
    first = plan_text("a.py", text, [(k, "KG201")])
    fixed_text = first.new.decode()
    assert k not in fixed_text
    second = plan_text("a.py", fixed_text, [(k, "KG201")])  # nothing to locate any more
    assert second.new is None


# ------------------------------------------------------------------------------------------
# writing


def _plan_file(path: Path, k: str) -> fix.FixPlan:
    data = path.read_bytes()
    doc = read_document(str(path), data)
    return fix.plan_fixes(doc, findings_for(str(path), doc.raw_text, [(k, "KG101")]))


def test_apply_is_atomic_and_keeps_mode(tmp_path, keys):
    k = keys.ionq_key()
    path = tmp_path / "svc.py"
    path.write_text(f'import cirq_ionq\ns = cirq_ionq.Service(api_key="{k}")\n')
    path.chmod(0o640)
    plan = _plan_file(path, k)
    assert fix.apply(plan) is True
    assert k not in path.read_text() and "os.environ" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["svc.py"]  # no temporary file left
    assert fix.apply(_plan_file(path, k)) is False  # second run: nothing to write


def test_unchanged_file_is_not_written(tmp_path, keys):
    k = keys.ionq_key()
    path = tmp_path / "c.py"
    path.write_text(f"# {k}\n")
    before = path.stat().st_mtime_ns
    plan = _plan_file(path, k)
    assert not plan.changed and fix.apply(plan) is False
    assert path.stat().st_mtime_ns == before


def test_file_changed_on_disk_is_not_overwritten(tmp_path, keys):
    k = keys.ionq_key()
    path = tmp_path / "svc.py"
    path.write_text(f'import cirq_ionq\ns = cirq_ionq.Service(api_key="{k}")\n')
    plan = _plan_file(path, k)
    path.write_text("# edited meanwhile\n")
    with pytest.raises(fix.FileChangedError):
        fix.apply(plan)
    assert path.read_text() == "# edited meanwhile\n"
    assert [p.name for p in tmp_path.iterdir()] == ["svc.py"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_symlink_target_is_rewritten_link_kept(tmp_path, keys):
    k = keys.ionq_key()
    real = tmp_path / "real.py"
    real.write_text(f'import cirq_ionq\ns = cirq_ionq.Service(api_key="{k}")\n')
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert fix.apply(_plan_file(link, k))
    assert link.is_symlink() and k not in real.read_text()


def test_diff_is_redacted_and_writes_nothing(tmp_path, keys):
    k = keys.ionq_key()
    path = tmp_path / "svc.py"
    original = f'import cirq_ionq\ns = cirq_ionq.Service(api_key="{k}")'
    path.write_text(original)
    plan = _plan_file(path, k)
    diff = fix.unified_diff(plan)
    assert diff.startswith(f"--- a/{path}\n+++ b/{path}\n")
    assert k not in diff and f"{k[:4]}…(32 chars)" in diff
    assert "\\ No newline at end of file" in diff
    assert k in fix.unified_diff(plan, show_secrets=True)
    assert path.read_text() == original


def test_summary_says_revoke_where_and_which_variables(keys):
    k = keys.ionq_key()
    plan = plan_text("a.py", f'import cirq_ionq\ns = cirq_ionq.Service(api_key="{k}")\n', [(k, "KG101")])
    text = fix.summarize([plan])
    assert "must be revoked" in text and RULES.providers["ionq"].revoke in text
    assert "IONQ_API_KEY" in text and k not in text


# ------------------------------------------------------------------------------------------
# notebooks


def _notebook(keys: FakeKeys, minor: int = 5) -> tuple[str, dict[str, str]]:
    ionq, ibm = keys.ionq_key(), keys.ibm_key()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["custom"] = {"keep": True}
    env = nbformat.v4.new_code_cell(f"%env QISKIT_IBM_TOKEN={ibm}")
    env.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"env: QISKIT_IBM_TOKEN={ibm}\n")]
    code = nbformat.v4.new_code_cell(
        "%matplotlib inline\n!pip install qiskit-ionq\nfrom qiskit_ionq import IonQProvider\n"
        f'provider = IonQProvider(token="{ionq}")\nif True:\n    %time provider.backends()\nprovider'
    )
    code.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "<IonQProvider>"}, execution_count=2),
        nbformat.v4.new_output("stream", name="stdout", text="unrelated\n"),
    ]
    code.metadata["tags"] = ["setup"]
    md = nbformat.v4.new_markdown_cell(f"Use the key `{ionq}` for the workshop, `ionq`.")
    nb.cells = [env, code, md]
    nb.nbformat_minor = minor
    if minor < 5:
        for cell in nb.cells:
            cell.pop("id", None)
    return nbformat.writes(nb) + "\n", {"ionq": ionq, "ibm": ibm}


@needs_scanner
@pytest.mark.parametrize("minor", [5, 4])
def test_notebook_fix(tmp_path, keys, minor):
    text, _ = _notebook(keys, minor)
    path = tmp_path / "lab.ipynb"
    path.write_text(text)
    _, plan = scan_and_plan(str(path), path.read_bytes())
    assert fix.apply(plan)
    new = nbformat.reads(path.read_text(), as_version=nbformat.NO_CONVERT)
    nbformat.validate(new)
    old = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    assert (new.nbformat, new.nbformat_minor) == (old.nbformat, old.nbformat_minor)
    assert new.metadata == old.metadata
    assert [c.get("id") for c in new.cells] == [c.get("id") for c in old.cells]
    env, code, md = new.cells
    assert env.source.startswith("# keyguard: QISKIT_IBM_TOKEN was set here") and env.outputs == []
    assert code.source.splitlines()[:2] == ["%matplotlib inline", "!pip install qiskit-ionq"]
    assert "    %time provider.backends()" in code.source.splitlines()
    assert 'IonQProvider(token=os.environ["IONQ_API_KEY"])' in code.source
    assert "import os" in code.source
    assert code.outputs == old.cells[1].outputs  # no secret in them: kept
    assert code.metadata == old.cells[1].metadata
    assert md.source == old.cells[2].source  # markdown is not fixable
    assert [u.reason for u in plan.unfixable if RULES.rules[u.finding.rule_id].is_secret] == ["markdown"]
    assert path.read_text().endswith("}\n")
    # only the markdown key remains, and a second fix changes nothing
    again, plan2 = scan_and_plan(str(path), path.read_bytes())
    assert {f.location.cell for f in again if RULES.rules[f.rule_id].is_secret} == {2}
    assert plan2.new is None


@needs_scanner
def test_notebook_output_with_secret_is_cleared(tmp_path, keys):
    k = keys.ibm_key()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('from qiskit_ibm_runtime import QiskitRuntimeService\nprint(QiskitRuntimeService(name="lab").active_account())')
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{{'channel': 'ibm_cloud', 'token': '{k}'}}\n")]
    nb.cells = [cell]
    path = tmp_path / "out.ipynb"
    path.write_text(nbformat.writes(nb))
    _, plan = scan_and_plan(str(path), path.read_bytes())
    assert plan.fixed and not [u for u in plan.unfixable if RULES.rules[u.finding.rule_id].is_secret]
    assert fix.apply(plan)
    new = nbformat.reads(path.read_text(), as_version=4)
    assert new.cells[0].outputs == [] and new.cells[0].source == cell.source
    assert k not in path.read_text()


# ------------------------------------------------------------------------------------------
# hypothesis: generated programs through every supported call-site shape

SHAPES = [
    'from qiskit_ionq import IonQProvider\n{v} = IonQProvider({lit})\n',
    'import cirq_ionq as {a}\n{v} = {a}.Service("https://api.ionq.co/v0.4", {lit})\n',
    'import cirq_ionq\n{v} = cirq_ionq.Service(api_key={lit}, default_target="simulator")\n',
    '{v} = {lit}\n\n\ndef use():\n    return {v}\n',
    'class C:\n    {v} = {lit}\n',
    'def f({v}={lit}, *, other=1):\n    return {v}\n',
    'def f(*, {v}: str = {lit}):\n    return {v}\n',
    '{v} = {{"Authorization": {hdr}}}\n',
    '{v} = {{"grant_type": "x", "apikey": {lit}}}\n',
    '{v} = dict(token={lit})\n',
    'import os\nos.environ["{env}"] = {lit}\n',
    'import os\nos.environ.setdefault("{env}", {lit})\n',
    'import os\n{v} = os.getenv("{env}", {lit})\n',
    '{v} = ["x", {lit}]\n',
    '{v} = lambda k={lit}: k\n',
]

names = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
    lambda s: s not in {"os", "if", "in", "is", "or", "as", "def", "for", "and", "not", "del",
                        "try", "class", "with", "pass", "else", "elif", "from", "while", "yield",
                        "break", "raise", "global", "lambda", "import", "return", "assert",
                        "except", "finally", "continue", "nonlocal", "async", "await", "match",
                        "case", "type", "f", "k", "use", "other", "dict", "cirq_ionq"}
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.sampled_from(SHAPES),
    seed=st.integers(0, 10**6),
    var=names,
    alias=names,
    quote=st.sampled_from(['"', "'"]),
    crlf=st.booleans(),
    trailing_newline=st.booleans(),
    header=st.sampled_from(["", "# c\n", '"""Doc."""\n', "from __future__ import annotations\n",
                            "import sys\n", "import os as oo\n"]),
    kind=st.sampled_from(["ionq_key", "ibm_key"]),
)
def test_property_fix_reparses_removes_key_and_is_idempotent(
    shape, seed, var, alias, quote, crlf, trailing_newline, header, kind
):
    key = FakeKeys(seed).make(kind)
    rule = "KG101" if kind == "ionq_key" else "KG201"
    lit = f"{quote}{key}{quote}"
    hdr = f"{quote}apiKey {key}{quote}"
    code = header + shape.format(v=var, a=alias if alias != var else alias + "_m", lit=lit, hdr=hdr,
                                 env="IONQ_API_KEY")
    if not trailing_newline:
        code = code.rstrip("\n")
    if crlf:
        code = code.replace("\n", "\r\n")
    ast.parse(code)
    plan = plan_text("gen.py", code, [(key, rule)])
    assert plan.unfixable == [], plan.unfixable
    out = plan.new.decode()
    ast.parse(out, feature_version=(3, 10))
    assert key not in out
    assert out.endswith("\n") == code.endswith("\n")
    if "\r\n" in code:
        assert "\n" not in out.replace("\r\n", "")
    # byte preservation: every line of the input without the key is still there, in order
    kept = [line for line in code.splitlines() if key not in line]
    it = iter(out.splitlines())
    assert all(any(line == o for o in it) for line in kept)
    # idempotent: no key left to find, nothing to change
    assert plan_text("gen.py", out, [(key, rule)]).new is None


def test_scan_path_does_not_import_libcst():
    code = "import sys, keyguard.scan, keyguard.fix; print('libcst' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------------
# CLI: keyguard scan --diff / --fix


def _cli(*args: str):
    from click.testing import CliRunner

    from keyguard.cli import cli

    return CliRunner().invoke(cli, ["scan", *args], catch_exceptions=False)


def _project(tmp_path: Path, keys: FakeKeys) -> tuple[Path, Path, str, str]:
    k, b = keys.ionq_key(), keys.ibm_key()
    code = tmp_path / "run.py"
    code.write_text(f'import cirq_ionq\nservice = cirq_ionq.Service(api_key="{k}")\n')
    env = tmp_path / ".env"
    env.write_text(f"QISKIT_IBM_TOKEN={b}\n")
    return code, env, k, b


def test_cli_diff_writes_nothing(tmp_path, keys):
    code, _, k, _ = _project(tmp_path, keys)
    before = code.read_bytes()
    result = _cli("--diff", str(tmp_path))
    assert result.exit_code == 1
    assert f"+++ b/{code}" in result.stdout and 'os.environ["IONQ_API_KEY"]' in result.stdout
    assert k not in result.output
    assert code.read_bytes() == before


def test_cli_fix_exits_1_when_it_changed_a_file_and_reports_the_rest(tmp_path, keys):
    code, env, k, b = _project(tmp_path, keys)
    result = _cli("--fix", str(tmp_path))
    assert result.exit_code == 1
    assert k not in code.read_text() and 'os.environ["IONQ_API_KEY"]' in code.read_text()
    ast.parse(code.read_text())
    assert env.read_text() == f"QISKIT_IBM_TOKEN={b}\n"  # .env: never rewritten
    assert ".env" in result.stdout and "run.py" not in result.stdout  # remaining = not fixable
    assert "must be revoked" in result.stderr and "git rm --cached" in result.stderr
    assert k not in result.output and b not in result.output
    # second run: nothing to change; the .env finding still fails the run
    again = _cli("--fix", str(tmp_path))
    assert again.exit_code == 1 and "Fixed" not in again.stderr
    env.unlink()
    assert _cli("--fix", str(tmp_path)).exit_code == 0


@needs_scanner
def test_diff_does_not_redact_code_of_save_account_notices(tmp_path, keys):
    b = keys.ibm_key()
    path = tmp_path / "q.py"
    path.write_text(
        "import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
        'QiskitRuntimeService.save_account(token=os.environ["QISKIT_IBM_TOKEN"])\n'
        f'service = QiskitRuntimeService(token="{b}")\n'
    )
    _, plan = scan_and_plan(str(path), path.read_bytes())
    diff = fix.unified_diff(plan)
    assert '+service = QiskitRuntimeService(token=os.environ["QISKIT_IBM_TOKEN"])' in diff
    assert b not in diff


@needs_scanner
def test_non_python_kernel_cells_are_not_rewritten(tmp_path, keys):
    k = keys.ionq_key()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb.cells = [nbformat.v4.new_code_cell(f'ionq_api_key = "{k}"\nprint("ionq")')]
    path = tmp_path / "r.ipynb"
    path.write_text(nbformat.writes(nb))
    findings, plan = scan_and_plan(str(path), path.read_bytes())
    if not findings:
        pytest.skip("the scanner does not report this R cell")
    assert plan.new is None and plan.fixed == []
    assert all("kernel" in u.instruction for u in plan.unfixable)


def test_getenv_default_with_a_variable_name(keys):
    # os.getenv(NAME, "<key>") where NAME is a variable: the default goes, no crash.
    key = keys.ionq_key()
    text = f'import os\nimport cirq_ionq\nNAME = "IONQ_API_KEY"\nservice = cirq_ionq.Service(api_key=os.getenv(NAME, "{key}"))\n'
    findings, plan = scan_and_plan("app.py", text.encode())
    assert findings
    assert plan.new is not None and key.encode() not in plan.new
    ast.parse(plan.new)


def test_nbformat3_notebook_is_left_untouched_with_an_instruction(tmp_path, keys):
    import nbformat.v3 as v3

    key = keys.ionq_key()
    nb = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[
        v3.new_code_cell(input=f'from qiskit_ionq import IonQProvider\np = IonQProvider("{key}")'),
    ])])
    data = nbformat.writes(nb, version=3).encode()
    findings, plan = scan_and_plan("old.ipynb", data)
    assert [f.rule_id for f in findings] == ["KG101"]
    assert plan.new is None
    assert [u.reason for u in plan.unfixable] == ["old-format"]
