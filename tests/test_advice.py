"""Messages that are true (issue 8 section 5), built in one place from pack data.

Each rule's help (`keyguard rules ID`, SARIF help) gives rotation steps that link the
provider's API-keys page; a bearer token is minted at run time, not stored; a legacy token
cannot be revoked and is not moved to QISKIT_IBM_TOKEN; no user-visible text refers to
notes the user cannot read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from keyguard.report.advice import TYPES, Facts, behaviour, help_texts, rotation_steps
from keyguard.report.sarif import build_sarif
from keyguard.rulepack.fakes import FakeKeys
from keyguard.rulepack.load import load_ruleset
from keyguard.rulepack.rules_info import describe_rule, list_rules

from helpers import scan_tree

RULES = load_ruleset()
INTERNAL = re.compile(r"research\s*(notes?)?\s*§?\s*\d|\bresearch \d", re.I)


def _sarif_rules() -> dict[str, dict]:
    log = build_sarif([], RULES, version="0")
    return {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_every_secret_rule_has_rotation_steps_in_its_help():
    sarif = _sarif_rules()
    for rule in RULES.rules.values():
        provider = RULES.provider_of(rule.id)
        steps = rotation_steps(rule, Facts(provider, rule.env_var))
        text = describe_rule(rule.id, ruleset=RULES)
        help_md = sarif[rule.id]["help"]["markdown"]
        if not behaviour(rule).secret:
            assert "Rotation" not in help_md
            continue
        assert steps, rule.id
        assert "Rotation:" in text and "**Rotation**" in help_md
        for step in steps:
            assert step in text and step in help_md
        if provider.keys_url:
            assert provider.keys_url in help_md, rule.id
        if rule.fixable and rule.rotation is None:
            joined = " ".join(steps).lower()
            for part in ("create a new key", "ci secrets", ".env", "delete the old key", "git history"):
                assert part in joined, (rule.id, part)


def test_no_user_visible_text_refers_to_internal_notes():
    texts = [list_rules("json", ruleset=RULES), json.dumps(_sarif_rules())]
    texts += [describe_rule(r, ruleset=RULES) for r in RULES.rules]
    for text in texts:
        assert not INTERNAL.search(text), INTERNAL.search(text).group(0)


def test_bearer_token_is_minted_at_run_time_not_stored():
    rule = RULES.rules["KG202"]
    text = describe_rule("KG202", ruleset=RULES)
    assert "mint" in text and "IBM_IAM_TOKEN" not in text
    assert not rule.fixable


def test_legacy_token_cannot_be_revoked_and_is_not_moved_to_the_new_variable():
    text = describe_rule("KG301", ruleset=RULES)
    assert "2025-07-01" in text and "can no longer be revoked" in text
    assert "QISKIT_IBM_TOKEN" not in text


def test_ibm_cloud_key_inherits_the_users_access():
    text = describe_rule("KG201", ruleset=RULES)
    assert "inherits" in text and "every IBM Cloud account the user can access" in text
    assert "unlocks the whole" not in text
    assert "https://cloud.ibm.com/iam/apikeys" in text


def test_each_provider_links_its_api_keys_page_not_a_home_page():
    for provider in RULES.providers.values():
        if provider.keys_url:
            assert re.match(r"https://[^/]+/.+", provider.keys_url), provider.id


def test_types_are_described_in_one_place():
    assert set(TYPES) == {"token", "literal", "identifier", "persist"}
    for rule in RULES.rules.values():
        text, md = help_texts(rule, Facts(RULES.provider_of(rule.id), rule.env_var))
        assert text and md


@pytest.mark.parametrize(("code", "rule", "fragments", "absent"), [
    ('from qiskit import IBMQ\nIBMQ.save_account("{legacy}")\n', "KG301",
     ("delete it", "2025-07-01", "can no longer be revoked"), ("QISKIT_IBM_TOKEN",)),
    ('import requests\nimport qiskit_ibm_runtime\nH = {{"Authorization": "Bearer {jwt}"}}\n', "KG202",
     ("mint one at run time",), ("IBM_IAM_TOKEN", "revoke this key")),
])
def test_messages_and_manual_fixes_follow_the_rule(tmp_path: Path, monkeypatch, code, rule, fragments, absent):
    from keyguard.fix import fix_findings

    keys = FakeKeys(rule)
    (tmp_path / "a.py").write_text(code.format(legacy=keys.legacy_token(), jwt=keys.iam_jwt()))
    result = scan_tree(tmp_path, monkeypatch)
    (finding,) = [f for f in result.findings if f.rule_id == rule]
    for fragment in fragments:
        assert fragment in finding.message
    for word in absent:
        assert word not in finding.message
    run = fix_findings(result.findings, write=False, ruleset=RULES)
    (plan,) = run.plans
    assert plan.new is None  # not rewritten into an environment read
    (manual,) = [u for u in plan.unfixable if u.finding.rule_id == rule]
    assert manual.reason == "not-fixable"
    for word in absent:
        assert word not in manual.instruction
