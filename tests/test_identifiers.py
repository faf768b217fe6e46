"""Issue 8 §1 on the detection side: identifiers, placeholders in any language, fonts named
after a provider, tracked notebook checkpoints, one-colon CRNs. Each shape seen on real
repositories has a test here, with neighbours; the recall of random keys is a property."""

from __future__ import annotations

import random
import string
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyguard.config import Config
from keyguard.filter.shapes import is_plausible_literal, looks_like_identifier, looks_like_words
from keyguard.pipeline.scan import _engine, scan_bytes, scan_paths
from keyguard.rulepack.fakes import BASE62, BASE64URL, FakeKeys
from keyguard.rulepack.load import load_ruleset

RULESET = load_ruleset(())
ENGINE = _engine((), RULESET.select(None, ()))


def rules(name: str, text: str) -> list[tuple[str, int]]:
    result = scan_bytes(name, text.encode("utf-8"), ENGINE)
    return sorted((f.rule_id, f.location.line) for f in result.findings)


# --------------------------------------------------------------------------------------------
# identifiers

IDENTIFIERS = [
    "duo--ProgressIndicatorStep--bgWrapper--black",  # CSS (Carbon design system), 44 chars
    "gl_ModelViewProjectionMatrixInverseTranspose",  # GLSL built-in, 44 chars
    "Get_Seq_Rot_Unitary_Part_circuits_MEMORY_EFF",  # a scraped `def`, 44 chars
    "bx--data-table-container--sticky-header-row",
    "__init_subclass_with_metaclass_keywords__",
    "mdc-TopAppBar--short-collapsed-has-actionItem",
    "VQE_Ansatz_HardwareEfficient_linear_entangle",
]


@pytest.mark.parametrize("name", IDENTIFIERS)
def test_identifiers_joined_by_separators_are_words(name: str) -> None:
    assert looks_like_words(name)


@pytest.mark.parametrize(
    ("file", "template"),
    [
        ("grover_prob.svg", '<style>text {{ font-family: "IBM Plex Sans", sans-serif; }}\n.{n} {{ fill: #000; }}</style>\n'),
        ("index.js", 'var ibm=1;uniform mat4 {n};function qiskit(){{return "{n}"}}\n'),
        ("lib.py", "import qiskit\n\n\ndef {n}(circuit, token=None):\n    return circuit\n"),
        ("styles.css", "/* IBM Quantum theme */\n.{n}:hover {{ color: red; }}\n"),
        ("notes.md", "IBM Quantum API token: see {n}\n"),
    ],
)
@pytest.mark.parametrize("name", IDENTIFIERS[:3])
def test_identifiers_are_not_keys_wherever_they_stand(file: str, template: str, name: str) -> None:
    assert rules(file, template.format(n=name)) == []


def test_a_real_key_in_the_same_places_is_still_found() -> None:
    key = FakeKeys("ident").ibm_key()
    assert rules("styles.css", f"/* IBM Quantum theme */\n.x {{ --token: {key}; }}\n") == [("KG201", 2)]
    assert rules("notes.md", f"IBM Quantum API token: {key}\n") == [("KG201", 1)]


def test_a_font_named_after_the_provider_is_not_context() -> None:
    key = FakeKeys("plex").ibm_key()
    svg = f'<svg><style>text {{ font-family: "IBM Plex Sans"; }}</style><g id="{key}"/></svg>\n'
    assert rules("figure.svg", svg) == []
    # The company named in earnest still is.
    assert rules("figure.svg", svg.replace("<svg>", "<svg><!-- IBM Cloud api key -->")) == [("KG201", 1)]


@st.composite
def random_keys(draw) -> str:
    rng = random.Random(draw(st.integers(0, 2**64)))
    length, alphabet = draw(st.sampled_from([(44, BASE64URL), (32, BASE62)]))
    return "".join(rng.choices(alphabet, k=length))


@settings(max_examples=300, deadline=None)
@given(key=random_keys())
def test_random_keys_with_a_digit_are_never_identifiers(key: str) -> None:
    if any(c.isdigit() for c in key):
        assert not looks_like_identifier(key) and not looks_like_words(key)


def test_fraction_of_random_keys_called_identifiers_stays_below_1e4() -> None:
    # bench/identifier_recall.py measures 1,000,000 of each shape; 20,000 keep the suite fast.
    rng = random.Random(8)
    for length, alphabet in ((44, BASE64URL), (32, BASE62)):
        keys = ("".join(rng.choices(alphabet, k=length)) for _ in range(20_000))
        assert sum(map(looks_like_words, keys)) <= 4, length  # expected < 2 at 1e-4


@st.composite
def identifiers(draw) -> str:
    # Pieces of 3+ letters: a lone lower-case letter next to a capital ("Aa", "x") is what
    # random keys are full of, so the identifier test does not accept it.
    words = st.text(string.ascii_lowercase, min_size=3, max_size=9)
    styled = st.one_of(words, words.map(str.capitalize), words.map(str.upper),
                       st.tuples(words, words.map(str.capitalize)).map("".join))
    pieces = draw(st.lists(styled, min_size=2, max_size=7))
    seps = draw(st.lists(st.sampled_from(["_", "-", "--", "__"]), min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    out = pieces[0]
    for sep, piece in zip(seps, pieces[1:]):
        out += sep + piece
    return out


@settings(max_examples=150, deadline=None)
@given(name=identifiers())
def test_generated_identifiers_are_never_reported(name: str) -> None:
    assert looks_like_words(name)
    for file, text in (("a.css", f"/* ibm */ .{name} {{}}\n"), ("a.py", f"import qiskit\nx = '{name}'\n")):
        assert rules(file, text) == [], (file, text)


# --------------------------------------------------------------------------------------------
# placeholders at credential arguments

PLACEHOLDER_CALLS = [
    'from qiskit import IBMQ\nAPItoken = "ここにトークンをいれる"\n',
    'from qiskit import IBMQ\nIBMQ.enable_account("ここにAPItokenを書く")\n',
    "from qiskit import IBMQ\nAPItoken = '_ENTER_TOKEN_HERE_'\n",
    'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="__PUT_YOUR_TOKEN__")\n',
    'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="Ihr-API-Token-hier")\n',
    'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="votre_jeton_ici")\n',
    'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="токен-сюда")\n',
    'from qiskit_ionq import IonQProvider\nIonQProvider("***YOUR_KEY***")\n',
]


@pytest.mark.parametrize("text", PLACEHOLDER_CALLS)
def test_placeholders_in_any_language_and_style_are_not_findings(text: str) -> None:
    assert rules("a.py", text) == []


@pytest.mark.parametrize(
    "value", ["lab-token-2024-xyz!", "s3cr3t-Passw0rd", "a8f5f167f44f4964e6c998dee827110c", "Tok_9x8Y7z6W"]
)
def test_literals_of_a_secret_shape_stay_plausible(value: str) -> None:
    assert is_plausible_literal(value)
    text = f'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="{value}")\n'
    assert rules("a.py", text) == [("KG203", 2)]


@pytest.mark.parametrize("value", ["ここにトークンをいれる", "_ENTER_TOKEN_HERE_", "<<YOUR_TOKEN>>", "Mein_Token_Hier"])
def test_placeholder_literals_are_not_plausible(value: str) -> None:
    assert not is_plausible_literal(value)


# --------------------------------------------------------------------------------------------
# CRNs and tracked checkpoints


def test_a_crn_ending_in_one_colon_is_still_a_crn() -> None:
    # The generator may write either ending (the rule's regex allows both): test both here.
    crn = FakeKeys("crn").crn().rstrip(":") + "::"
    assert rules("config.yaml", f"instance: {crn}\n") == [("KG204", 1)]
    assert rules("config.yaml", f"instance: {crn[:-1]}\n") == [("KG204", 1)]
    (finding,) = scan_bytes("config.yaml", f"instance: {crn[:-1]}\n".encode(), ENGINE).findings
    assert finding.secret.reveal() == crn[:-1]


def test_tracked_ipynb_checkpoints_are_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = FakeKeys("checkpoint").ibm_key()
    source = f'from qiskit_ibm_runtime import QiskitRuntimeService\\nQiskitRuntimeService(token=\\"{key}\\")'
    notebook = (
        '{"cells": [{"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], '
        f'"source": ["{source}"]}}], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}\n'
    )
    checkpoints = tmp_path / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "lab-checkpoint.ipynb").write_text(notebook)
    (tmp_path / "lab.ipynb").write_text(notebook.replace(key, "<your-token>"))
    monkeypatch.chdir(tmp_path)
    # Outside git, a checkpoint folder is a cache: skipped and counted.
    walked = scan_paths(["."], Config(jobs=1))
    assert walked.findings == [] and walked.skipped.get("VCS, cache or virtual-environment directory") == 1
    # Tracked by git, it is published like any file: scanned.
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    tracked = scan_paths(["."], Config(jobs=1))
    assert [(f.rule_id, f.location.path) for f in tracked.findings] == [
        ("KG201", ".ipynb_checkpoints/lab-checkpoint.ipynb")
    ]


# --------------------------------------------------------------------------------------------
# encoded data is not context (a widget id next to a notebook's PNG, real qiskit-textbook shape)


def test_a_keyword_inside_base64_data_is_not_provider_context() -> None:
    token = FakeKeys("blob").aqt_token()
    blob = "iVBORw0KGgoAAAANSUhEUg" + "A" * 60 + "+AqTnw6la2h0qtc5lg7negmycmiqrrc" + "B" * 60
    text = f'{{\n "{token}": {{\n  "buffers": [\n   {{"data": "{blob}"}}\n  ]\n }}\n}}\n'
    assert rules("widgets.json", text) == []
    # The same id with a real provider word nearby is still reported.
    assert rules("widgets.json", text.replace('"buffers"', '"aqt_token"')) == [("KG461", 2)]


@pytest.mark.parametrize("value", ["API2_TOKEN", "API1_TOKEN", "IBMQ_TOKEN_V2", "QE_TOKEN_2019"])
def test_environment_variable_names_are_not_credential_literals(value: str) -> None:
    # Real public test code (qiskit-ibmq-provider history): `cls.v2_token = 'API2_TOKEN'`.
    assert not is_plausible_literal(value)
    text = f'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token="{value}")\n'
    assert rules("a.py", text) == []
