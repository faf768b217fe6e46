"""Write the deliberately leaky example files of this folder (FAKE keys, fixed seed).

    python examples/generate.py [OUT_DIR]      (default: this folder)

Every key here comes from keyguard.rulepack.fakes.FakeKeys("examples"): random strings of the right
shapes, never issued by IonQ or IBM. The project's own configuration excludes examples/ from
`keyguard scan .`; `keyguard scan examples/` shows the findings. EXPECTED lists, per file, the
rule ids a scan must report (tests/test_examples.py checks both).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from keyguard.rulepack.fakes import FakeKeys

EXPECTED: dict[str, list[str]] = {
    "quickstart_ibm.py": ["KG201", "KG201", "KG204", "KG205"],
    "ionq_providers.py": ["KG101", "KG101", "KG101", "KG101", "KG102"],
    "legacy_qiskit.py": ["KG301", "KG301"],
    "lab_notebook.ipynb": ["KG101", "KG201", "KG201", "KG204"],
    ".env": ["KG101", "KG201"],
    "qiskit-ibm.json": ["KG201", "KG204"],
    "rest-notes.md": ["KG201", "KG101"],
    "placeholders.py": [],
}


def build(out: Path) -> None:
    fake = FakeKeys("examples")
    ibm, ibm2, ionq, ionq2, ionq3 = fake.ibm_key(), fake.ibm_key(), fake.ionq_key(), fake.ionq_key(), fake.ionq_key()
    legacy, crn = fake.legacy_token(), fake.crn()
    files = {
        "quickstart_ibm.py": f'''"""Connect to IBM Quantum Platform (leaky on purpose: FAKE keys)."""
import os

from qiskit_ibm_runtime import QiskitRuntimeService as QRS

# A token pasted into code: KG201, reported at the literal, fixable with --fix.
service = QRS(channel="ibm_quantum_platform", token="{ibm}", instance="{crn}")

API_TOKEN = "{ibm2}"


def connect():
    return QRS(token=API_TOKEN)


# Token from the environment, but save_account() writes it to disk in plain text: KG205.
QRS.save_account(token=os.environ["QISKIT_IBM_TOKEN"], channel="ibm_quantum_platform", overwrite=True)
''',
        "ionq_providers.py": f'''"""IonQ from three SDKs and raw HTTP (leaky on purpose: FAKE keys)."""
import cirq_ionq as ionq
import pennylane as qml
import requests
from pytket.extensions.ionq import IonQBackend
from qiskit_ionq import IonQProvider

provider = IonQProvider("{ionq}")                      # positional token
service = ionq.Service("https://api.ionq.co/v0.4", "{ionq2}")  # api_key is argument 2
dev = qml.device("ionq.simulator", wires=2, api_key="{ionq3}")
backend = IonQBackend("qpu.aria-1", "workshop-2024-k3y")      # unusual shape: KG102
jobs = requests.get("https://api.ionq.co/v0.4/jobs", headers={{"Authorization": "apiKey {ionq}"}})
''',
        "legacy_qiskit.py": f'''"""Old QISKit / IBMQ code (leaky on purpose: FAKE token)."""
from qiskit import IBMQ

IBMQ.save_account("{legacy}")
provider = IBMQ.enable_account(token="{legacy}")
''',
        ".env": f"IONQ_API_KEY={ionq2}\nQISKIT_IBM_TOKEN={ibm2}\nQISKIT_IBM_CHANNEL=ibm_quantum_platform\n",
        "qiskit-ibm.json": json.dumps(
            {"default-ibm-quantum-platform": {
                "channel": "ibm_quantum_platform", "instance": crn, "private_endpoint": False,
                "token": ibm, "url": "https://cloud.ibm.com", "verify": True,
            }},
            sort_keys=True, indent=4,
        ) + "\n",
        "rest-notes.md": f"""# REST notes (leaky on purpose: FAKE keys)

Get a bearer token from IAM:

```bash
curl -X POST https://iam.cloud.ibm.com/identity/token \\
  -d "grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey={ibm}"
```

Ask IonQ who we are:

```bash
curl -H "Authorization: apiKey {ionq3}" https://api.ionq.co/v0.4/whoami
```
""",
        "placeholders.py": '''"""Nothing here is reported: placeholders and environment reads."""
import os

import cirq_ionq
from qiskit_ibm_runtime import QiskitRuntimeService

service = QiskitRuntimeService(channel="ibm_quantum_platform", token="<your-API-key>")
other = QiskitRuntimeService(token=os.environ["QISKIT_IBM_TOKEN"])
ionq_service = cirq_ionq.Service(api_key="tomyheart")
ionq_env = cirq_ionq.Service(api_key=os.getenv("IONQ_API_KEY"))
headers = {"Authorization": f"apiKey {os.environ['IONQ_API_KEY']}"}
''',
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    _notebook(out / "lab_notebook.ipynb", ibm, ionq, crn)


def _notebook(path: Path, ibm: str, ionq: str, crn: str) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Lab notebook (leaky on purpose: FAKE keys)"),
        new_code_cell(f"%env QISKIT_IBM_TOKEN={ibm}\n%matplotlib inline"),
        new_code_cell(
            "from qiskit_ionq import IonQProvider\n"
            f'provider = IonQProvider(token="{ionq}")\n'
            'backend = provider.get_backend("simulator")'
        ),
        new_code_cell(
            "from qiskit_ibm_runtime import QiskitRuntimeService\n"
            "print(QiskitRuntimeService().active_account())",
            outputs=[new_output(
                "stream", name="stdout",
                text=f"{{'channel': 'ibm_quantum_platform', 'token': '{ibm}', 'instance': '{crn}'}}\n",
            )],
        ),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    nbformat.write(nb, str(path))


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent)
