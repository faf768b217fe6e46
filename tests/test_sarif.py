"""SARIF 2.1.0 output: schema-valid, GitHub's required fields, deterministic, never a secret."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyguard.model import Verification, VerificationState
from keyguard.report.github import render_github
from keyguard.report.sarif import FINGERPRINT_KEY, artifact_uri, render_sarif
from keyguard.rulepack.fakes import FakeKeys

from report_helpers import (
    KIND_OF_RULE,
    SARIF_SCHEMA,
    load_schema,
    make_finding,
    notebook_with_secret,
    ruleset,
    sample_findings,
)

jsonschema = pytest.importorskip("jsonschema")

VERSION = "0.1.0"


@pytest.fixture(scope="module")
def validator():
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA} (the shared/ folder is absent)")
    schema = load_schema()
    return jsonschema.Draft4Validator(schema)


def sarif(findings, **kw) -> dict:
    return json.loads(render_sarif(findings, ruleset(), version=VERSION, **kw))


def test_valid_against_official_schema(validator) -> None:
    log = sarif(sample_findings())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_empty_run_is_valid_with_empty_results(validator) -> None:
    log = sarif([])
    validator.validate(log)
    run = log["runs"][0]
    assert run["results"] == []
    # Rule metadata is there even on a clean run.
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == set(ruleset().rules)


def test_github_required_fields() -> None:
    log = sarif(sample_findings())
    assert log["$schema"] and log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "keyguard"
    assert driver["version"] == driver["semanticVersion"] == VERSION
    assert driver["informationUri"].startswith("https://")
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(ids)
    for rule in driver["rules"]:
        assert rule["name"] and rule["name"][0].isupper()
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip(), (rule["id"], key)
        assert "markdown" in rule["help"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        props = rule["properties"]
        assert isinstance(props["security-severity"], str)
        assert 0.0 <= float(props["security-severity"]) <= 10.0
        assert props["tags"] == ["security", "secret"]
        assert props["precision"] in ("very-high", "high", "medium", "low")
    names = [r["name"] for r in driver["rules"]]
    assert len(set(names)) == len(names), "rule names must be unique"

    results = log["runs"][0]["results"]
    assert len(results) == 4
    for res in results:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"].strip()
        phys = res["locations"][0]["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        assert not uri.startswith("/") and "\\" not in uri
        region = phys["region"]
        for key in ("startLine", "startColumn", "endLine", "endColumn"):
            assert region[key] >= 1
        assert (region["endLine"], region["endColumn"]) > (
            region["startLine"], region["startColumn"])
        assert res["partialFingerprints"][FINGERPRINT_KEY]


def test_help_names_env_var_and_revoke_page() -> None:
    rules = {r["id"]: r for r in sarif([])["runs"][0]["tool"]["driver"]["rules"]}
    ionq = rules["KG101"]
    assert "IONQ_API_KEY" in ionq["help"]["text"] and "revoke" in ionq["help"]["text"].lower()
    assert "cloud.ionq.com" in ionq["help"]["markdown"]
    assert rules["KG201"]["properties"]["security-severity"] == "9.5"
    assert rules["KG204"]["defaultConfiguration"]["level"] == "note"
    assert rules["KG205"]["defaultConfiguration"]["level"] == "warning"


def test_levels_and_verification_properties() -> None:
    fakes = FakeKeys(3)
    live = make_finding("KG204", fakes.crn(), verification=Verification(
        VerificationState.VERIFIED, "project p"))
    dead = make_finding("KG101", fakes.ionq_key(), "x.py", verification=Verification(
        VerificationState.UNVERIFIED, "401"))
    plain = make_finding("KG301", fakes.legacy_token(), "y.py")
    by_rule = {r["ruleId"]: r for r in sarif([live, dead, plain])["runs"][0]["results"]}
    assert by_rule["KG204"]["level"] == "error"  # info, but live -> error
    assert by_rule["KG204"]["properties"]["verification"] == "verified"
    assert by_rule["KG204"]["properties"]["verification_detail"] == "project p"
    assert by_rule["KG101"]["properties"]["verification"] == "unverified"
    assert "verification" not in by_rule["KG301"]["properties"]


def test_deterministic_and_sorted() -> None:
    findings = sample_findings()
    a = render_sarif(findings, ruleset(), version=VERSION)
    b = render_sarif(list(reversed(findings)), ruleset(), version=VERSION)
    assert a == b
    results = json.loads(a)["runs"][0]["results"]
    keys = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results]
    assert keys == sorted(keys)


def test_fingerprints_content_based_per_path() -> None:
    key = FakeKeys(4).ibm_key()
    here = make_finding("KG201", key, "a.py", 3, 1)
    moved = make_finding("KG201", key, "a.py", 30, 7)
    other_file = make_finding("KG201", key, "b.py", 3, 1)
    other_key = make_finding("KG201", FakeKeys(5).ibm_key(), "a.py", 3, 1)

    def fp(f):
        return sarif([f])["runs"][0]["results"][0]["partialFingerprints"][FINGERPRINT_KEY]

    assert fp(here) == fp(moved)
    assert fp(here) != fp(other_file)
    assert fp(here) != fp(other_key)
    # The same key twice in one file: two distinct alerts.
    both = sarif([here, moved])["runs"][0]["results"]
    fps = {r["partialFingerprints"][FINGERPRINT_KEY] for r in both}
    assert len(fps) == 2


def test_uri_is_repo_relative_with_forward_slashes(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths are relative to the current directory
    (tmp_path / "sub dir").mkdir()
    target = tmp_path / "sub dir" / "nb.py"
    target.write_text("")
    assert artifact_uri(str(target), str(tmp_path)) == "sub%20dir/nb.py"
    assert artifact_uri("sub dir/nb.py", str(tmp_path)) == "sub%20dir/nb.py"
    assert artifact_uri("./sub dir/../sub dir/nb.py", str(tmp_path)) == "sub%20dir/nb.py"
    outside = artifact_uri("/etc/hosts", str(tmp_path))
    assert outside.startswith("file:///")


def test_notebook_finding_points_at_raw_json_line(tmp_path, validator) -> None:
    key = FakeKeys(6).ibm_key()
    text, raw_line, raw_col, cell_col = notebook_with_secret(key, cell_index=2)
    nb = tmp_path / "nb.ipynb"
    nb.write_text(text, encoding="utf-8")
    finding = make_finding(
        "KG201", key, str(nb), cell=2, cell_line=2, column=cell_col,
        raw_line=raw_line, raw_column=raw_col,
    )
    log = sarif([finding], cwd=str(tmp_path))
    validator.validate(log)
    res = log["runs"][0]["results"][0]
    region = res["locations"][0]["physicalLocation"]["region"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "nb.ipynb"
    assert region["startLine"] == region["endLine"] == raw_line
    # The region covers exactly the key in the raw file.
    raw = text.splitlines()[raw_line - 1]
    assert raw[region["startColumn"] - 1: region["endColumn"] - 1] == key
    assert res["properties"]["cell"] == 3 and res["properties"]["cell_line"] == 2


def test_never_a_snippet() -> None:
    text = render_sarif(sample_findings(), ruleset(), version=VERSION)
    assert '"snippet"' not in text and '"contextRegion"' not in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    rule_id=st.sampled_from(sorted(KIND_OF_RULE)),
    leaky=st.booleans(),
    notebook=st.booleans(),
    verified=st.booleans(),
)
def test_no_secret_in_any_output(seed, rule_id, leaky, notebook, verified) -> None:
    """Property: the raw key appears in no output, even when a message quotes it."""
    key = FakeKeys(seed).make(KIND_OF_RULE[rule_id])
    kw = {}
    if leaky:
        # Worst case: an upstream message, context and verification detail quote the key.
        kw["message"] = f"found {key} here"
        kw["context"] = f"token={key}"
    if verified:
        kw["verification"] = Verification(
            VerificationState.VERIFIED, f"detail {key}" if leaky else "ok")
    if notebook:
        kw.update(cell=0, cell_line=1, raw_line=20, raw_column=5)
    finding = make_finding(rule_id, key, f"dir/{key[:3]}.py", **kw)
    for out in (
        render_sarif([finding], ruleset(), version=VERSION),
        render_github([finding]),
    ):
        assert key not in out
        assert key.lower() not in out.lower()
        # What a reviewer needs to find the key to revoke is still there, redacted.
        assert finding.secret.redacted in out


# --- through the CLI, with the real scanner ------------------------------------------------

def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keyguard", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def write_leaky_notebook(path, key: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# IonQ demo"),
        nbformat.v4.new_code_cell("import cirq_ionq"),
        nbformat.v4.new_code_cell(f'x = 1\nservice = cirq_ionq.Service(api_key="{key}")'),
    ]
    nbformat.write(nb, str(path))


def test_cli_sarif_notebook_maps_to_raw_line(tmp_path, validator) -> None:
    key = FakeKeys(21).ionq_key()
    write_leaky_notebook(tmp_path / "demo.ipynb", key)
    proc = run_cli("scan", "demo.ipynb", "--format", "sarif", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert key not in proc.stdout + proc.stderr
    log = json.loads(proc.stdout)
    validator.validate(log)
    (res,) = log["runs"][0]["results"]
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "demo.ipynb"
    region = loc["region"]
    raw = (tmp_path / "demo.ipynb").read_text(encoding="utf-8").splitlines()
    line = raw[region["startLine"] - 1]
    assert line[region["startColumn"] - 1: region["endColumn"] - 1] == key
    assert res["properties"]["cell"] == 3 and res["properties"]["cell_line"] == 2


def test_cli_output_file_and_sarif_output(tmp_path, validator) -> None:
    key = FakeKeys(22).ibm_key()
    (tmp_path / "app.py").write_text(
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        f'QiskitRuntimeService(token="{key}")\n'
    )
    # --format sarif --output FILE: nothing on stdout, the file is the report.
    proc = run_cli("scan", ".", "--format", "sarif", "--output", "r.sarif", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    validator.validate(json.loads((tmp_path / "r.sarif").read_text()))
    # One run: annotations on stdout and SARIF in a (new) folder.
    proc = run_cli("scan", ".", "--format", "github", "--sarif-output", "reports/kg.sarif",
                   cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.startswith("::error file=app.py,line=2,")
    log = json.loads((tmp_path / "reports" / "kg.sarif").read_text())
    validator.validate(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["KG201"]
    # Same findings in both formats of one run (the report files are not rescanned).
    for text in (proc.stdout, proc.stderr, (tmp_path / "reports" / "kg.sarif").read_text()):
        assert key not in text
