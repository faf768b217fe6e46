"""keyguard.report.redact: key shapes redacted and control characters escaped, names left readable.

Keys are generated at run time (keyguard.rulepack.fakes, or seeded RNGs over the shapes' alphabets);
no key-shaped literal lives in this file.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyguard.model import redact
from keyguard.report.redact import escape_controls, is_key_shaped, redact_keys, safe_text
from keyguard.rulepack.fakes import BASE62, BASE64URL, HEX, FakeKeys

READABLE = [
    "tests/test_verify_429_backoff_with_retry_after.py",
    'os.environ["QISKIT_IBM_TOKEN"]',
    "PYTKET_REMOTE_IONQ_API_KEY",
    "src/qiskit_ibm_runtime/QiskitRuntimeService.py",
    "alembic/versions/3f2a9b8c7d6e_add_users.py",
    "releasenotes/notes/0.15/pulse-config-3368ff94333e7278.yaml",  # reno: 16 hex
    "https://cloud.ibm.com/iam/apikeys",
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
    "2025-07-01T12:30:00",
    "run_2024_experiment_final.py",
    "notebooks/Grover_Algorithm_3qubits_v2.ipynb",
    "Get_Seq_Rot_Unitary_Part_circuits_MEMORY_EFF",  # issue 8 §1 shapes
    "gl_ModelViewProjectionMatrixInverseTranspose",
    ".duo--ProgressIndicatorStep--bgWrapper--black",
    "XMLHttpRequestEventTarget",
    "test_assertIsNotNone_and_setUpClass_behaviour",
    "UICollectionViewCompositionalLayout",
    "site-packages/numpy-1.26.4.dist-info/RECORD",
    "x86_64-linux-gnu",
    "HTTP_429_TOO_MANY_REQUESTS errorCode=BXNIM0415E",
    "keyguard: error: /repo/pyproject.toml [tool.keyguard]: unknown key(s) 'selct'",
    "12345678901234567890123",
    "EqV8…(44 chars)",  # a redacted form stays as it is
]


@pytest.mark.parametrize("text", READABLE)
def test_ordinary_names_stay_readable(text: str) -> None:
    assert redact_keys(text) == text
    assert safe_text(text) == text


def _keys(seed: int) -> dict[str, str]:
    fakes = FakeKeys(seed)
    return {
        "ionq": fakes.ionq_key(), "ibm": fakes.ibm_key(), "legacy": fakes.legacy_token(),
        "uuid": fakes.uuid(), "qi40": fakes.hex(40),
    }


CONTEXTS = ["{k}", 'token = "{k}"', "apikey={k}", "data/{k}/run2024.py", "'{k}'",
            "unsupported nbformat version '{k}'", "results['{k}/a.py'][0]"]


@pytest.mark.parametrize("context", CONTEXTS)
def test_keys_are_redacted_in_any_context(context: str) -> None:
    for name, key in _keys(7).items():
        out = redact_keys(context.format(k=key))
        assert key not in out, name
        assert "chars)" in out, name


def test_redaction_keeps_the_words_around_a_key() -> None:
    key = FakeKeys(3).ibm_key()
    assert redact_keys(f"{key}/run2024.py") == f"{redact(key)}/run2024.py"
    assert redact_keys(f"apikey={key}") == f"apikey={redact(key)}"
    assert redact_keys(f"in data/{key}/main.py") == f"in data/{redact(key)}/main.py"


def test_jwt_parts_and_crn_ids_are_redacted() -> None:
    fakes = FakeKeys(4)
    jwt, crn = fakes.iam_jwt(), fakes.crn()
    out = redact_keys(f"bearer {jwt}")
    for part in jwt.split("."):
        assert part not in out
    assert redact_keys(crn).startswith("crn:v1:")
    assert crn not in redact_keys(crn)


def test_idempotent_and_key_shaped() -> None:
    key = FakeKeys(5).ionq_key()
    once = redact_keys(f"x {key} y")
    assert redact_keys(once) == once
    assert is_key_shaped(key) and not is_key_shaped("QiskitRuntimeService")


def _visible(key: str, text: str) -> int:
    """Length of the longest piece of `key` that is still in `text`."""
    best = 0
    for i in range(len(key)):
        while i + best < len(key) and key[i:i + best + 1] in text:
            best += 1
    return best


SHAPES = {
    "ionq": (BASE62, 32), "ibm": (BASE64URL, 44), "iqm": (BASE62, 64),
    "azure": (BASE64URL, 86), "qi": (HEX, 40), "legacy": (HEX, 128),
}


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_random_keys_keep_at_most_8_characters_visible(seed: int) -> None:
    """Uniformly random keys (not hypothesis-shrunk strings): the bench measures < 1e-4 of
    them keep more than 8 characters visible standing alone; here none of the sample may."""
    rng = random.Random(seed)
    for alphabet, length in SHAPES.values():
        key = "".join(rng.choice(alphabet) for _ in range(length))
        for context in ("{k}", 'token="{k}"', "data/{k}/run.py"):
            assert _visible(key, redact_keys(context.format(k=key))) <= 8, key


def test_control_characters_are_escaped() -> None:
    assert escape_controls("bad\nname\x1b[31m.py") == "bad\\nname\\x1b[31m.py"
    assert escape_controls("a\rb\tc\x00\x7f\x85") == "a\\rb\\tc\\x00\\x7f\\x85"
    assert escape_controls("evil\u202egnp.py") == "evil\\u202egnp.py"  # Trojan-source override
    assert escape_controls("café 日本.ipynb") == "café 日本.ipynb"
    # An undecodable byte of a file name (surrogateescape) shows as the byte, encodable.
    name = b"caf\xff.py".decode("utf-8", "surrogateescape")
    assert escape_controls(name) == "caf\\xff.py"
    escape_controls(name).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)))
def test_safe_text_is_printable_utf8(text: str) -> None:
    out = safe_text(text)
    out.encode("utf-8")  # never a surrogate
    assert "\n" not in out and "\r" not in out and "\x1b" not in out
    assert escape_controls(out) == out  # nothing left to escape
    assert all(ch.isprintable() for ch in out if ord(ch) < 0xA0)


def test_show_secrets_escapes_only() -> None:
    key = FakeKeys(6).ibm_key()
    assert safe_text(f"{key}\n", keys=False) == f"{key}\\n"


def test_run_secrets_are_scrubbed_exactly_and_notices_are_not() -> None:
    from keyguard.model import Confidence, Finding, Location, Secret
    from keyguard.report._scrub import Scrubber, scrub, secret_map
    from keyguard.rulepack.load import load_ruleset

    rules = load_ruleset().rules
    fakes = FakeKeys(8)

    def finding(rule_id: str, value: str) -> Finding:
        rule = rules[rule_id]
        loc = Location("a.py", 1, 1, 1, 2, 1, 1)
        return Finding(rule_id=rule_id, provider=rule.provider, kind=rule.kind,
                       title=rule.title, severity=rule.severity, confidence=Confidence.HIGH,
                       location=loc, secret=Secret(value), message="m",
                       is_secret=rule.is_secret)

    short_literal = "lab-token-2024-xyz!"  # a KG203 literal of no key shape
    keys = [fakes.ibm_key() for _ in range(300)]
    notice = finding("KG205", 'os.environ["QISKIT_IBM_TOKEN"]')
    found = [finding("KG201", k) for k in keys] + [finding("KG203", short_literal), notice]
    secrets = secret_map(found)
    assert 'os.environ["QISKIT_IBM_TOKEN"]' not in secrets and short_literal in secrets
    text = f"use {keys[7]} or {short_literal}; read os.environ[\"QISKIT_IBM_TOKEN\"] {keys[299]}"
    out = Scrubber(found).text(text)
    assert out == (f"use {redact(keys[7])} or {redact(short_literal)}; read "
                   f"os.environ[\"QISKIT_IBM_TOKEN\"] {redact(keys[299])}")
    # A secret that is the start of a longer one: the longer wins where it stands.
    longer = keys[0] + "Zq9"
    assert scrub(f"{longer} {keys[0]}", secret_map([finding("KG203", longer),
                                                   finding("KG201", keys[0])])) == (
        f"{redact(longer)} {redact(keys[0])}")
    assert Scrubber(found, show_secrets=True).text(text) == text
