"""A call belongs to the provider it was imported from; pack data names the rest.

Issue 8 section 2: `save_account` imported from another SDK is never IBM's, an aliased
call site is still a call site, each persisting call names its own file, credential files
are found by name. The user pack below is written the way docs/rule-packs.md describes,
for a provider keyguard does not ship (`acmeq`), with fake keys built at run time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from keyguard.pipeline.scan import Engine
from keyguard.rulepack.fakes import FakeKeys
from keyguard.rulepack.load import load_ruleset

from helpers import rule_lines, scan_tree

ACME_PACK = '''
schema = 1

[provider]
id = "acmeq"
name = "Acme Quantum"
keywords = ["acmeq"]
context = ["acmeq"]
env_vars = ["ACMEQ_TOKEN"]
literal_rule = "KG902"
revoke = "the Acme Quantum tokens page (https://acmeq.example/account/tokens)"
keys_url = "https://acmeq.example/account/tokens"
distinctive_calls = ["save_account"]

[[rule]]
id = "KG901"
type = "token"
kind = "acmeq-token"
title = "Acme Quantum API token"
severity = "high"
env_var = "ACMEQ_TOKEN"
regex = \'\'\'(?<![0-9a-f])(?P<secret>[0-9a-f]{40})(?![0-9a-f])\'\'\'
requires_context = true
min_entropy = 3.0
source = "invented for this test"
description = "A token of a provider that is not built in."

[[rule]]
id = "KG902"
type = "literal"
kind = "acmeq-token"
title = "Acme Quantum credential literal"
severity = "medium"
env_var = "ACMEQ_TOKEN"
source = "invented for this test"
description = "A literal at an Acme Quantum credential argument."

[[rule]]
id = "KG903"
type = "persist"
kind = "acmeq-save-account"
title = "Token saved in plain text by save_account()"
severity = "low"
env_var = "ACMEQ_TOKEN"
source = "invented for this test"
description = "A save_account() call whose token comes from elsewhere."

[[call_site]]
callee = ["acmeq.credentials.save_account"]
argument = "token"
position = 0
rules = ["KG901"]
persist_rule = "KG903"
saves_to = "~/.acmeq/acmerc"

[[credential_file]]
name = ".acmeq/acmerc"
format = "json"
path = "~/.acmeq/acmerc"
keys = ["token"]
rules = ["KG901"]
'''


@pytest.fixture()
def acme_pack(tmp_path: Path) -> str:
    path = tmp_path / "packs" / "acmeq.toml"
    path.parent.mkdir()
    path.write_text(ACME_PACK, encoding="utf-8")
    return str(path)


def _hex40(seed: str) -> str:
    return FakeKeys(seed).hex(40)


@pytest.mark.parametrize("code", [
    "from quantuminspire.credentials import save_account\nsave_account({key!r})\n",
    "from quantuminspire.credentials import save_account as sa\nsa({key!r})\n",
    "import quantuminspire.credentials as qc\nqc.save_account({key!r})\n",
    "from quantuminspire import credentials\ncredentials.save_account(token={key!r})\n",
    "from quantuminspire.credentials import save_account\nsave_account('lab-token-2024-xyz!')\n",
])
def test_save_account_imported_from_another_sdk_is_not_ibm(code, tmp_path, monkeypatch):
    # Whether or not a pack knows this module, the call is never IBM's, however IBM-ish the
    # rest of the file (issue 8: it was reported as KG203 and fixed to QISKIT_IBM_TOKEN).
    source = "import qiskit\nfrom qiskit_ibm_runtime import QiskitRuntimeService\n" + code.format(key=_hex40("qi"))
    (tmp_path / "a.py").write_text(source)
    result = scan_tree(tmp_path, monkeypatch)
    assert [f for f in result.findings if f.provider.startswith("IBM")] == []
    assert all("QISKIT_IBM_TOKEN" not in f.message for f in result.findings)


def test_a_function_the_file_defines_is_its_own_not_an_sdk_call(tmp_path, monkeypatch):
    # Quantum Inspire's credentials module (2019) defines `save_account` and calls it: that
    # was reported as IBM's save_account writing ~/.qiskit/qiskit-ibm.json.
    own = (
        "import json\nfrom qiskit_ibm_runtime import *\n\n\ndef save_account(token, filename):\n    json.dump({'token': token}, open(filename, 'w'))\n"
        "\n\nclass Store:\n    def save_account(self, token):\n        save_account(token, 'f')\n"
        "\n\ndef store_account(token, filename):\n    save_account(token, filename)\n    Store().save_account(token)\n"
    )
    (tmp_path / "credentials.py").write_text(own)
    # Without the local definition the same call is IBM's notice (KG205), as before.
    (tmp_path / "user.py").write_text("from qiskit_ibm_runtime import *\n\n\ndef f(t):\n    save_account(t)\n")
    result = scan_tree(tmp_path, monkeypatch)
    assert [(f.location.path, f.rule_id) for f in result.findings] == [("user.py", "KG205")]


def test_save_account_resolves_to_the_pack_of_its_module(tmp_path, monkeypatch, acme_pack):
    key = _hex40("acme")
    (tmp_path / "a.py").write_text(
        "import qiskit\nfrom acmeq.credentials import save_account\n"
        f'save_account("{key}")\n'
        'save_account("lab-token-2024-xyz!")\n'
        "import os\nsave_account(os.environ['ACMEQ_TOKEN'])\n"
    )
    result = scan_tree(tmp_path, monkeypatch, ["a.py"], extend_rules=(acme_pack,))
    assert rule_lines(result.findings) == [("KG901", 3), ("KG902", 4), ("KG903", 6)]
    by_rule = {f.rule_id: f for f in result.findings}
    assert by_rule["KG901"].env_var == "ACMEQ_TOKEN"
    assert "acmeq.example/account/tokens" in by_rule["KG901"].message
    assert "IBM" not in by_rule["KG901"].message + by_rule["KG902"].message
    assert "~/.acmeq/acmerc" in by_rule["KG903"].message


def test_an_unresolved_tail_claimed_by_two_providers_needs_an_import(tmp_path, monkeypatch, acme_pack):
    key = _hex40("tail")
    # `save_account` with no visible import is claimed by IBM's and Acme's packs: only the
    # provider whose SDK the file imports may take it; with neither, nobody does.
    (tmp_path / "acme.py").write_text(f'import acmeq\nfrom somewhere import *\nsave_account("{key}")\n')
    (tmp_path / "none.py").write_text('from somewhere import *\nsave_account("lab-token-2024-xyz!")\n')
    result = scan_tree(tmp_path, monkeypatch, ["acme.py", "none.py"], extend_rules=(acme_pack,))
    assert [(f.location.path, f.rule_id) for f in result.findings] == [("acme.py", "KG901")]


def test_a_credential_file_passes_the_prefilter_by_name(tmp_path, monkeypatch, acme_pack):
    folder = tmp_path / "home" / ".acmeq"
    folder.mkdir(parents=True)
    key = _hex40("file")
    # Nothing in the text names the provider: the file name is enough.
    (folder / "acmerc").write_text(json.dumps({"token": key, "other": "x"}) + "\n")
    (tmp_path / "home" / "settings.json").write_text(json.dumps({"token": key}) + "\n")
    result = scan_tree(tmp_path, monkeypatch, extend_rules=(acme_pack,))
    acme = [f for f in result.findings if f.provider == "Acme Quantum"]
    assert [(f.location.path, f.rule_id, f.location.line) for f in acme] == [
        ("home/.acmeq/acmerc", "KG901", 1)
    ]
    assert acme[0].secret.reveal() == key


def test_prefilter_keywords_include_call_site_modules(acme_pack):
    ruleset = load_ruleset((acme_pack,))
    engine = Engine.build(ruleset, ruleset.select(None, None))
    assert engine.prefilter is not None and "acmeq" in engine.prefilter
    # Every call site's path holds a prefilter word (its root module, or a keyword).
    for cs in ruleset.call_sites:
        for callee in cs.callees:
            named = f"{callee} {cs.when_first_arg_startswith or ''}".lower()
            assert any(k in named for k in engine.prefilter), callee
    assert engine.is_credential_file(os.path.join("x", ".acmeq", "acmerc"))
    assert not engine.is_credential_file("acmerc")


def test_a_call_site_outside_the_keywords_passes_the_prefilter(tmp_path, monkeypatch, acme_pack):
    text = ACME_PACK.replace('keywords = ["acmeq"]', 'keywords = ["acme quantum"]')
    text = text.replace("acmeq.credentials.save_account", "qcloud_sdk.credentials.save_account")
    pack = tmp_path / "packs" / "other.toml"
    pack.write_text(text, encoding="utf-8")
    (tmp_path / "a.py").write_text('from qcloud_sdk.credentials import save_account\nsave_account("lab-token-2024-xyz!")\n')
    result = scan_tree(tmp_path, monkeypatch, ["a.py"], extend_rules=(str(pack),))
    assert rule_lines(result.findings) == [("KG902", 2)]


@pytest.mark.parametrize("call", [
    'QRS(token="lab-token-2024-xyz!")',
    'QRS(channel="ibm_cloud", token="lab-token-2024-xyz!")',
    'QRS.save_account(token="lab-token-2024-xyz!")',
])
def test_aliased_call_sites_are_found(call, tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text(f"from qiskit_ibm_runtime import QiskitRuntimeService as QRS\n{call}\n")
    result = scan_tree(tmp_path, monkeypatch)
    assert rule_lines(result.findings) == [("KG203", 2)]


def test_every_call_site_of_every_pack_is_found_through_an_alias(tmp_path, monkeypatch):
    """For each callee `m.C` (or `m.C.f`) of each pack: `from m import C as Alias0` and a call
    of the alias with a literal of unusual shape is reported with that pack's literal rule."""
    ruleset = load_ruleset()
    files = []
    for n, cs in enumerate(ruleset.call_sites):
        literal = ruleset.providers[cs.provider].literal_rule
        if literal is None or cs.when_first_arg_startswith:
            continue
        for m, callee in enumerate(cs.callees):
            parts = callee.split(".")
            # The alias stands for the class (or function) the callee is imported as.
            k = len(parts) - 1 if parts[-1][:1].isupper() or len(parts) == 2 else len(parts) - 2
            module, name, rest = ".".join(parts[:k]), parts[k], parts[k + 1:]
            if not module:
                continue
            alias = f"Alias{n}x{m}"
            target = ".".join([alias, *rest])
            args = ", ".join(["None"] * (cs.position or 0) + ['"lab-token-2024-xyz!"']) if cs.position is not None \
                else f'{cs.argument}="lab-token-2024-xyz!"'
            path = tmp_path / f"c{n}_{m}.py"
            path.write_text(f"from {module} import {name} as {alias}\nx = {target}({args})\n")
            files.append((path.name, literal, callee))
    result = scan_tree(tmp_path, monkeypatch)
    found = {(f.location.path, f.rule_id) for f in result.findings}
    missing = [callee for name, rule, callee in files if (name, rule) not in found]
    assert missing == []
    assert len(files) > 20


def test_a_user_pack_works_end_to_end_in_notebooks_dotenv_and_fix(tmp_path, monkeypatch, acme_pack):
    """A provider that is not built in, from its TOML alone: an aliased call across notebook
    cells, a positional argument, a `.env` line, and `--fix` rewriting the cell."""
    import nbformat
    from click.testing import CliRunner
    from nbformat.v4 import new_code_cell, new_notebook

    from keyguard.cli import cli

    key = _hex40("e2e")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".keyguard.toml").write_text(f"extend-rules = [{acme_pack!r}]\n")
    nb = new_notebook(cells=[
        new_code_cell("from acmeq.credentials import save_account as keep"),
        new_code_cell(f'keep("{key}")'),
    ])
    nbformat.write(nb, tmp_path / "run.ipynb")
    (tmp_path / ".env").write_text(f"ACMEQ_TOKEN={key}\n")
    runner = CliRunner()
    scanned = runner.invoke(cli, ["scan", "--format", "json", "."])
    report = json.loads(scanned.stdout)
    found = sorted((f["path"], f["rule"]) for f in report["findings"])
    assert found == [(".env", "KG901"), ("run.ipynb", "KG901")], scanned.output
    fixed = runner.invoke(cli, ["scan", "--fix", "run.ipynb"])
    assert fixed.exit_code == 1  # a file changed
    cell = nbformat.read(tmp_path / "run.ipynb", as_version=4).cells[1].source
    assert key not in cell and 'os.environ["ACMEQ_TOKEN"]' in cell
