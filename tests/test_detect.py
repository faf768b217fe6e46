"""Detection suite of issue 2: every place a quantum credential hides, and every look-alike.

Table-driven. Each case is a file name and a template; `{{ionq_key}}`, `{{ibm_key}}`,
`{{legacy_token}}`, `{{iam_jwt}}` and `{{crn}}` markers are replaced by fake keys generated at
run time (keyguard.rulepack.fakes), so this file holds no key-shaped literal and `keyguard scan tests/`
stays clean. The file is written into tmp_path, scanned with `scan_paths` from tmp_path (so
paths are relative), and the exact set of (rule, line) is asserted, plus, for every finding,
that its position points at the secret and `secret.reveal()` is the planted value.

Expectations are written like the rule packs' examples: "KG201@2" (rule at line 2) or
"KG201@2:29" (and column 29).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from keyguard.config import Config
from keyguard.model import Finding, Severity
from keyguard.pipeline.scan import ScanResult, scan_paths
from keyguard.rulepack.fakes import FakeKeys, render

TOKEN_RULES = {"KG101", "KG201", "KG202", "KG204", "KG301"}
LITERAL_RULES = {"KG102", "KG203"}


# --------------------------------------------------------------------------------------------
# helpers


def scan_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: str | bytes) -> ScanResult:
    """Write `content` to tmp_path/name and scan it with the path relative to tmp_path."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = scan_paths([name], Config(jobs=1))
    assert not result.errors, result.errors
    assert result.files_scanned == 1, result.skipped
    return result


def _parse_expect(item: str) -> tuple[str, int, int | None]:
    rule, _, where = item.partition("@")
    line, _, column = where.partition(":")
    return rule, int(line), int(column) if column else None


def assert_found(findings: list[Finding], expect: tuple[str, ...] | list[str]) -> None:
    """Exact (rule, line) set; columns where the expectation gives one."""
    parsed = [_parse_expect(e) for e in expect]
    got = sorted((f.rule_id, f.location.line) for f in findings)
    assert got == sorted((r, line) for r, line, _ in parsed), [
        (f.rule_id, f.location.line, f.context) for f in findings
    ]
    for rule, line, column in parsed:
        if column is not None:
            columns = {f.location.column for f in findings if (f.rule_id, f.location.line) == (rule, line)}
            assert column in columns, (rule, line, columns)


def assert_points_at_secret(text: str, finding: Finding) -> None:
    """line/column/end_column of a plain-file finding delimit exactly the secret."""
    loc = finding.location
    line = text.split("\n")[loc.line - 1]
    secret = finding.secret.reveal()
    assert loc.end_line == loc.line
    assert line[loc.column - 1: loc.end_column - 1] == secret
    assert (loc.raw_line, loc.raw_column) == (loc.line, loc.column)


def key(kind: str, seed: object) -> str:
    return FakeKeys(seed).make(kind)


# --------------------------------------------------------------------------------------------
# positive cases


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    template: str
    expect: tuple[str, ...]
    fragments: tuple[str, ...] = ()  # all of them in the findings' messages
    literal: str | None = None  # the secret of a KG102 / KG203 finding (unusual shape)

    def render(self) -> tuple[str, list[str]]:
        return render(textwrap.dedent(self.template).lstrip("\n"), FakeKeys(self.name))


IBM_MSG = ("IBM Cloud API key", "IBM Quantum Platform", "QISKIT_IBM_TOKEN", "revoke")
IONQ_MSG = ("IonQ API key", "IONQ_API_KEY", "revoke", "cloud.ionq.com")
LEGACY_MSG = ("Legacy IBM Quantum API token", "delete it", "closed on 2025-07-01")

SDK_CASES = [
    # -- IBM Quantum Platform / IBM Cloud ------------------------------------------------
    Case("runtime keyword through an alias", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService as QRS
        service = QRS(channel="ibm_quantum_platform", token="{{ibm_key}}")
        """, ("KG201@2:54",),
        ("IBM Cloud API key", "passed to QiskitRuntimeService(token=...)", "QISKIT_IBM_TOKEN", "revoke")),
    Case("runtime by position", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        service = QiskitRuntimeService("ibm_cloud", "{{ibm_key}}")
        """, ("KG201@2:46",), ("QiskitRuntimeService(...) as positional argument 2 (token)",)),
    Case("runtime through the module alias", "a.py", """
        import qiskit_ibm_runtime as qir
        service = qir.QiskitRuntimeService(channel="ibm_cloud", token="{{ibm_key}}")
        """, ("KG201@2",), ("passed to QiskitRuntimeService(token=...)",)),
    Case("runtime save_account keyword", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        QiskitRuntimeService.save_account(channel="ibm_quantum_platform", token="{{ibm_key}}", overwrite=True)
        """, ("KG201@2",), ("passed to QiskitRuntimeService.save_account(token=...)", *IBM_MSG)),
    Case("runtime save_account by position", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        QiskitRuntimeService.save_account("{{ibm_key}}", channel="ibm_quantum_platform")
        """, ("KG201@2:36",), ("save_account(...) as positional argument 1 (token)",)),
    Case("runtime save_account through an alias", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService as QRS
        QRS.save_account(token="{{ibm_key}}")
        """, ("KG201@2",), ("QiskitRuntimeService.save_account(token=...)",)),
    Case("IBMQ save_account and enable_account by position through an alias", "a.py", """
        from qiskit import IBMQ as q
        q.save_account("{{legacy_token}}")
        q.enable_account("{{legacy_token}}")
        """, ("KG301@2:17", "KG301@3:19"),
        ("IBMQ.save_account(...) as positional argument 1", "IBMQ.enable_account(...)", *LEGACY_MSG)),
    Case("IBMQ keyword", "a.py", """
        from qiskit import IBMQ
        IBMQ.enable_account(token="{{legacy_token}}", hub="ibm-q")
        IBMQ.save_account(token="{{legacy_token}}", overwrite=True)
        """, ("KG301@2", "KG301@3"), ("IBMQ.enable_account(token=...)", "IBMQ.save_account(token=...)")),
    Case("IBMQ with a new-style key", "a.py", """
        from qiskit import IBMQ
        IBMQ.enable_account("{{ibm_key}}")
        """, ("KG201@2",)),
    Case("IBMProvider by position and keyword", "a.py", """
        from qiskit_ibm_provider import IBMProvider
        provider = IBMProvider("{{legacy_token}}")
        other = IBMProvider(token="{{ibm_key}}", instance="ibm-q/open/main")
        """, ("KG301@2", "KG201@3"), ("IBMProvider(...) as positional argument 1", "IBMProvider(token=...)")),
    Case("IBMProvider save_account", "a.py", """
        from qiskit_ibm_provider import IBMProvider
        IBMProvider.save_account(token="{{legacy_token}}")
        """, ("KG301@2",), ("IBMProvider.save_account(token=...)",)),
    Case("QiskitFunctionsCatalog by position and keyword", "a.py", """
        from qiskit_ibm_catalog import QiskitFunctionsCatalog
        catalog = QiskitFunctionsCatalog("{{ibm_key}}", instance="my-instance")
        other = QiskitFunctionsCatalog(channel="ibm_quantum_platform", token="{{ibm_key}}")
        """, ("KG201@2", "KG201@3"),
        ("QiskitFunctionsCatalog(...) as positional argument 1", "QiskitFunctionsCatalog(token=...)")),
    Case("QiskitFunctionsCatalog save_account", "a.py", """
        from qiskit_ibm_catalog import QiskitFunctionsCatalog
        QiskitFunctionsCatalog.save_account(token="{{ibm_key}}")
        """, ("KG201@2",), ("QiskitFunctionsCatalog.save_account(token=...)",)),
    Case("IAMAuthenticator by position and keyword", "a.py", """
        from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
        auth = IAMAuthenticator("{{ibm_key}}")
        other = IAMAuthenticator(apikey="{{ibm_key}}", url="https://iam.cloud.ibm.com")
        """, ("KG201@2:26", "KG201@3"),
        ("IAMAuthenticator(...) as positional argument 1 (apikey)", "IAMAuthenticator(apikey=...)")),
    Case("IAM JWT passed as a token", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        service = QiskitRuntimeService(channel="ibm_cloud", token="{{iam_jwt}}")
        """, ("KG202@2",), ("IBM Cloud IAM bearer token", "mint one at run time from the API key")),
    Case("legacy token passed to the runtime", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        service = QiskitRuntimeService(token="{{legacy_token}}")
        """, ("KG301@2",)),
    # -- old QISKit -------------------------------------------------------------------------
    Case("QISKit register(token, url)", "a.py", """
        import qiskit
        qiskit.register("{{legacy_token}}", "https://quantumexperience.ng.bluemix.net/api")
        """, ("KG301@2:18",), ("qiskit.register(...) as positional argument 1 (token)", *LEGACY_MSG)),
    Case("QISKit register imported by name", "a.py", """
        from qiskit import register
        register(token="{{legacy_token}}", url="https://quantumexperience.ng.bluemix.net/api")
        """, ("KG301@2",), ("qiskit.register(token=...)",)),
    Case("IBMQuantumExperience(token)", "a.py", """
        from IBMQuantumExperience import IBMQuantumExperience
        api = IBMQuantumExperience("{{legacy_token}}", config={"url": "https://quantumexperience.ng.bluemix.net/api"})
        """, ("KG301@2",), ("IBMQuantumExperience(...) as positional argument 1",)),
    Case("IBMQuantumExperience keyword", "a.py", """
        import IBMQuantumExperience
        api = IBMQuantumExperience.IBMQuantumExperience(token="{{legacy_token}}")
        """, ("KG301@2",), ("IBMQuantumExperience(token=...)",)),
    Case("Qconfig.py module", "Qconfig.py", """
        APItoken = "{{legacy_token}}"
        config = {"url": "https://quantumexperience.ng.bluemix.net/api"}
        """, ("KG301@1:13",), ("assigned to APItoken", *LEGACY_MSG)),
    # -- IonQ -------------------------------------------------------------------------------
    Case("cirq_ionq.Service second positional argument through an alias", "a.py", """
        import cirq_ionq as ionq
        service = ionq.Service("https://api.ionq.co/v0.4", "{{ionq_key}}")
        """, ("KG101@2:53",),
        ("IonQ", "passed to cirq_ionq.Service(...) as positional argument 2 (api_key)", *IONQ_MSG)),
    Case("cirq_ionq.Service keyword through an alias", "a.py", """
        import cirq_ionq as ionq
        service = ionq.Service(remote_host="https://api.ionq.co/v0.4", api_key="{{ionq_key}}")
        """, ("KG101@2",), ("passed to cirq_ionq.Service(api_key=...)",)),
    Case("cirq_ionq.Service keyword over several lines", "a.py", """
        import cirq_ionq
        service = cirq_ionq.Service(
            remote_host="https://api.ionq.co",
            api_key=(
                "{{ionq_key}}"
            ),
        )
        """, ("KG101@5:10",)),
    Case("IonQProvider by position", "a.py", """
        from qiskit_ionq import IonQProvider
        provider = IonQProvider("{{ionq_key}}")
        """, ("KG101@2:26",), ("IonQProvider(...) as positional argument 1 (token)", *IONQ_MSG)),
    Case("qiskit_ionq.IonQProvider keyword through an alias", "a.py", """
        import qiskit_ionq as qi
        from qiskit_ionq import IonQProvider as P
        provider = qi.IonQProvider(token="{{ionq_key}}")
        other = P(token="{{ionq_key}}")
        """, ("KG101@3", "KG101@4"), ("passed to IonQProvider(token=...)",)),
    Case("pennylane device ionq.qpu", "a.py", """
        import pennylane as qml
        dev = qml.device("ionq.qpu", wires=2, api_key="{{ionq_key}}")
        """, ("KG101@2:48",), ("passed to pennylane.device(api_key=...)", *IONQ_MSG)),
    Case("pennylane device by name keyword", "a.py", """
        from pennylane import device
        dev = device(name="ionq.simulator", wires=2, api_key="{{ionq_key}}")
        """, ("KG101@2",), ("pennylane.device(api_key=...)",)),
    Case("IonQBackend by position and keyword", "a.py", """
        from pytket.extensions.ionq import IonQBackend
        backend = IonQBackend("qpu.aria-1", "{{ionq_key}}")
        other = IonQBackend(device_name="simulator", api_key="{{ionq_key}}")
        """, ("KG101@2:38", "KG101@3"),
        ("IonQBackend(...) as positional argument 2 (api_key)", "IonQBackend(api_key=...)")),
    Case("set_ionq_config by position and keyword", "a.py", """
        from pytket.extensions.ionq import set_ionq_config
        set_ionq_config("{{ionq_key}}")
        set_ionq_config(api_key="{{ionq_key}}")
        """, ("KG101@2:18", "KG101@3"), ("set_ionq_config(...) as positional argument 1", "set_ionq_config(api_key=...)")),
    # -- unusual shapes at call sites ---------------------------------------------------------
    Case("IonQ literal of unusual shape", "a.py", """
        from pytket.extensions.ionq import IonQBackend
        backend = IonQBackend("qpu.aria-1", "k3y-F0r-the-lab-2024!")
        """, ("KG102@2:38",), ("IonQ credential literal", "IONQ_API_KEY", "revoke"),
        literal="k3y-F0r-the-lab-2024!"),
    Case("IonQ literal of unusual shape at IonQProvider", "a.py", """
        from qiskit_ionq import IonQProvider
        provider = IonQProvider("lab-key-2024-x9")
        """, ("KG102@2",), literal="lab-key-2024-x9"),
    Case("IonQ literal of unusual shape at a pennylane device", "a.py", """
        import pennylane
        dev = pennylane.device("ionq.qpu", wires=2, api_key="lab-key-2024-x9")
        """, ("KG102@2",), literal="lab-key-2024-x9"),
    Case("IBM literal of unusual shape", "a.py", """
        from qiskit_ibm_catalog import QiskitFunctionsCatalog
        catalog = QiskitFunctionsCatalog("lab-token-2024", instance="my-instance")
        """, ("KG203@2:35",), ("IBM credential literal", "QISKIT_IBM_TOKEN", "revoke"),
        literal="lab-token-2024"),
    Case("IBM literal of unusual shape at IAMAuthenticator", "a.py", """
        from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
        auth = IAMAuthenticator("Lab9-key-2024-x")
        """, ("KG203@2",), literal="Lab9-key-2024-x"),
    Case("IBM literal of unusual shape in Qconfig", "Qconfig.py", """
        APItoken = "some-weird-token-1234"
        """, ("KG203@1",), literal="some-weird-token-1234"),
]

INDIRECTION_CASES = [
    Case("module constant then call (reported at the literal)", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService

        TOKEN = "{{ibm_key}}"


        def connect():
            return QiskitRuntimeService(token=TOKEN)
        """, ("KG201@3:10",), ("assigned to TOKEN and passed to QiskitRuntimeService(token=...)",)),
    Case("annotated module constant", "a.py", """
        from qiskit_ionq import IonQProvider
        API_KEY: str = "{{ionq_key}}"
        provider = IonQProvider(API_KEY)
        """, ("KG101@2",), ("assigned to API_KEY and passed to IonQProvider",)),
    Case("dict literal passed with **", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        CREDS = {"channel": "ibm_cloud", "token": "{{ibm_key}}"}
        service = QiskitRuntimeService(**CREDS)
        """, ("KG201@2",), ("QiskitRuntimeService(**{'token': ...})",)),
    Case("dict(...) passed with **", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        CREDS = dict(channel="ibm_cloud", token="{{ibm_key}}")
        service = QiskitRuntimeService(**CREDS)
        """, ("KG201@2",), ("QiskitRuntimeService(**{'token': ...})",)),
    Case("inline dict passed with **", "a.py", """
        import cirq_ionq
        service = cirq_ionq.Service(**{"api_key": "{{ionq_key}}"})
        """, ("KG101@2",)),
    Case("dict entry subscript", "a.py", """
        from qiskit_ionq import IonQProvider
        KEYS = {"ionq": "{{ionq_key}}"}
        provider = IonQProvider(KEYS["ionq"])
        """, ("KG101@2",)),
    Case("class attribute through self", "a.py", """
        from qiskit_ionq import IonQProvider


        class Settings:
            TOKEN = "{{ionq_key}}"

            def provider(self):
                return IonQProvider(self.TOKEN)
        """, ("KG101@5",), ("assigned to TOKEN and passed to IonQProvider",)),
    Case("class attribute through the class", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService


        class Config:
            TOKEN = "{{ibm_key}}"


        service = QiskitRuntimeService(token=Config.TOKEN)
        """, ("KG201@5",)),
    Case("instance attribute set in __init__", "a.py", """
        import cirq_ionq


        class Client:
            def __init__(self):
                self.api_key = "{{ionq_key}}"

            def service(self):
                return cirq_ionq.Service(api_key=self.api_key)
        """, ("KG101@6",)),
    Case("function default argument", "a.py", """
        from qiskit_ionq import IonQProvider


        def make(token="{{ionq_key}}"):
            return IonQProvider(token)
        """, ("KG101@4",), ("assigned to token and passed to IonQProvider",)),
    Case("keyword-only default argument", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService


        def connect(*, tok="{{ibm_key}}"):
            return QiskitRuntimeService(token=tok)
        """, ("KG201@4",)),
    Case("os.environ assignment", "a.py", """
        import os
        os.environ["IONQ_API_KEY"] = "{{ionq_key}}"
        """, ("KG101@2:31",), ("written to os.environ as IONQ_API_KEY", "IONQ_API_KEY", "revoke")),
    Case("os.environ assignment of an IBM token", "a.py", """
        import os
        os.environ["QISKIT_IBM_TOKEN"] = "{{ibm_key}}"
        """, ("KG201@2",), ("written to os.environ as QISKIT_IBM_TOKEN",)),
    Case("os.environ.setdefault", "a.py", """
        import os
        os.environ.setdefault("QISKIT_IBM_TOKEN", "{{ibm_key}}")
        """, ("KG201@2",), ("written to the environment with setdefault() as QISKIT_IBM_TOKEN",)),
    Case("os.environ.setdefault through a constant", "a.py", """
        import os
        KEY = "{{ionq_key}}"
        os.environ.setdefault("IONQ_API_KEY", KEY)
        """, ("KG101@2",)),
    Case("os.environ.update", "a.py", """
        import os
        os.environ.update({"IONQ_API_KEY": "{{ionq_key}}"})
        """, ("KG101@2",), ("update() as IONQ_API_KEY",)),
    Case("Authorization header", "a.py", """
        import requests
        r = requests.get("https://api.ionq.co/v0.4/jobs", headers={"Authorization": "apiKey {{ionq_key}}"})
        """, ("KG101@2",), ("in an `Authorization: apiKey` header", *IONQ_MSG)),
    Case("Authorization header in a module dict", "a.py", """
        import requests

        HEADERS = {
            "Authorization": "apiKey {{ionq_key}}",
            "Content-Type": "application/json",
        }
        r = requests.get("https://api.ionq.co/v0.4/jobs", headers=HEADERS)
        """, ("KG101@4:30",), ("`Authorization: apiKey` header",)),
    Case("Authorization header by concatenation", "a.py", """
        import requests
        headers = {"Authorization": "apiKey " + "{{ionq_key}}"}
        r = requests.get("https://api.ionq.co/v0.4/jobs", headers=headers)
        """, ("KG101@2",)),
    Case("Authorization header f-string with a literal key", "a.py", """
        import requests
        headers = {"Authorization": f"apiKey {{ionq_key}}"}
        r = requests.get("https://api.ionq.co/v0.4/jobs", headers=headers)
        """, ("KG101@2",), ("`Authorization: apiKey` header",)),
    Case("IAM apikey form field", "a.py", """
        import requests
        iam_url = "https://iam.cloud.ibm.com/identity/token"
        r = requests.post(iam_url, data={"grant_type": "urn:ibm:params:oauth:grant-type:apikey", "apikey": "{{ibm_key}}"})
        """, ("KG201@3",), ("in an `apikey` field", *IBM_MSG)),
    Case("IAM apikey form field in a dict constant", "a.py", """
        import requests

        IAM_URL = "https://iam.cloud.ibm.com/identity/token"
        FORM = {
            "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
            "apikey": "{{ibm_key}}",
        }
        token = requests.post(IAM_URL, data=FORM).json()["access_token"]
        """, ("KG201@6",)),
    Case("IAM bearer token next to IBM context", "a.py", """
        import requests
        headers = {"Authorization": "Bearer {{iam_jwt}}"}
        r = requests.get("https://quantum.cloud.ibm.com/api/v1/jobs", headers=headers)
        """, ("KG202@2",), ("IBM Cloud IAM bearer token", "`Authorization: Bearer` header")),
    Case("credential-named assignment", "a.py", """
        import qiskit
        IBM_QUANTUM_TOKEN = "{{ibm_key}}"
        ionq_api_key = "{{ionq_key}}"
        """, ("KG201@2", "KG101@3")),
    Case("CRN is informational", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        service = QiskitRuntimeService(channel="ibm_cloud", instance="{{crn}}")
        """, ("KG204@2",), ("IBM Cloud CRN", "not a secret", "QISKIT_IBM_INSTANCE")),
]

COMMENT_CASES = [
    Case("commented-out call", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        # service = QiskitRuntimeService(token="{{ibm_key}}")
        service = QiskitRuntimeService()
        """, ("KG201@2",), ("in a comment", "delete the comment", "revoke")),
    Case("trailing comment", "a.py", """
        import qiskit_ionq
        provider = qiskit_ionq.IonQProvider()  # old key {{ionq_key}}
        """, ("KG101@2",), ("in a comment",)),
    Case("module docstring", "a.py", '''
        """Connect to IBM Quantum.

        Use token {{ibm_key}} for the lab account.
        """
        ''', ("KG201@3:11",)),
    Case("function docstring", "a.py", '''
        def connect():
            """IonQ key: {{ionq_key}}"""
        ''', ("KG101@2",)),
    Case("commented-out legacy save_account", "a.py", """
        from qiskit import IBMQ
        # IBMQ.save_account("{{legacy_token}}")
        IBMQ.load_account()
        """, ("KG301@2",)),
]

SYNTAX_ERROR_CASES = [
    Case("Python file with a syntax error", "a.py", """
        from qiskit_ibm_runtime import QiskitRuntimeService
        def broken(:
            pass
        TOKEN = "{{ibm_key}}"
        """, ("KG201@4",)),
    Case("Python 2 print statement", "old.py", """
        import qiskit_ionq
        print "connecting"
        key = "{{ionq_key}}"
        """, ("KG101@3",)),
]

TEXT_CASES = [
    Case(".env", ".env", """
        IONQ_API_KEY={{ionq_key}}
        QISKIT_IBM_TOKEN={{ibm_key}}
        """, ("KG101@1:14", "KG201@2:18"), ("assigned to IONQ_API_KEY", "keep it out of the repository", "revoke")),
    Case(".env.local with export and quotes", ".env.local", """
        export IONQ_API_KEY="{{ionq_key}}"
        """, ("KG101@1:22",)),
    Case(".env.production", ".env.production", """
        # production
        QISKIT_IBM_TOKEN={{ibm_key}}
        """, ("KG201@2",)),
    Case("shell profile", ".bashrc", """
        export PATH="$PATH:$HOME/bin"
        export QISKIT_IBM_TOKEN="{{ibm_key}}"
        """, ("KG201@2:26",)),
    Case("shell script", "profile.sh", """
        #!/bin/sh
        export IONQ_API_KEY={{ionq_key}}
        python run.py
        """, ("KG101@2",)),
    Case("shell curl with an apiKey header", "submit.sh", """
        curl -H "Authorization: apiKey {{ionq_key}}" https://api.ionq.co/v0.4/jobs
        """, ("KG101@1",), ("`Authorization: apiKey` header",)),
    Case("YAML config with a CRN", "config.yaml", """
        ibm:
          token: {{ibm_key}}
          instance: {{crn}}
        """, ("KG201@2:10", "KG204@3:13")),
    Case("YAML config with a quoted IonQ key", "config.yml", """
        ionq:
          api_key: "{{ionq_key}}"
        """, ("KG101@2",)),
    Case("TOML: PennyLane config.toml", "config.toml", """
        [main]
        shots = 1000

        [ionq.global]
        api_key = "{{ionq_key}}"
        """, ("KG101@5:12",)),
    Case("INI config", "settings.ini", """
        [ibm]
        apikey = {{ibm_key}}
        """, ("KG201@2",)),
    Case("committed qiskit-ibm.json", "qiskit-ibm.json", """
        {
            "default-ibm-quantum-platform": {
                "channel": "ibm_quantum_platform",
                "token": "{{ibm_key}}",
                "url": "https://cloud.ibm.com"
            }
        }
        """, ("KG201@4:19",)),
    Case("qiskitrc", "qiskitrc", """
        [ibmq]
        token = {{legacy_token}}
        url = https://auth.quantum-computing.ibm.com/api
        """, ("KG301@2:9",)),
    Case("qiskitrc in its folder", ".qiskit/qiskitrc", """
        [ibmq]
        token = {{legacy_token}}
        """, ("KG301@2",)),
    Case("pytket config.json", "config.json", """
        {
          "extensions": {
            "pytket-ionq": {
              "api_key": "{{ionq_key}}"
            }
          }
        }
        """, ("KG101@4:19",)),
    Case("ibm-credentials.env", "ibm-credentials.env", """
        NATURAL_LANGUAGE_UNDERSTANDING_APIKEY={{ibm_key}}
        NATURAL_LANGUAGE_UNDERSTANDING_URL=https://api.us-south.natural-language-understanding.watson.cloud.ibm.com
        """, ("KG201@1:39",), ("in an `apikey` field",)),
    Case("IBM service-credential JSON", "credentials.json", """
        {
          "apikey": "{{ibm_key}}",
          "iam_apikey_description": "Auto-generated for key",
          "iam_apikey_name": "Service credentials-1"
        }
        """, ("KG201@2:14",)),
    Case("Markdown code block", "README.md", """
        # Setup

        ```python
        from qiskit_ibm_runtime import QiskitRuntimeService
        QiskitRuntimeService.save_account(token="{{ibm_key}}")
        ```
        """, ("KG201@5",)),
    Case("Markdown shell block", "docs/ionq.md", """
        Set your IonQ key:

        ```bash
        export IONQ_API_KEY={{ionq_key}}
        ```
        """, ("KG101@4",)),
    Case("reStructuredText code block", "docs.rst", """
        Setup
        =====

        .. code-block:: python

           import cirq_ionq
           service = cirq_ionq.Service(api_key="{{ionq_key}}")
        """, ("KG101@7",)),
    Case("plain text", "notes.txt", """
        my IonQ key is {{ionq_key}}
        """, ("KG101@1:16",)),
    Case("IBM key in a plain-text note", "NOTES", """
        IBM Quantum API token: {{ibm_key}}
        """, ("KG201@1",)),
    Case("legacy token in a text note", "notes.txt", """
        qiskit IBMQ token
        {{legacy_token}}
        """, ("KG301@2",)),
    Case("CRN in a YAML file", "service.yaml", """
        instance: {{crn}}
        """, ("KG204@1",)),
]

LINE_CASES = [
    # ast numbers lines by "\n" only; a form feed (a page break, common in older sources) or a
    # Unicode line separator before the call once shifted the column of call-site findings.
    Case("form feed page break before the call", "a.py",
         'from qiskit_ibm_runtime import QiskitRuntimeService\n\x0c\n'
         'service = QiskitRuntimeService(token="{{ibm_key}}")\n',
         ("KG201@3:39",)),
    Case("form feed inside a string before the call", "a.py",
         'import cirq_ionq\nSEP = "a\x0cb"\nservice = cirq_ionq.Service(api_key="{{ionq_key}}")\n',
         ("KG101@3:38",)),
    Case("unicode line separator in a comment before a literal of unusual shape", "a.py",
         'from qiskit_ibm_runtime import QiskitRuntimeService\n# \u2028 \x85\n'
         'service = QiskitRuntimeService(token="lab-token-2024")\n',
         ("KG203@3:39",), literal="lab-token-2024"),
    Case("CRLF line ends", "a.py",
         'from qiskit_ionq import IonQProvider\r\n\r\nprovider = IonQProvider("{{ionq_key}}")\r\n',
         ("KG101@3:26",)),
    Case("non-ASCII text before the key on its line", "a.py",
         'from qiskit_ibm_runtime import QiskitRuntimeService\n'
         'nom = "Élodie"; service = QiskitRuntimeService(token="{{ibm_key}}")\n',
         ("KG201@2:55",)),
]

POSITIVE = SDK_CASES + INDIRECTION_CASES + COMMENT_CASES + SYNTAX_ERROR_CASES + TEXT_CASES + LINE_CASES


@pytest.mark.parametrize("case", POSITIVE, ids=[c.name for c in POSITIVE])
def test_detects(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, planted = case.render()
    result = scan_file(tmp_path, monkeypatch, case.file, text)
    findings = result.findings
    assert_found(findings, case.expect)
    revealed = {f.secret.reveal() for f in findings}
    for value in planted:
        assert value in revealed, "a planted key was not reported"
    for finding in findings:
        assert finding.location.path == case.file
        if finding.rule_id in TOKEN_RULES:
            assert finding.secret.reveal() in planted
        else:
            assert finding.rule_id in LITERAL_RULES
            assert finding.secret.reveal() == case.literal
        assert_points_at_secret(text, finding)
        assert finding.secret.reveal() not in finding.message
    messages = "\n".join(f.message for f in findings)
    for fragment in case.fragments:
        assert fragment in messages
    if case in SYNTAX_ERROR_CASES:
        assert any("syntax error" in note for _, note in result.notes), result.notes
    else:
        assert not any("syntax error" in note for _, note in result.notes), result.notes


def test_provider_names_and_severities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, _ = render(
        'import os\n'
        'IONQ_API_KEY = "{{ionq_key}}"\n'
        'QISKIT_IBM_TOKEN = "{{ibm_key}}"\n'
        'QE_TOKEN = "{{legacy_token}}"\n'
        'instance = "{{crn}}"  # qiskit\n',
        FakeKeys("severities"),
    )
    findings = scan_file(tmp_path, monkeypatch, "a.py", text).findings
    by_rule = {f.rule_id: f for f in findings}
    assert set(by_rule) == {"KG101", "KG201", "KG301", "KG204"}
    assert by_rule["KG101"].provider == "IonQ"
    assert by_rule["KG101"].severity is Severity.HIGH
    assert by_rule["KG101"].env_var == "IONQ_API_KEY"
    assert by_rule["KG201"].provider == "IBM Cloud / IBM Quantum Platform"
    assert by_rule["KG201"].severity is Severity.CRITICAL
    assert by_rule["KG201"].env_var == "QISKIT_IBM_TOKEN"
    assert by_rule["KG301"].provider == "IBM Quantum (legacy)"
    assert by_rule["KG204"].severity is Severity.INFO


# --------------------------------------------------------------------------------------------
# save_account with the token from elsewhere: a low-severity notice (KG205)


@pytest.mark.parametrize(
    ("source", "callee"),
    [
        (
            'import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n'
            'QiskitRuntimeService.save_account(token=os.environ["QISKIT_IBM_TOKEN"], channel="ibm_quantum_platform")\n',
            "QiskitRuntimeService.save_account()",
        ),
        (
            'import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService as QRS\n'
            'QRS.save_account(os.getenv("QISKIT_IBM_TOKEN"))\n',
            "QiskitRuntimeService.save_account()",
        ),
        (
            'import os\nfrom qiskit import IBMQ\nIBMQ.save_account(os.environ["QE_TOKEN"])\n',
            "IBMQ.save_account()",
        ),
        (
            'import os\nfrom qiskit_ibm_provider import IBMProvider\n'
            'IBMProvider.save_account(token=os.environ.get("QISKIT_IBM_TOKEN"))\n',
            "IBMProvider.save_account()",
        ),
        (
            'import os\nfrom qiskit_ibm_catalog import QiskitFunctionsCatalog\n'
            'QiskitFunctionsCatalog.save_account(token=os.environ["QISKIT_IBM_TOKEN"])\n',
            "QiskitFunctionsCatalog.save_account()",
        ),
    ],
    ids=["runtime", "runtime-alias-getenv", "ibmq", "ibmprovider", "catalog"],
)
def test_save_account_from_environment_is_a_low_notice(
    source: str, callee: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    findings = scan_file(tmp_path, monkeypatch, "a.py", source).findings
    assert_found(findings, ["KG205@3:1"])
    (finding,) = findings
    assert finding.severity is Severity.LOW
    assert callee in finding.message
    assert "from the environment" in finding.message
    # Each persisting call names its own file (the call site's saves_to in the pack).
    saved = "~/.qiskit/qiskitrc" if callee.startswith("IBMQ.") else "~/.qiskit/qiskit-ibm.json"
    assert f"writes the token in plain text to {saved}" in finding.message
    if callee.startswith("IBMQ."):
        assert "QE_TOKEN" in finding.message and "QISKIT_IBM_TOKEN" not in finding.message


def test_save_account_from_a_variable_is_a_low_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        "import os\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
        'token = os.environ["QISKIT_IBM_TOKEN"]\nQiskitRuntimeService.save_account(token=token)\n'
    )
    findings = scan_file(tmp_path, monkeypatch, "a.py", source).findings
    assert_found(findings, ["KG205@4"])
    assert findings[0].severity is Severity.LOW
    assert "~/.qiskit/qiskit-ibm.json" in findings[0].message


def test_crn_is_informational(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, (crn,) = render("instance: {{crn}}\n", FakeKeys("crn"))
    (finding,) = scan_file(tmp_path, monkeypatch, "config.yaml", text).findings
    assert finding.rule_id == "KG204"
    assert finding.severity is Severity.INFO
    assert finding.secret.reveal() == crn


def test_syntax_error_note_names_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text, _ = render('import qiskit_ionq\nx = (\nkey = "{{ionq_key}}"\n', FakeKeys("syntax"))
    result = scan_file(tmp_path, monkeypatch, "broken.py", text)
    assert_found(result.findings, ["KG101@3"])
    (note,) = [n for p, n in result.notes if p == "broken.py"]
    assert "syntax error" in note and "token detector" in note


# --------------------------------------------------------------------------------------------
# notebooks (built with nbformat at run time)


def notebook(cells: list, metadata: dict | None = None) -> str:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    if metadata:
        nb.metadata.update(metadata)
    return nbformat.writes(nb)


def scan_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cells: list, **kw) -> tuple[str, ScanResult]:
    raw = notebook(cells, **kw)
    return raw, scan_file(tmp_path, monkeypatch, "demo.ipynb", raw)


def assert_notebook_position(raw: str, cells: list, finding: Finding) -> None:
    """cell / cell_line / column point at the secret in the cell text; raw_line at its JSON line."""
    loc = finding.location
    secret = finding.secret.reveal()
    assert loc.cell is not None and loc.cell_line == loc.line
    cell = cells[loc.cell]
    if loc.part == "source":
        text = cell.source
    else:
        output = cell.outputs[loc.output_index]
        if output.output_type == "stream":
            text = output.text
        elif output.output_type == "error":
            text = None  # ANSI codes stripped: checked by the caller
        else:
            text = output.data["text/plain"]
    if text is not None:
        line = text.split("\n")[loc.line - 1]
        assert line[loc.column - 1: loc.end_column - 1] == secret
    raw_line = raw.split("\n")[loc.raw_line - 1]
    assert secret in raw_line
    assert raw_line[loc.raw_column - 1:].startswith(secret)


def test_notebook_code_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ibm = key("ibm_key", "nb-code")
    cells = [
        new_markdown_cell("# Run on IBM Quantum"),
        new_code_cell("import numpy as np"),
        new_code_cell(
            "from qiskit_ibm_runtime import QiskitRuntimeService\n\n"
            f'service = QiskitRuntimeService(channel="ibm_quantum_platform", token="{ibm}")'
        ),
    ]
    raw, result = scan_notebook(tmp_path, monkeypatch, cells)
    (finding,) = result.findings
    assert finding.rule_id == "KG201"
    assert finding.secret.reveal() == ibm
    loc = finding.location
    assert (loc.cell, loc.cell_line, loc.part) == (2, 3, "source")
    assert loc.column == cells[2].source.split("\n")[2].index(ibm) + 1
    assert loc.display().startswith("demo.ipynb:cell 3:3:")
    assert_notebook_position(raw, cells, finding)
    assert "passed to QiskitRuntimeService(token=...)" in finding.message


def test_notebook_constant_in_one_cell_call_in_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ionq = key("ionq_key", "nb-cross")
    cells = [
        new_code_cell(f'import cirq_ionq\nAPI_KEY = "{ionq}"'),
        new_markdown_cell("Now connect"),
        new_code_cell("service = cirq_ionq.Service(api_key=API_KEY)"),
    ]
    raw, result = scan_notebook(tmp_path, monkeypatch, cells)
    (finding,) = result.findings
    assert (finding.rule_id, finding.location.cell, finding.location.cell_line) == ("KG101", 0, 2)
    assert "cirq_ionq.Service(api_key=...)" in finding.message
    assert_notebook_position(raw, cells, finding)


@pytest.mark.parametrize(
    ("source", "kind", "cell_line", "fragments"),
    [
        ("import qiskit\n%env QISKIT_IBM_TOKEN={{ibm_key}}", "KG201", 2, ("%env magic", "QISKIT_IBM_TOKEN")),
        ("!export IONQ_API_KEY={{ionq_key}}\nx = 1", "KG101", 1, ("shell command", "IONQ_API_KEY")),
        ('!curl -H "Authorization: apiKey {{ionq_key}}" https://api.ionq.co/v0.4/jobs', "KG101", 1, ("IonQ",)),
        ("%%bash\nexport IONQ_API_KEY={{ionq_key}}\necho done", "KG101", 2, ("IONQ_API_KEY",)),
        ("import qiskit_ionq\nkeys = !cat ~/.ionq\n# {{ionq_key}}", "KG101", 3, ("comment",)),
    ],
    ids=["env-magic", "bang-export", "bang-curl", "bash-cell-magic", "assign-from-shell"],
)
def test_notebook_magics(
    source: str, kind: str, cell_line: int, fragments: tuple[str, ...],
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    text, (value,) = render(source, FakeKeys(source))
    cells = [new_markdown_cell("setup"), new_code_cell(text)]
    raw, result = scan_notebook(tmp_path, monkeypatch, cells)
    (finding,) = result.findings
    assert finding.rule_id == kind
    assert finding.secret.reveal() == value
    assert (finding.location.cell, finding.location.cell_line) == (1, cell_line)
    assert_notebook_position(raw, cells, finding)
    for fragment in fragments:
        assert fragment in finding.message
    assert not result.notes, result.notes  # the masked cell parses


def test_notebook_markdown_and_raw_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ionq, ibm = key("ionq_key", "md"), key("ibm_key", "md")
    cells = [
        new_markdown_cell(f"# IonQ\n\nUse the IonQ API key {ionq} to log in."),
        new_raw_cell(f"QISKIT_IBM_TOKEN={ibm}"),
    ]
    raw, result = scan_notebook(tmp_path, monkeypatch, cells)
    got = sorted((f.rule_id, f.location.cell, f.location.cell_line) for f in result.findings)
    assert got == [("KG101", 0, 3), ("KG201", 1, 1)]
    for finding in result.findings:
        assert_notebook_position(raw, cells, finding)
        assert "remove it from the cell" in finding.message


def test_notebook_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes = FakeKeys("outputs")
    ibm, ionq, ionq2 = fakes.ibm_key(), fakes.ionq_key(), fakes.ionq_key()
    account = (
        "{'channel': 'ibm_quantum_platform',\n"
        f" 'token': '{ibm}',\n"
        " 'url': 'https://cloud.ibm.com'}"
    )
    cells = [
        new_code_cell(
            "from qiskit_ibm_runtime import QiskitRuntimeService\nservice = QiskitRuntimeService()\n"
            "service.active_account()",
            outputs=[new_output("execute_result", data={"text/plain": account}, execution_count=1)],
        ),
        new_code_cell(
            "import qiskit_ionq\nprint(settings)",
            outputs=[new_output("stream", name="stdout", text=f"loaded settings\nkey {ionq}\n")],
        ),
        new_code_cell(
            "import qiskit_ionq\nprovider = qiskit_ionq.IonQProvider(KEY)",
            outputs=[
                new_output(
                    "error",
                    ename="IonQCredentialsError",
                    evalue="invalid key",
                    traceback=[
                        "\x1b[0;31m-------------------------------------------\x1b[0m",
                        "\x1b[0;31mIonQCredentialsError\x1b[0m   Traceback (most recent call last)",
                        f"\x1b[0;32m----> 1\x1b[0m provider \x1b[38;5;241m=\x1b[39m "
                        f"IonQProvider(\x1b[38;5;124m'{ionq2}'\x1b[39m)",
                    ],
                )
            ],
        ),
    ]
    raw, result = scan_notebook(tmp_path, monkeypatch, cells)
    got = sorted(
        (f.rule_id, f.location.cell, f.location.part, f.location.output_index, f.location.cell_line)
        for f in result.findings
    )
    assert got == [
        ("KG101", 1, "output", 0, 2),
        ("KG101", 2, "output", 0, 4),  # line 1 is "ename: evalue", then one line per entry
        ("KG201", 0, "output", 0, 2),
    ]
    by_value = {f.secret.reveal(): f for f in result.findings}
    assert set(by_value) == {ibm, ionq, ionq2}
    for finding in result.findings:
        assert "clear the cell output" in finding.message
        assert_notebook_position(raw, cells, finding)
    assert by_value[ibm].location.column == 12
    assert by_value[ionq2].location.display().startswith("demo.ipynb:cell 3 output 1:4:")


def test_notebook_images_html_and_metadata_are_not_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fakes = FakeKeys("not-scanned")
    ionq, ibm = fakes.ionq_key(), fakes.ibm_key()
    rng = random.Random(7)
    png = base64.b64encode(bytes(rng.randrange(256) for _ in range(4000))).decode()
    cells = [
        new_code_cell(
            "import qiskit_ionq\nfrom qiskit_ibm_runtime import QiskitRuntimeService\nplot_histogram(counts)",
            outputs=[
                new_output("display_data", data={"image/png": png, "text/plain": "<Figure size 640x480>"}),
                new_output(
                    "display_data",
                    data={"image/svg+xml": f"<svg><!-- IonQ api key {ionq} --></svg>", "text/plain": "<SVG>"},
                ),
                new_output(
                    "display_data",
                    data={"text/html": f"<b>QISKIT_IBM_TOKEN={ibm}</b>", "text/plain": "<HTML object>"},
                ),
            ],
        ),
    ]
    cells[0].metadata["ionq"] = {"api_key": ionq}
    raw, result = scan_notebook(
        tmp_path, monkeypatch, cells,
        metadata={"widgets": {"state": {"token": ibm, "ionq_api_key": ionq}}},
    )
    assert ionq in raw and ibm in raw
    assert result.findings == []


def test_notebook_base64_image_in_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(11)
    blob = base64.b64encode(bytes(rng.randrange(256) for _ in range(6000))).decode()
    cells = [
        new_markdown_cell(f"IBM Quantum result:\n\n![histogram](data:image/png;base64,{blob})"),
        new_code_cell("from qiskit_ibm_runtime import QiskitRuntimeService\nimport qiskit_ionq"),
    ]
    _, result = scan_notebook(tmp_path, monkeypatch, cells)
    assert result.findings == []


def test_notebook_cell_that_does_not_parse_still_gets_the_token_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ionq, ionq2 = key("ionq_key", "unparsable"), key("ionq_key", "unparsable-2")
    cells = [
        new_code_cell(f'import cirq_ionq\ndef broken(:\n    pass\nIONQ_API_KEY = "{ionq}"'),
        new_code_cell(f'service = cirq_ionq.Service(api_key="{ionq2}")'),
    ]
    raw, result = scan_notebook(tmp_path, monkeypatch, cells)
    got = sorted((f.rule_id, f.location.cell, f.location.cell_line) for f in result.findings)
    assert got == [("KG101", 0, 4), ("KG101", 1, 1)]
    for finding in result.findings:
        assert_notebook_position(raw, cells, finding)
    notes = [n for _, n in result.notes]
    assert any(n.startswith("cell 1: Python syntax error") for n in notes), notes


def test_notebook_raw_line_is_the_json_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ibm = key("ibm_key", "raw-line")
    cells = [
        new_code_cell("x = 1\ny = 2\nz = 3"),
        new_code_cell(f'import os\n\nimport qiskit\n\nos.environ["QISKIT_IBM_TOKEN"] = "{ibm}"'),
    ]
    raw, result = scan_notebook(tmp_path, monkeypatch, cells)
    (finding,) = result.findings
    loc = finding.location
    assert (loc.cell, loc.cell_line) == (1, 5)
    json_lines = raw.split("\n")
    expected = next(i for i, line in enumerate(json_lines, 1) if ibm in line)
    assert loc.raw_line == expected != loc.line
    assert loc.raw_column == json_lines[expected - 1].index(ibm) + 1


# --------------------------------------------------------------------------------------------
# must NOT be flagged: placeholders at call sites


def _detect_secrets_fixture() -> str:
    return "abcd1234" * 3 + "ABCD1234" * 2 + "--__"


IBM_PLACEHOLDERS = [
    "<your-token>", "<your-API-key>", "<your-API-token>", "<IBM Cloud API key>", "MY_APIKEY",
    "your_API_KEY", "<your-key>", "<NEW_BEARER_TOKEN>", "<BEARER_TOKEN>", "<MY_IBM_QUANTUM_TOKEN>",
    "MY_IBM_QUANTUM_TOKEN", "MY_IBM_CLOUD_API_KEY", "API_KEY", "MY_API_TOKEN",
    "<INSERT_IBM_QUANTUM_TOKEN>", "my_token", "token-y", "dummy_token", "temp_token",
    "token-ibm-cloud", "abc", "my-token", "test_token", "cloud_token", "YOUR_IBM_QUANTUM_API_TOKEN",
    "YOUR_API_KEY", "YOUR_TOKEN", "API TOKEN GOES HERE", "IBM_token", "<API_TOKEN>", "<api key>",
    "<IBM_TOKEN>", "TU_TOKEN", "insert_token_here", "your token", "Please input your token",
    "Paste your APItoken here", "myAPI toke", "insert_key_here", "afakekey",
    "eyJhbGciOiJIUz......sgrKIi8hdFs", "SPrXw5tBE3......KBQ+luWQVY=", "QISKIT_IBM_TOKEN",
    "${QISKIT_IBM_TOKEN}", "{{ secrets.QISKIT_IBM_TOKEN }}", "token", "...", "",
]
IBM_GENERATED_PLACEHOLDERS = {
    "detect-secrets fixture": _detect_secrets_fixture,
    "44 zeros": lambda: "0" * 44,
    "44 x": lambda: "x" * 44,
    "period-4 pattern": lambda: ("aB3-" * 11),
    "period-8 pattern": lambda: ("Ab12Cd34" * 6)[:44],
    "masked": lambda: "abcd" + "*" * 36 + "wxyz",
}
IONQ_PLACEHOLDERS = [
    "tomyheart", "to_my_heart", "not_this_key", "key", "a", "API_KEY", "token",
    "superseekr!t-token", "123456", "test", "ABC123", "your-key-here", "your-api-key",
    "your_api_key", "your_api_key_here", "YOUR API KEY HERE", "API KEY GOES HERE",
    "ionq_generated_api_key", "<your-ionq-api-key>", "your_ionq_api_key", "your_ionq_key_here",
    "MY_IONQ_TOKEN", "YOUR_IONQ_API_TOKEN", "YOUR_IONQ_API_KEY", "YOUR_IONQ_KEY", "YOUR_TOKEN",
    "your_key", "your-key", "tu_api_key", "test-key-not-used", "test-token", "dummy", "none",
    "...", "My token", "<key>", "IONQ_API_KEY", "${IONQ_API_KEY}", "{{ secrets.IONQ_API_KEY }}",
]
IONQ_GENERATED_PLACEHOLDERS = {
    "32 zeros": lambda: "0" * 32,
    "32 x": lambda: "x" * 32,
    "period-3 pattern": lambda: ("aB3" * 11)[:32],
    "period-8 pattern": lambda: "abcdEFGH" * 4,
    "sequential": lambda: "0123456789abcdefghijklmnopqrstuv",
}
LEGACY_GENERATED_PLACEHOLDERS = {
    "128 zeros": lambda: "0" * 128,
    "period-2 hex": lambda: "ab" * 64,
    "period-8 hex": lambda: "deadbeef" * 16,
    "period-16 hex": lambda: "0123456789abcdef" * 8,
}

IBM_SITES = [
    "from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService(channel='ibm_cloud', token={v})\n",
    "from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService('ibm_cloud', {v})\n",
    "from qiskit_ibm_runtime import QiskitRuntimeService\nQiskitRuntimeService.save_account(token={v})\n",
    "from qiskit_ibm_catalog import QiskitFunctionsCatalog\nQiskitFunctionsCatalog({v})\n",
    "from ibm_cloud_sdk_core.authenticators import IAMAuthenticator\nIAMAuthenticator(apikey={v})\n",
    "from qiskit import IBMQ\nIBMQ.enable_account({v})\n",
    "import os\nos.environ['QISKIT_IBM_TOKEN'] = {v}\n",
    "import qiskit\nIBM_QUANTUM_TOKEN = {v}\n",
]
IONQ_SITES = [
    "import cirq_ionq\ncirq_ionq.Service(api_key={v})\n",
    "import cirq_ionq as ionq\nionq.Service('https://api.ionq.co/v0.4', {v})\n",
    "from qiskit_ionq import IonQProvider\nIonQProvider({v})\n",
    "import pennylane as qml\nqml.device('ionq.qpu', wires=2, api_key={v})\n",
    "from pytket.extensions.ionq import IonQBackend\nIonQBackend('qpu.aria-1', {v})\n",
    "from pytket.extensions.ionq import set_ionq_config\nset_ionq_config({v})\n",
    "import os\nos.environ['IONQ_API_KEY'] = {v}\n",
    "import requests\nrequests.get('https://api.ionq.co/v0.4/jobs', headers={{'Authorization': 'apiKey ' + {v}}})\n",
]
LEGACY_SITES = [
    "from qiskit import IBMQ\nIBMQ.save_account({v})\n",
    "import qiskit\nqiskit.register({v}, 'https://quantumexperience.ng.bluemix.net/api')\n",
    "APItoken = {v}\n",
]


def _placeholder_params() -> list:
    params = []
    groups = [
        ("ibm", IBM_PLACEHOLDERS, IBM_GENERATED_PLACEHOLDERS, IBM_SITES),
        ("ionq", IONQ_PLACEHOLDERS, IONQ_GENERATED_PLACEHOLDERS, IONQ_SITES),
        ("legacy", ["Paste your APItoken here", "API TOKEN GOES HERE", "QE_TOKEN"], LEGACY_GENERATED_PLACEHOLDERS,
         LEGACY_SITES),
    ]
    for provider, fixed, generated, sites in groups:
        values = [(v, v) for v in fixed] + [(name, make) for name, make in generated.items()]
        for label, value in values:
            params.append(pytest.param(value, sites, id=f"{provider}:{label}"))
    return params


@pytest.mark.parametrize(("value", "sites"), _placeholder_params())
def test_placeholder_at_call_sites_is_not_flagged(
    value, sites: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    literal = value() if callable(value) else value
    for i, site in enumerate(sites):
        source = site.format(v=repr(literal))
        findings = scan_file(tmp_path, monkeypatch, f"site{i}.py", source).findings
        assert findings == [], (source, [(f.rule_id, f.location.line) for f in findings])


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("env.py", """
            import os
            from qiskit_ibm_runtime import QiskitRuntimeService
            from qiskit_ionq import IonQProvider
            import cirq_ionq
            a = QiskitRuntimeService(channel="ibm_quantum_platform", token=os.environ["QISKIT_IBM_TOKEN"])
            b = QiskitRuntimeService(token=os.getenv("QISKIT_IBM_TOKEN"))
            c = IonQProvider(os.environ.get("IONQ_API_KEY"))
            d = cirq_ionq.Service(api_key=os.environ["IONQ_API_KEY"])
            TOKEN = os.getenv("IBM_QUANTUM_TOKEN", "")
            e = QiskitRuntimeService(token=TOKEN)
            headers = {"Authorization": f"apiKey {os.getenv('IONQ_API_KEY')}"}
            headers2 = {"Authorization": "apiKey " + os.environ["IONQ_API_KEY"]}
            """),
        ("env.ipynb-like.py", """
            import os
            import qiskit_ionq
            key = os.environ["IONQ_API_KEY"]
            provider = qiskit_ionq.IonQProvider(key)
            """),
        (".github/workflows/ci.yaml", """
            env:
              IONQ_API_KEY: ${{ secrets.IONQ_API_KEY }}
              QISKIT_IBM_TOKEN: ${{ secrets.QISKIT_IBM_TOKEN }}
              IBM_QUANTUM_TOKEN: "{{ secrets.IBM_TOKEN }}"
            steps:
              - run: python -c "import qiskit_ionq"
            """),
        (".env.example", """
            IONQ_API_KEY=${IONQ_API_KEY}
            QISKIT_IBM_TOKEN=<your-token>
            IBM_QUANTUM_TOKEN=your_ibm_quantum_token_here
            QE_TOKEN=
            """),
        ("profile.sh", """
            export QISKIT_IBM_TOKEN="$(pass show ibm/quantum)"
            export IONQ_API_KEY="${IONQ_API_KEY:-}"
            """),
        ("docker-compose.yml", """
            services:
              qiskit:
                environment:
                  - QISKIT_IBM_TOKEN=${QISKIT_IBM_TOKEN}
                  - IONQ_API_KEY
            """),
    ],
    ids=["python-env-reads", "env-read-variable", "github-actions-secrets", "env-example", "shell", "compose"],
)
def test_environment_reads_are_not_flagged(
    name: str, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    findings = scan_file(tmp_path, monkeypatch, name, textwrap.dedent(source).lstrip("\n")).findings
    assert findings == [], [(f.rule_id, f.location.line, f.context) for f in findings]


@pytest.mark.parametrize(
    "instance",
    ["<IBM Cloud CRN or instance name>", "<INSTANCE_CRN>", "<INSERT_CRN>", "CRN", "crn:123", "MY_IBM_CLOUD_CRN",
     "<MY_INSTANCE_CRN or name>", "CRN GOES HERE", "crn:v1:bluemix:public:quantum-computing:my-region:a/...:...::"],
)
def test_crn_placeholders_are_not_flagged(instance: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        "from qiskit_ibm_runtime import QiskitRuntimeService\n"
        f"service = QiskitRuntimeService(channel='ibm_cloud', instance={instance!r})\n"
    )
    assert scan_file(tmp_path, monkeypatch, "a.py", source).findings == []


def test_pennylane_device_that_is_not_ionq_is_not_a_call_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The pack's pennylane.device call site applies only to "ionq." devices; another device's
    # api_key (a different provider's) in a file with no IonQ context is not an IonQ key.
    ionq = key("ionq_key", "pennylane-other")
    source = f'import pennylane as qml\ndev = qml.device("default.qubit", wires=2, api_key="{ionq}")\n'
    assert scan_file(tmp_path, monkeypatch, "a.py", source).findings == []
    source = 'import pennylane as qml\ndev = qml.device("default.qubit", wires=2, api_key="lab-key-2024-x9")\n'
    assert scan_file(tmp_path, monkeypatch, "b.py", source).findings == []


# --------------------------------------------------------------------------------------------
# must NOT be flagged: look-alikes without provider context


def _digests(seed: str) -> dict[str, str]:
    data = seed.encode()
    return {
        "sha512": hashlib.sha512(data).hexdigest(),
        "sha384": hashlib.sha384(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "blake2b": hashlib.blake2b(data).hexdigest(),
        "sha3_512": hashlib.sha3_512(data).hexdigest(),
        "sri": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
    }


def _lookalike_files() -> list:
    d1, d2, d3 = _digests("one"), _digests("two"), _digests("three")
    rng = random.Random(5)
    uuid = "-".join(rng.getrandbits(4 * n).to_bytes(n // 2, "big").hex() for n in (8, 4, 4, 4, 12))
    decimal = lambda n: str(rng.randrange(1, 10)) + "".join(rng.choice("0123456789") for _ in range(n - 1))  # noqa: E731
    binary = lambda n: "".join(rng.choice("01") for _ in range(n))  # noqa: E731
    fakes = FakeKeys("lookalikes")
    files = {
        "requirements.txt": (
            f"qiskit-ibm-runtime==0.30.0 \\\n    --hash=sha512:{d1['sha512']}\n"
            f"qiskit-ionq==0.5.0 \\\n    --hash=sha256:{d1['sha256']}\n"
        ),
        "poetry.lock": (
            '[[package]]\nname = "qiskit-ibm-runtime"\nversion = "0.30.0"\nfiles = [\n'
            f'    {{file = "qiskit_ibm_runtime-0.30.0.tar.gz", hash = "sha256:{d1["sha256"]}"}},\n]\n'
        ),
        "package-lock.json": json.dumps(
            {"name": "ibm-quantum-ui", "packages": {"node_modules/ionq-js": {"integrity": d1["sri"]}}}, indent=2
        ),
        "SHA512SUMS": f"{d1['sha512']}  dataset-1.tar.gz\n{d2['sha512']}  dataset-2.tar.gz\n",
        "checksums.txt": "".join(f"{d[k]}  model.bin\n" for d in (d1, d2) for k in ("sha512", "sha3_512", "blake2b")),
        "digest.py": (
            "import hashlib\nfrom qiskit import IBMQ\n"
            f'EXPECTED_SHA512 = "{d1["sha512"]}"\n'
            f'sha512 = "{d2["sha512"]}"\n'
            f'checksum = "{d3["sha512"]}"  # IBMQ result digest\n'
            "assert hashlib.sha512(data).hexdigest() == EXPECTED_SHA512\n"
        ),
        "git.py": (
            "# qiskit-ibm-runtime pinned revision\n"
            f'REV = "{d1["sha1"]}"\nSHORT = "{d1["sha1"][:7]}"\n'
            f'RUN_ID = "{uuid}"\nJOB_ID = "{uuid.replace("-", "")}"\nMD5 = "{d1["md5"]}"\n'
            "import qiskit_ionq\n"
        ),
        "numbers.py": (
            "import qiskit_ionq\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n"
            f"N = {decimal(44)}\nM = {decimal(128)}\n"
            f'S = "{decimal(32)}"\nT = "{decimal(128)}"\n'
            f'B = "{binary(32)}"\nC = "{binary(44)}"\nD = "{binary(128)}"\n'
        ),
        "unrelated.py": (
            "import numpy as np\n\n"
            f'CACHE_PREFIX = "{fakes.ionq_key()}"\nSALT = "{fakes.ibm_key()}"\n'
            f'SESSION_SECRET = "{fakes.ionq_key()}"\n'
            f'ROW_HASH = "{fakes.legacy_token()}"\n'
        ),
        "identifiers.py": (
            "import qiskit_ionq\n"
            'NAME = "QiskitRuntimeServiceIntegration"\n'
            'CONST = "IONQ_API_KEY_ENVIRONMENT_VARIABLE_NAME"\n'
            'path = "ionq/backends/simulator/noise_model/aria"\n'
        ),
    }
    return [pytest.param(name, text, id=name) for name, text in files.items()]


@pytest.mark.parametrize(("name", "text"), _lookalike_files())
def test_lookalikes_are_not_flagged(name: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    findings = scan_file(tmp_path, monkeypatch, name, text).findings
    assert findings == [], [(f.rule_id, f.location.line, f.context) for f in findings]


def test_iam_jwt_without_ibm_context_is_not_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jwt = key("iam_jwt", "no-context")
    source = f'import requests\nheaders = {{"Authorization": "Bearer {jwt}"}}\nrequests.get(URL, headers=headers)\n'
    assert scan_file(tmp_path, monkeypatch, "client.py", source).findings == []


def test_digests_in_an_ibm_checksum_list_are_not_flagged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A release checksum list of IBM Quantum packages: provider words sit next to SHA-512s.
    d1, d2 = _digests("ibm-1"), _digests("ibm-2")
    text = (
        "# IBM Quantum release checksums\n"
        f"{d1['sha512']}  qiskit-ibmq-provider-0.20.2.tar.gz\n"
        f"{d2['sha512']} *qiskit_ibm_provider-0.7.0.tar.gz\n"
    )
    for name in ("SHA512SUMS", "checksums.txt", "qiskit-ibmq-provider-0.20.2.tar.gz.sha512"):
        findings = scan_file(tmp_path, monkeypatch, name, text).findings
        assert findings == [], (name, [(f.rule_id, f.location.line) for f in findings])
