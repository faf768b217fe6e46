"""`keyguard rules check [PACK.toml ...]`: run packs' embedded examples through the scanner
and the fixer, the way Fixit's rule test harness runs a rule's VALID / INVALID cases.

Each `[[example]]` is rendered with fake keys (its `{{markers}}`), scanned in memory under
its `file` name with the whole loaded rule set, and must report exactly its `expect` list
(`RULE@line`; an empty list is a VALID case: nothing may be reported). With `fixed`, the
fixer's output must equal it, and scanning that output must find no secret. Every failure
is reported with the pack file, the example, what was expected and what happened.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from keyguard.rulepack.load import Example, RulePack, RuleSet


@dataclass
class ExampleResult:
    """One example's outcome: `failures` is empty when it passed."""

    pack: RulePack
    index: int  # 1-based position among the pack's [[example]] tables
    example: Example
    failures: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        kind = "INVALID" if self.example.expect else "VALID"
        return f"{self.pack.path} [[example]] #{self.index} {kind} {self.example.name!r} ({self.example.file})"


def check_examples(ruleset: RuleSet, packs: Sequence[RulePack]) -> list[ExampleResult]:
    """Run the examples of `packs` (members of `ruleset`) and collect each one's failures."""
    from keyguard.pipeline.scan import Engine
    from keyguard.rulepack.fakes import FakeKeys, render

    engine = Engine.build(ruleset, frozenset(ruleset.rules))
    results = []
    for pack in packs:
        for i, example in enumerate(pack.examples, 1):
            result = ExampleResult(pack, i, example)
            try:
                code, _values = render(example.code.lstrip("\n"), FakeKeys(example.name, ruleset))
                _check_one(result, code, engine, ruleset)
            except Exception as exc:  # a broken example is a failure, never a crash
                result.failures.append(f"error while checking: {type(exc).__name__}: {exc}")
            results.append(result)
    return results


def _check_one(result: ExampleResult, code: str, engine: object, ruleset: RuleSet) -> None:
    from keyguard.fix import plan_fixes
    from keyguard.pipeline.scan import scan_bytes

    example = result.example
    data = code.encode("utf-8")
    scanned = scan_bytes(example.file, data, engine, keep_document=True)  # type: ignore[arg-type]
    found = sorted((f.rule_id, f.location.line) for f in scanned.findings)
    expected = sorted(example.expect)
    if found != expected:
        result.failures.append(
            f"expected {_hits(expected)}, found {_hits(found)}"
            + "".join(f"\n    {f.location.line}: {f.rule_id} {f.message}" for f in scanned.findings)
        )
    if example.fixed is None:
        return
    if scanned.document is None:
        result.failures.append("`fixed` given, but the file was not scanned (prefilter): nothing to fix")
        return
    plan = plan_fixes(scanned.document, scanned.findings, ruleset=ruleset, data=data)
    new = plan.new.decode("utf-8") if plan.new is not None else code
    want = example.fixed.lstrip("\n")
    if new != want:
        diff = difflib.unified_diff(want.splitlines(), new.splitlines(), "expected fix", "fixer output", lineterm="")
        result.failures.append("fixed text differs:\n" + "\n".join(f"    {line}" for line in diff))
        for u in plan.unfixable:
            result.failures.append(f"    not fixed, line {u.finding.location.line}: {u.instruction}")
        return
    again = scan_bytes(example.file, new.encode("utf-8"), engine)  # type: ignore[arg-type]
    left = [f for f in again.findings if ruleset.rules[f.rule_id].is_secret]
    if left:
        result.failures.append(f"the fixed text still holds {_hits(sorted((f.rule_id, f.location.line) for f in left))}")


def _hits(pairs: Sequence[tuple[str, int]]) -> str:
    return "[" + ", ".join(f"{r}@{n}" for r, n in pairs) + "]" if pairs else "nothing"


def report(results: Sequence[ExampleResult]) -> str:
    """Text report: one block per failure, then `N examples: P passed, F failed`."""
    lines = []
    for r in results:
        if r.failures:
            lines.append(f"FAIL {r.label}")
            lines.extend(f"  {failure}" for failure in r.failures)
            code = r.example.code.lstrip("\n").rstrip("\n").split("\n")
            lines.append("  code:")
            lines.extend(f"    {n:>3} | {text}" for n, text in enumerate(code, 1))
    failed = sum(1 for r in results if r.failures)
    lines.append(f"{len(results)} example(s): {len(results) - failed} passed, {failed} failed.")
    return "\n".join(lines) + "\n"
