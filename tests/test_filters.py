"""Unit tests of the cheap filters and the context probe (regressions from large-tree runs)."""

from __future__ import annotations

import random
import string

from keyguard.detect.tokens import has_keyword
from keyguard.filter.shapes import (
    has_sequence_run,
    is_placeholder,
    looks_like_words,
    shannon_entropy,
)
from keyguard.rulepack.fakes import FakeKeys

from helpers import rule_lines, scan_tree


def test_identifiers_with_acronyms_look_like_words():
    assert looks_like_words("UICollectionViewCompositionalLay")
    assert looks_like_words("INSearchForNotebookIntentRespons")
    assert looks_like_words("snake_case_identifier_long_enough")


def test_random_keys_rarely_look_like_words():
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    keys = ["".join(rng.choice(alphabet) for _ in range(32)) for _ in range(20000)]
    assert sum(map(looks_like_words, keys)) <= 5  # expected ~1 (< 1e-4 of keys)
    assert not any(looks_like_words(FakeKeys(i).ionq_key()) for i in range(200))


def test_keywords_count_only_at_the_start_of_a_word():
    assert has_keyword("provider = ionqprovider(", ("ionq",))
    assert has_keyword("import cirq_ionq as ionq", ("ionq",))
    assert not has_keyword("'hkcorrelationquery', 'x'", ("ionq",))
    assert has_keyword("x = '[ibmq]'", ("[ibmq",))
    assert not has_keyword("ionq", ("ionq",), 1)


def test_generated_identifier_lists_are_not_keys(tmp_path, monkeypatch):
    # A pygments-style builtins table: long ObjC names, one of them containing "ionQ".
    names = ["HKCorrelationQuery", "UICollectionViewCompositionalLay", "INSearchForNotebookIntentRespons",
             "NSPersistentCloudKitContainerOpt", "CLKComplicationTemplateGraphicCircu"]
    (tmp_path / "_builtins.py").write_text(
        "from qiskit_ibm_runtime import QiskitRuntimeService\nCOCOA = {" + ", ".join(map(repr, names)) + "}\n"
    )
    assert rule_lines(scan_tree(tmp_path, monkeypatch).findings) == []


def test_entropy_and_placeholders():
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert is_placeholder("<your-token>")
    assert is_placeholder("0" * 32)
    assert not is_placeholder(FakeKeys(1).ibm_key())


def test_keys_that_start_or_end_like_placeholders_are_still_keys():
    fake = FakeKeys("prefix")
    for _ in range(50):
        body = fake.ibm_key()
        assert not is_placeholder("My_" + body[3:])
        assert not is_placeholder("test-" + body[5:])
        assert not is_placeholder(body[:-4] + "-key")
    assert is_placeholder("MY_IBM_QUANTUM_TOKEN")
    assert is_placeholder("your-key-here")


def test_typed_out_sequences_are_fixtures_not_keys(tmp_path, monkeypatch):
    """dwave-cloud-client's token tests hold `AB-0123456789...` and `abc-c0f3456789...`: a run
    of eight characters counting up or down marks a typed fixture."""
    digits = "0123456789" * 4
    fixtures = ["AB-" + digits, "abc-c0f" + digits[3:37] + "fee", "DEV-" + "fedcba98" + FakeKeys(3).hex(32)]
    assert all(has_sequence_run(v.lower()) and is_placeholder(v) for v in fixtures)
    assert not has_sequence_run("0123456x9abcdefx")  # runs of seven and less do not count
    fake = FakeKeys("runs")
    keys = [fake.hex(40) for _ in range(300)] + [fake.ibm_key() for _ in range(300)]
    assert not any(has_sequence_run(k.lower()) for k in keys)
    call = "from dwave.cloud import Client\nclient = Client(token={!r})\n"
    (tmp_path / "fixture.py").write_text(call.format(fixtures[0]))
    (tmp_path / "real.py").write_text(call.format("DEV-" + fake.hex(40)))
    assert [f.location.path for f in scan_tree(tmp_path, monkeypatch).findings] == ["real.py"]


def test_many_keys_in_one_file_are_all_found(tmp_path, monkeypatch):
    fake = FakeKeys("many")
    keys = [fake.ibm_key() for _ in range(2000)]
    lines = ["# IBM Quantum keys of the workshop"] + [f'k{i} = "{k}"  # token' for i, k in enumerate(keys)]
    (tmp_path / "dump.py").write_text("\n".join(lines) + "\n")
    found = scan_tree(tmp_path, monkeypatch).findings
    assert sorted(f.secret.reveal() for f in found) == sorted(keys)


def test_sha512sum_listings_are_digests_even_with_ibm_package_names(tmp_path, monkeypatch):
    fake = FakeKeys("sums")
    lines = [f"{fake.legacy_token()}  qiskit-ibmq-provider-0.20.{i}.tar.gz" for i in range(3)]
    (tmp_path / "files.txt").write_text("\n".join(lines) + "\n")
    assert scan_tree(tmp_path, monkeypatch).findings == []
    # A legacy token next to IBMQ is still found.
    token = fake.legacy_token()
    (tmp_path / "files.txt").write_text(f"from qiskit import IBMQ\nIBMQ.save_account('{token}')\n")
    (tmp_path / "files.txt").rename(tmp_path / "login.py")
    assert [f.secret.reveal() for f in scan_tree(tmp_path, monkeypatch).findings] == [token]


def test_key_inside_a_save_account_call_is_reported_and_never_quoted(tmp_path, monkeypatch):
    key = FakeKeys("persist").ibm_key()
    (tmp_path / "x.py").write_text(
        "import base64\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
        f'QiskitRuntimeService.save_account(token=base64.b64decode("{key}").decode())\n'
    )
    findings = scan_tree(tmp_path, monkeypatch).findings
    assert sorted(f.rule_id for f in findings) == ["KG201", "KG205"]
    assert all(key not in f.message and key not in f.context for f in findings)


def test_messages_never_carry_a_second_key_from_the_line(tmp_path, monkeypatch):
    fake = FakeKeys("two")
    old, new = fake.ibm_key(), fake.ibm_key()
    (tmp_path / "rotate.txt").write_text(f"ibm quantum keys: {old}: {new}\n")
    findings = scan_tree(tmp_path, monkeypatch).findings
    assert {f.secret.reveal() for f in findings} == {old, new}
    for f in findings:
        assert old not in f.message and new not in f.message and old not in f.context
