"""Every rule pack's embedded examples run as tests (Fixit's VALID/INVALID, gitleaks' tps/fps).

Each example is rendered with fresh fake keys, written under its file name, scanned, and the
(rule, line) pairs must equal its `expect` list exactly.
"""

from __future__ import annotations

import pytest

from keyguard.rulepack.fakes import FakeKeys, render
from keyguard.rulepack.load import load_ruleset

from helpers import rule_lines, scan_tree

EXAMPLES = load_ruleset().examples


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.pack}:{e.name}" for e in EXAMPLES])
def test_rule_pack_example(example, tmp_path, monkeypatch):
    code, _values = render(example.code.lstrip("\n"), FakeKeys(example.name))
    path = tmp_path / example.file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code, encoding="utf-8")
    result = scan_tree(tmp_path, monkeypatch, [example.file])
    assert rule_lines(result.findings) == sorted(example.expect)
    revealed = {f.secret.reveal() for f in result.findings if f.rule_id not in ("KG205",)}
    for value in revealed:
        assert value in code


def test_every_rule_has_an_example_and_a_source():
    ruleset = load_ruleset()
    flagged = {rule for e in ruleset.examples for rule, _ in e.expect}
    for rule in ruleset.rules.values():
        assert rule.source, rule.id
        assert rule.id in flagged, f"{rule.id} has no example that flags it"


def test_every_pack_has_a_negative_example():
    ruleset = load_ruleset()
    for pack in ruleset.packs:
        assert any(not e.expect for e in pack.examples), pack.path


def test_packs_found_from_a_source_checkout_without_install(monkeypatch):
    # `python -m keyguard` from the repository root imports ./keyguard, where no
    # keyguard.rules package exists: the packs come from the top-level rules/ folder.
    from keyguard.rulepack import load as rulepack

    def missing(name):
        raise ModuleNotFoundError(name)

    installed = [p.name for p in rulepack.builtin_pack_paths()]
    monkeypatch.setattr(rulepack, "find_spec", missing)
    assert [p.name for p in rulepack.builtin_pack_paths()] == installed
    assert {"ionq.toml", "ibm_cloud.toml", "ibm_quantum_legacy.toml"} <= set(installed)

