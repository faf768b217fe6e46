"""The built-in packs of the other quantum clouds: the labeled sample, shapes from real public
code that pack examples cannot hold (a key in a comment is reported but never fixed, so it
has no `fixed` text), and the pack-driven fake keys.

Every key here is generated at run time (keyguard.rulepack.fakes); none is stored in this file.
"""

from __future__ import annotations

import sys

import pytest

from keyguard.rulepack.fakes import FakeKeys, render
from keyguard.rulepack.load import RulePackError, build_ruleset, load_ruleset, parse_pack

from helpers import NO_SHARED, ROOT, SHARED, rule_lines, scan_tree

PROVIDERS_CORPUS = SHARED / "corpus" / "providers"
RULES = load_ruleset()


@pytest.mark.skipif(not (PROVIDERS_CORPUS / "LABELS.json").exists(), reason=NO_SHARED)
def test_providers_corpus_every_positive_found_no_decoy_flagged():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from corpus_eval import evaluate
    finally:
        sys.path.pop(0)
    ev = evaluate(PROVIDERS_CORPUS)
    assert not ev.missed, [f"{m['file']}:{m['line']} {m['note']}" for m in ev.missed]
    assert not ev.unexpected, ev.unexpected
    assert sum(ev.found.values()) == sum(ev.expected.values()) >= 41


def scan_text(tmp_path, monkeypatch, name: str, template: str, seed: str):
    text, values = render(template, FakeKeys(seed))
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return scan_tree(tmp_path, monkeypatch, [name]), values


@pytest.mark.parametrize(
    ("template", "expect"),
    [
        # commented-out lines still leak (research 15)
        ("from dwave.system import LeapHybridSampler\n# sampler = LeapHybridSampler(token='{{dwave_token}}')\n",
         [("KG421", 2)]),
        ("from dwave.system import DWaveSampler\n"
         "# sampler = DWaveSampler(token='{{dwave_token}}', solver='Advantage_system6.2', region='na-west-1')\n",
         [("KG421", 2)]),
        ("from qiskit_aqt_provider import AQTProvider\n# AQTProvider('{{aqt_token}}')  # old workspace\n",
         [("KG461", 2)]),
        ("import xcc\n# xcc.Settings(REFRESH_TOKEN='{{xanadu_key}}').save()\n", [("KG481", 2)]),
        ("import perceval as pcvl\n#pcvl.save_token('{{quandela_token}}')\n", [("KG511", 2)]),
        ("from iqm.qiskit_iqm import IQMProvider\n# os.environ['IQM_TOKEN'] = '{{iqm_token}}'\n", [("KG451", 2)]),
        # the wrong keyword is still a leak: the token detector sees the shape and the context
        ("from dwave.system import DWaveSampler\nsampler = DWaveSampler(DWAVE_API_TOKEN='{{dwave_token}}')\n",
         [("KG421", 2)]),
        # inside a triple-quoted block copied into a docstring
        ('"""Connect:\n    Workspace.from_connection_string("SubscriptionId=x;ApiKey={{azure_quantum_key}};")\n"""\n'
         "from azure.quantum import Workspace\n", [("KG431", 2)]),
    ],
)
def test_shapes_from_public_code(tmp_path, monkeypatch, template, expect):
    result, _ = scan_text(tmp_path, monkeypatch, "code.py", template, template)
    assert rule_lines(result.findings) == expect


def test_quantum_inspire_save_account_is_not_ibm(tmp_path, monkeypatch):
    """`save_account` is also IBM's distinctive call: the import decides the provider."""
    template = (
        "from qiskit import QuantumCircuit\n"
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        "from quantuminspire.credentials import save_account\n"
        "save_account('{{qi_token}}')\n"
    )
    result, (token,) = scan_text(tmp_path, monkeypatch, "qi.py", template, "qi-save")
    [finding] = result.findings
    assert (finding.rule_id, finding.provider, finding.location.line) == ("KG401", "Quantum Inspire", 4)
    assert finding.secret.reveal() == token
    assert "QI_TOKEN" in finding.message


def test_env_write_uses_the_variables_provider(tmp_path, monkeypatch):
    """`DEV-<40 hex>` is 44 characters, IBM's key length: written to DWAVE_API_TOKEN it is D-Wave's."""
    for seed in range(8):
        result, _ = scan_text(tmp_path, monkeypatch, f"env{seed}.py",
                              "import os\nos.environ['DWAVE_API_TOKEN'] = '{{dwave_token}}'\n", f"env{seed}")
        assert [f.rule_id for f in result.findings] == ["KG421"]


# -- fake keys from pack data ------------------------------------------------------------------


def test_fakes_are_declared_by_the_packs_and_reproducible():
    a, b = FakeKeys("seed"), FakeKeys("seed")
    assert set(a.markers) >= {"ionq_key", "ibm_key", "legacy_token", "iam_jwt", "crn", "qi_token", "dwave_token",
                              "azure_quantum_key", "aws_secret", "quandela_token", "xanadu_key"}
    for marker in a.markers:
        assert a.make(marker) == b.make(marker)
    assert FakeKeys("other").dwave_token() != FakeKeys("seed").dwave_token()


@pytest.mark.parametrize("marker", sorted(FakeKeys(0).markers))
def test_every_fake_of_a_rule_matches_its_rule(marker):
    """A fake generated for a rule (from its regex or declared shape) is one that rule reports
    at a credential site, never a placeholder."""
    fakes = FakeKeys(marker)
    spec = {s.name: s for p in RULES.packs for s in p.fakes}[marker]
    for _ in range(5):
        value = fakes.make(marker)
        assert value and "{{" not in value
        if spec.rule is not None:
            assert RULES.rules[spec.rule].regex.search(f" {value} ").group("secret") == value


def test_generated_from_the_rule_regex():
    value = FakeKeys(3).azure_quantum_key()
    assert len(value) == 86 and value[76:80] == "AZQU" and value[-1] in "AQgw"
    aws = FakeKeys(3).aws_key_id()
    assert aws[:4] in ("AKIA", "ASIA") and len(aws) == 20


PACK_HEAD = 'schema = 1\n[provider]\nid = "acme"\nname = "Acme"\n'
RULE = ('[[rule]]\nid = "KG991"\ntype = "token"\nkind = "k"\ntitle = "t"\nseverity = "high"\n'
        "regex = '''(?P<secret>acme_[a-f0-9]{32})'''\nsource = \"s\"\ndescription = \"d\"\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[example]]\nname = "x"\ncode = "k = \'{{acme_key}}\'"\nexpect = []\n',
         "acme.toml [[example]] #1 code: unknown marker {{acme_key}}"),
        ('[fake.acme_key]\nalphabet = "hex"\n', "acme.toml [fake.acme_key]: 'length' must be an integer"),
        ('[fake.acme_key]\nalphabet = "hex"\nlength = 8\nrule = "KG991"\n', "exactly one of"),
        ('[fake.acme_key]\nrule = "KG000"\n', "acme.toml [fake.acme_key]: 'rule' must name a token"),
        ('[fake.acme_key]\ntemplate = "x{{nope}}"\n', "template uses unknown marker {{nope}}"),
        ('[fake.acme_key]\nalphabet = "hex"\nlength = 8\ncolour = "red"\n', "unknown key(s) 'colour'"),
        ('[fake.Acme]\nalphabet = "hex"\nlength = 8\n', "marker names are lower case"),
        ('[fake.ionq_key]\nalphabet = "hex"\nlength = 8\n', "marker 'ionq_key' already declared differently"),
    ],
)
def test_fake_declaration_errors_name_file_and_key(body, message):
    with pytest.raises(RulePackError) as info:
        build_ruleset([*RULES.packs, parse_pack(PACK_HEAD + RULE + body, "rules/acme.toml")])
    assert message in str(info.value)


def test_the_same_fake_declared_twice_is_accepted():
    """A user pack copied from a built-in one repeats its [fake.*] tables unchanged."""
    pack = parse_pack(PACK_HEAD + RULE + '[fake.ionq_key]\nalphabet = "base62"\nlength = 32\nmixed = true\n',
                      "rules/acme.toml")
    build_ruleset([*RULES.packs, pack])


def test_github_expressions_are_not_markers():
    pack = parse_pack(PACK_HEAD + RULE + '[[example]]\nname = "ci"\nfile = "ci.yml"\n'
                      'code = "token: ${{ secrets.ACME }}"\nexpect = []\n', "rules/acme.toml")
    build_ruleset([*RULES.packs, pack])


# -- verification of the new providers against a loopback emulator -----------------------------

VERIFY_CASES = [
    # rule, marker, path, where the key travels, answers: state for 200 / 401 (or 400) / 403
    ("KG421", "dwave_token", "/sapi/v2/solvers/remote/", "x-auth-token"),
    ("KG441", "qbraid_key", "/api/v1/users/verify", "x-api-key"),
    ("KG481", "xanadu_key", "/auth/realms/platform/protocol/openid-connect/token", "form:refresh_token"),
]


@pytest.fixture
def emulator(monkeypatch):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    behave: dict[str, int] = {}
    seen: list[tuple[str, str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _key(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = parse_qs(body)
            return (self.headers.get("X-Auth-Token") or self.headers.get("X-API-Key")
                    or (form.get("refresh_token") or [""])[0])

        def _handle(self) -> None:
            key = self._key()
            status = behave.get(key, 401)
            seen.append((self.command, self.path, key))
            body = {200: {"success": True, "access_token": "x", "data": {}}, 400: {"error": "invalid_grant"},
                    401: {"error": "bad"}, 403: {"error": "forbidden"}}[status]
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    from keyguard.verify.http import BASE_URL_ENV

    monkeypatch.setenv(BASE_URL_ENV, f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield behave, seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("rule_id", "marker", "path", "carrier"), VERIFY_CASES, ids=[c[0] for c in VERIFY_CASES])
def test_new_provider_verification_states(emulator, rule_id, marker, path, carrier):
    from keyguard.model import Confidence, Finding, Location, Secret, VerificationState
    from keyguard.verify.http import verify_findings

    behave, seen = emulator
    fakes = FakeKeys(f"verify-{rule_id}")
    rule = RULES.rules[rule_id]
    live, dead, restricted = (fakes.make(marker) for _ in range(3))
    behave.update({live: 200, restricted: 403})
    if rule_id == "KG481":
        behave[dead] = 400  # Keycloak answers a bad refresh token with 400 invalid_grant
    findings = [
        Finding(rule_id=rule_id, provider=rule.provider, kind=rule.kind, title=rule.title, severity=rule.severity,
                confidence=Confidence.HIGH, location=Location("a.py", 1, 1, 1, 2, 1, 1), secret=Secret(key),
                message="m", env_var=rule.env_var)
        for key in (live, dead, restricted)
    ]
    states = [f.verification.state for f in verify_findings(findings, RULES, timeout=5)]
    expected_restricted = VerificationState.UNKNOWN if rule_id == "KG481" else VerificationState.RESTRICTED
    assert states == [VerificationState.VERIFIED, VerificationState.UNVERIFIED, expected_restricted]
    assert sorted(key for _, _, key in seen) == sorted((live, dead, restricted))
    assert {p for _, p, _ in seen} == {path}
    assert all(key not in p for _, p, key in seen)  # never in the URL


def test_passwords_and_rotating_tokens_are_never_verified():
    never = [r for r in RULES.rules.values() if r.kind.endswith("password") or r.id in ("KG491", "KG411", "KG471")]
    assert never and all(r.verify is None for r in never)
