"""`plan_fixes`: the fix for one document, routed by its kind; writes nothing."""

from __future__ import annotations

from collections.abc import Iterable

from keyguard.fix.disk import read_bytes
from keyguard.fix.env_names import EnvNamer
from keyguard.fix.instructions import not_a_secret_instruction, text_file_instruction
from keyguard.fix.notebook import plan_notebook
from keyguard.fix.python_file import plan_python
from keyguard.fix.records import FixPlan, Unfixable
from keyguard.model import Finding
from keyguard.read.documents import Document
from keyguard.report.advice import behaviour, is_fixable
from keyguard.rulepack.load import RuleSet, load_ruleset


def plan_fixes(
    document: Document,
    findings: Iterable[Finding],
    *,
    ruleset: RuleSet | None = None,
    data: bytes | None = None,
) -> FixPlan:
    """Work out the fix for one document; writes nothing.

    `findings` are the scanner's findings for `document` (others are ignored by path). `data`
    are the file's bytes; by default they are read from `document.path`. When those bytes no
    longer decode to the scanned text, every finding is reported as unfixable ("changed").
    Never raises for file content; OSError only if the file cannot be read at all.
    """
    rules = ruleset if ruleset is not None else load_ruleset()
    items = sorted(
        (f for f in findings if f.location.path == document.path), key=lambda f: f.sort_key()
    )
    plan = FixPlan(path=document.path, kind=document.kind)
    plan.redact_values = {
        f.secret.reveal() for f in items
        if (rule := rules.rules.get(f.rule_id)) is None or not behaviour(rule).value_is_code
    }
    secret_items: list[Finding] = []
    for f in items:
        rule = rules.rules.get(f.rule_id)
        if rule is not None and not rule.is_secret:
            plan.unfixable.append(Unfixable(f, not_a_secret_instruction(f, rules), "not-a-secret"))
        elif rule is not None and not is_fixable(rule):
            # The rule says the value must not move to the environment (a short-lived
            # bearer token, a token of a closed platform): the pack's action, by hand.
            plan.unfixable.append(Unfixable(f, not_a_secret_instruction(f, rules), "not-fixable"))
        else:
            secret_items.append(f)
    if not secret_items:
        return plan
    namer = EnvNamer(rules)
    if document.kind in ("python", "notebook"):
        raw, plan.stat = read_bytes(document, data)
        plan.original = raw
        planner = plan_python if document.kind == "python" else plan_notebook
        planner(plan, raw, document, secret_items, namer, rules)
    else:
        for f in secret_items:
            instruction, reason = text_file_instruction(f, namer.suggest(f), rules)
            plan.unfixable.append(Unfixable(f, instruction, reason))
    plan.env_vars.update(namer.used)
    return plan
