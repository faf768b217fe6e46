"""Property tests of detection and redaction (hypothesis).

Keys are generated at run time: the random body comes from a `random.Random` seeded by
hypothesis (so every key is realistic, never a degenerate shrink like 'AAAA...'), and the
edges hypothesis does choose are the ones that matter for the regexes: both letter cases,
a leading or trailing '-'/'_' and a '--' inside IBM keys. No key-shaped literal is stored here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from keyguard.model import Secret
from keyguard.pipeline.scan import _engine, scan_bytes
from keyguard.report.json import render_json
from keyguard.report.text import render_text
from keyguard.rulepack.fakes import BASE62, BASE64URL, HEX
from keyguard.rulepack.load import load_ruleset

try:  # reporters that may not exist in every checkout
    from keyguard.report.sarif import render_sarif
except ImportError:  # pragma: no cover
    render_sarif = None  # type: ignore[assignment]
try:
    from keyguard.report.github import render_github
except ImportError:  # pragma: no cover
    render_github = None  # type: ignore[assignment]

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

RULESET = load_ruleset(())
ENGINE = _engine((), RULESET.select(None, ()))
# Every word that gives a file provider context or passes the prefilter.
PROVIDER_WORDS = tuple(
    {w.lower() for p in RULESET.providers.values() for w in (*p.keywords, *p.context, *p.env_vars)}
)


def scan(path: str, text: str):
    result = scan_bytes(path, text.encode("utf-8"), ENGINE)
    assert result.skipped is None
    return result.findings


# --------------------------------------------------------------------------------------------
# key strategies


def _body(rng: random.Random, alphabet: str, length: int) -> list[str]:
    return [rng.choice(alphabet) for _ in range(length)]


@st.composite
def ionq_keys(draw) -> str:
    """32 characters [A-Za-z0-9], both letter cases present."""
    rng = random.Random(draw(st.integers(0, 2**64)))
    chars = _body(rng, BASE62, 32)
    upper_at, lower_at = draw(st.lists(st.integers(0, 31), min_size=2, max_size=2, unique=True))
    chars[upper_at] = draw(st.sampled_from(string.ascii_uppercase))
    chars[lower_at] = draw(st.sampled_from(string.ascii_lowercase))
    return "".join(chars)


@st.composite
def ibm_keys(draw) -> str:
    """44 characters [A-Za-z0-9_-]; may start or end with '-'/'_' and hold a '--'."""
    rng = random.Random(draw(st.integers(0, 2**64)))
    chars = _body(rng, BASE64URL, 44)
    upper_at, lower_at = draw(st.lists(st.integers(2, 41), min_size=2, max_size=2, unique=True))
    chars[upper_at] = draw(st.sampled_from(string.ascii_uppercase))
    chars[lower_at] = draw(st.sampled_from(string.ascii_lowercase))
    first = draw(st.sampled_from(["", "-", "_"]))
    last = draw(st.sampled_from(["", "-", "_"]))
    if first:
        chars[0] = first
    if last:
        chars[-1] = last
    if draw(st.booleans()):
        at = draw(st.integers(1, 41).filter(lambda i: i not in (upper_at - 1, upper_at, lower_at - 1, lower_at)))
        chars[at:at + 2] = ["-", "-"]
    return "".join(chars)


@st.composite
def legacy_tokens(draw) -> str:
    """128 lowercase hex."""
    rng = random.Random(draw(st.integers(0, 2**64)))
    return "".join(_body(rng, HEX, 128))


# --------------------------------------------------------------------------------------------
# places: (file name, template); {k} is the key, the finding is on the line holding it

IONQ_PLACES = [
    ("a.py", 'import cirq_ionq\nservice = cirq_ionq.Service(api_key="{k}")\n'),
    ("a.py", 'import cirq_ionq as ionq\nservice = ionq.Service("https://api.ionq.co/v0.4", "{k}")\n'),
    ("a.py", 'from qiskit_ionq import IonQProvider as P\nprovider = P("{k}")\n'),
    ("a.py", "import pennylane as qml\ndev = qml.device('ionq.qpu', wires=2, api_key='{k}')\n"),
    ("a.py", 'from pytket.extensions.ionq import IonQBackend\nb = IonQBackend("qpu.aria-1", "{k}")\n'),
    ("a.py", 'from pytket.extensions.ionq import set_ionq_config\nset_ionq_config(api_key="{k}")\n'),
    ("a.py", 'from qiskit_ionq import IonQProvider\n\nKEY = "{k}"\n\n\ndef p():\n    return IonQProvider(KEY)\n'),
    ("a.py", 'import os\nos.environ["IONQ_API_KEY"] = "{k}"\n'),
    ("a.py", 'import requests\nheaders = {"Authorization": "apiKey {k}"}\n'),
    ("a.py", 'import qiskit_ionq\n# provider = qiskit_ionq.IonQProvider("{k}")\n'),
    (".env", "IONQ_API_KEY={k}\n"),
    ("config.yaml", "ionq:\n  api_key: {k}\n"),
    ("config.toml", '[ionq.global]\napi_key = "{k}"\n'),
    ("README.md", "# IonQ\n\nexport IONQ_API_KEY={k}\n"),
    ("run.sh", 'curl -H "Authorization: apiKey {k}" https://api.ionq.co/v0.4/jobs\n'),
]
IBM_PLACES = [
    ("a.py", 'from qiskit_ibm_runtime import QiskitRuntimeService as QRS\ns = QRS(channel="ibm_cloud", token="{k}")\n'),
    ("a.py", 'from qiskit_ibm_runtime import QiskitRuntimeService\ns = QiskitRuntimeService("ibm_cloud", "{k}")\n'),
    ("a.py", "from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService.save_account('{k}')\n"),
    ("a.py", 'from qiskit_ibm_catalog import QiskitFunctionsCatalog\nc = QiskitFunctionsCatalog(token="{k}")\n'),
    ("a.py", 'from ibm_cloud_sdk_core.authenticators import IAMAuthenticator\na = IAMAuthenticator("{k}")\n'),
    ("a.py", 'from qiskit_ibm_runtime import QiskitRuntimeService\nCREDS = dict(token="{k}")\nQiskitRuntimeService(**CREDS)\n'),
    ("a.py", 'import os\nos.environ.setdefault("QISKIT_IBM_TOKEN", "{k}")\n'),
    ("a.py", 'import requests\nr = requests.post(IAM, data={"apikey": "{k}"})\n'),
    (".env", "QISKIT_IBM_TOKEN={k}\n"),
    ("qiskit-ibm.json", '{\n  "default": {\n    "channel": "ibm_quantum_platform",\n    "token": "{k}"\n  }\n}\n'),
    ("config.yaml", 'ibm:\n  token: "{k}"\n'),
    ("credentials.json", '{\n  "apikey": "{k}"\n}\n'),
    ("notes.md", "IBM Quantum API token: {k}\n"),
]
LEGACY_PLACES = [
    ("a.py", 'from qiskit import IBMQ\nIBMQ.save_account("{k}")\n'),
    ("a.py", 'from qiskit import IBMQ as q\nq.enable_account(token="{k}")\n'),
    ("a.py", 'import qiskit\nqiskit.register("{k}", "https://quantumexperience.ng.bluemix.net/api")\n'),
    ("Qconfig.py", 'APItoken = "{k}"\n'),
    ("qiskitrc", "[ibmq]\ntoken = {k}\n"),
    (".env", "QE_TOKEN={k}\n"),
]


def _check_found(place: tuple[str, str], value: str, rule: str) -> None:
    name, template = place
    text = template.replace("{k}", value)
    findings = scan(name, text)
    line = next(i for i, t in enumerate(text.split("\n"), 1) if value in t)
    assert [(f.rule_id, f.location.line) for f in findings] == [(rule, line)], (text, findings)
    (finding,) = findings
    assert finding.secret.reveal() == value
    loc = finding.location
    assert text.split("\n")[line - 1][loc.column - 1: loc.end_column - 1] == value


@PROPERTY
@given(value=ionq_keys(), place=st.sampled_from(IONQ_PLACES))
def test_generated_ionq_keys_are_found(value: str, place: tuple[str, str]) -> None:
    _check_found(place, value, "KG101")


@PROPERTY
@given(value=ibm_keys(), place=st.sampled_from(IBM_PLACES))
def test_generated_ibm_keys_are_found(value: str, place: tuple[str, str]) -> None:
    _check_found(place, value, "KG201")


@PROPERTY
@given(value=legacy_tokens(), place=st.sampled_from(LEGACY_PLACES))
def test_generated_legacy_tokens_are_found(value: str, place: tuple[str, str]) -> None:
    _check_found(place, value, "KG301")


# --------------------------------------------------------------------------------------------
# look-alikes without provider context

NO_CONTEXT_PLACES = [
    ("util.py", 'import numpy as np\n\nCACHE_PREFIX = "{k}"\n'),
    ("settings.py", "SESSION_SALT = '{k}'\nDEBUG = False\n"),
    ("data.json", '{\n  "id": "{k}",\n  "size": 3\n}\n'),
    ("notes.txt", "build {k} done\n"),
]


@PROPERTY
@given(
    value=st.one_of(ionq_keys(), ibm_keys(), legacy_tokens()),
    place=st.sampled_from(NO_CONTEXT_PLACES),
)
def test_key_shapes_without_provider_context_are_not_flagged(value: str, place: tuple[str, str]) -> None:
    assume(not any(word in value.lower() for word in PROVIDER_WORDS))  # a key spelling "ibm" is context
    name, template = place
    assert scan(name, template.replace("{k}", value)) == []


@PROPERTY
@given(data=st.binary(min_size=1, max_size=64), name=st.sampled_from(["SHA512SUMS", "checksums.txt", "release.sha512"]))
def test_sha512_digests_in_checksum_lists_are_not_flagged(data: bytes, name: str) -> None:
    digest = hashlib.sha512(data).hexdigest()
    text = f"# qiskit-ibmq-provider release\n{digest}  qiskit-ibmq-provider.tar.gz\n"
    assert scan(name, text) == []


@PROPERTY
@given(data=st.binary(min_size=1, max_size=64))
def test_sha512_next_to_a_digest_word_is_not_flagged(data: bytes) -> None:
    digest = hashlib.sha512(data).hexdigest()
    sri = base64.b64encode(hashlib.sha512(data).digest()).decode()
    text = (
        "from qiskit import IBMQ\nimport hashlib\n"
        f'EXPECTED_SHA512 = "{digest}"\nINTEGRITY = "sha512-{sri}"\n'
    )
    assert scan("verify.py", text) == []


# --------------------------------------------------------------------------------------------
# placeholders are never flagged

_WORD = st.from_regex(r"[A-Za-z][A-Za-z_ -]{0,24}", fullmatch=True)
_VAR = st.from_regex(r"[A-Z][A-Z0-9]{1,7}(_[A-Z][A-Z0-9]{1,7}){0,3}", fullmatch=True)
_NAME = st.from_regex(r"[A-Z]{2,8}(_[A-Z]{2,8}){1,3}", fullmatch=True)  # CONSTANT_CASE words
ENV_NAMES = sorted({v for p in RULESET.providers.values() for v in p.env_vars})


@st.composite
def repeated_patterns(draw) -> str:
    """A unit of 1..16 key characters repeated, with a short tail (>= 80 % periodic)."""
    unit = draw(st.text(alphabet=BASE64URL, min_size=1, max_size=16))
    repeats = draw(st.integers(2, 12).filter(lambda r: r * len(unit) >= 8))
    tail = draw(st.integers(0, min(len(unit) - 1, (repeats * len(unit)) // 4)))
    return unit * repeats + unit[:tail]


PLACEHOLDERS = st.one_of(
    _WORD.map(lambda w: f"<{w}>"),
    _VAR.map(lambda w: f"${{{w}}}"),
    _VAR.map(lambda w: "${{ secrets." + w + " }}"),
    _VAR.map(lambda w: "{{ " + w + " }}"),
    st.tuples(st.sampled_from(["your_", "your-", "YOUR_", "Your "]), _WORD).map("".join),
    repeated_patterns(),
    st.sampled_from(ENV_NAMES),
    _NAME,
)

PLACEHOLDER_SITES = [
    ("a.py", 'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(token={v})\n'),
    ("a.py", 'from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService.save_account({v})\n'),
    ("a.py", 'from ibm_cloud_sdk_core.authenticators import IAMAuthenticator\nIAMAuthenticator({v})\n'),
    ("a.py", "import cirq_ionq\ncirq_ionq.Service('https://api.ionq.co', {v})\n"),
    ("a.py", "from qiskit_ionq import IonQProvider\nIonQProvider(token={v})\n"),
    ("a.py", "import pennylane as qml\nqml.device('ionq.qpu', api_key={v})\n"),
    ("a.py", "from qiskit import IBMQ\nIBMQ.enable_account({v})\n"),
    ("Qconfig.py", "APItoken = {v}\n"),
    ("a.py", "import os\nos.environ['IONQ_API_KEY'] = {v}\n"),
    ("a.py", "import os\nos.environ.setdefault('QISKIT_IBM_TOKEN', {v})\n"),
]
TEXT_PLACEHOLDER_SITES = [
    (".env", "IONQ_API_KEY={s}\nQISKIT_IBM_TOKEN={s}\n"),
    ("config.yaml", "ibm:\n  token: \"{s}\"\nionq:\n  api_key: '{s}'\n"),
]


@PROPERTY
@given(value=PLACEHOLDERS, site=st.sampled_from(PLACEHOLDER_SITES))
def test_generated_placeholders_at_call_sites_are_not_flagged(value: str, site: tuple[str, str]) -> None:
    name, template = site
    text = template.replace("{v}", repr(value))
    findings = scan(name, text)
    assert findings == [], (text, [(f.rule_id, f.location.line) for f in findings])


@PROPERTY
@given(value=PLACEHOLDERS.filter(lambda v: "'" not in v and '"' not in v), site=st.sampled_from(TEXT_PLACEHOLDER_SITES))
def test_generated_placeholders_in_config_files_are_not_flagged(value: str, site: tuple[str, str]) -> None:
    name, template = site
    text = template.replace("{s}", value)
    assert scan(name, text) == [], text


# --------------------------------------------------------------------------------------------
# redaction: no output format, repr or str ever holds the secret

ALL_PLACES = (
    [(p, ionq_keys()) for p in IONQ_PLACES]
    + [(p, ibm_keys()) for p in IBM_PLACES]
    + [(p, legacy_tokens()) for p in LEGACY_PLACES]
)


@st.composite
def scanned_findings(draw):
    """Findings of a real scan of a generated file holding 1-3 generated keys."""
    chosen = draw(st.lists(st.sampled_from(range(len(ALL_PLACES))), min_size=1, max_size=3, unique=True))
    files = []
    findings = []
    secrets = []
    for index in chosen:
        (name, template), keys = ALL_PLACES[index]
        value = draw(keys)
        text = template.replace("{k}", value)
        path = f"dir{index}/{name}"
        found = scan(path, text)
        assert [f.secret.reveal() for f in found] == [value]
        files.append(path)
        findings.extend(found)
        secrets.append(value)
    return findings, secrets


def _summary(findings) -> dict:
    return {"files_scanned": len(findings), "findings": len(findings)}


@PROPERTY
@given(scanned=scanned_findings())
def test_reports_never_contain_the_secret(scanned) -> None:
    findings, secrets = scanned
    outputs = {
        "text": render_text(findings),
        "text-color": render_text(findings, color=True),
        "json": render_json(findings, _summary(findings)),
    }
    if render_sarif is not None:
        outputs["sarif"] = render_sarif(findings, RULESET, version="0")
    if render_github is not None:
        outputs["github"] = render_github(findings)
    for fmt, output in outputs.items():
        for secret in secrets:
            assert secret not in output, fmt
        if fmt in ("text", "text-color", "json", "sarif"):
            for finding in findings:
                assert finding.secret.redacted in output, fmt
    data = json.loads(outputs["json"])
    assert sorted(f["secret"] for f in data["findings"]) == sorted(f.secret.redacted for f in findings)
    # The switch is real: asked for, the secrets are shown.
    shown = render_text(findings, show_secrets=True) + render_json(findings, _summary(findings), show_secrets=True)
    for secret in secrets:
        assert secret in shown


@PROPERTY
@given(scanned=scanned_findings())
def test_finding_and_secret_text_forms_never_contain_the_secret(scanned) -> None:
    findings, secrets = scanned
    for finding in findings:
        value = finding.secret.reveal()
        forms = [
            repr(finding), str(finding), f"{finding}", f"{finding!r}", "%s" % (finding,),  # noqa: UP031
            repr(finding.secret), str(finding.secret), f"{finding.secret}", f"{finding.secret!r}",
            f"{finding.secret:>60}", "%s %r" % (finding.secret, finding.secret), finding.message,  # noqa: UP031
            repr(finding.location), finding.context, repr([finding]), repr({"f": finding}),
        ]
        for form in forms:
            for secret in secrets:
                assert secret not in form
        assert finding.secret.redacted in repr(finding)
        assert finding.secret.redacted == f"{value[:4]}…({len(value)} chars)"


@PROPERTY
@given(value=st.text(alphabet=BASE64URL + "!.:@", min_size=12, max_size=300))
def test_secret_text_forms_are_redacted(value: str) -> None:
    secret = Secret(value)
    for form in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:^80}", "%s" % secret):  # noqa: UP031
        assert value not in form
        assert f"…({len(value)} chars)" in form
    assert secret.reveal() == value


@PROPERTY
@given(value=st.text(alphabet=BASE64URL, min_size=1, max_size=11))
def test_short_secrets_show_no_characters(value: str) -> None:
    assert repr(Secret(value)) == f"Secret(…({len(value)} chars))"
    assert str(Secret(value)) == f"Secret(…({len(value)} chars))"


@pytest.mark.parametrize("kind", ["ionq", "ibm", "legacy"])
def test_strategies_make_realistic_keys(kind: str) -> None:
    """The strategies above draw keys the regexes accept (a check on the test itself)."""
    rules = {"ionq": "KG101", "ibm": "KG201", "legacy": "KG301"}
    strategy = {"ionq": ionq_keys(), "ibm": ibm_keys(), "legacy": legacy_tokens()}[kind]
    regex = RULESET.rules[rules[kind]].regex
    assert regex is not None

    @settings(max_examples=30, deadline=None)
    @given(value=strategy)
    def check(value: str) -> None:
        match = regex.search(value)
        assert match is not None and match.group("secret") == value

    check()


def test_a_long_key_right_after_its_assignment_keyword_keeps_its_context():
    # `QE_TOKEN=` + 128 hex is one base64-character run when "=" counts as base64: the
    # keyword read as encoded data and the legacy token was lost (found by the property above).
    value = "".join(_body(random.Random(7), HEX, 128))
    assert [f.rule_id for f in scan(".env", f"QE_TOKEN={value}\n")] == ["KG301"]
