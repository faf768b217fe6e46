"""Notebook outputs: every output that shows a reported key is removed from the notebook."""

from __future__ import annotations

import json
from typing import Any

from keyguard.fix.instructions import revoke_text
from keyguard.fix.records import FixPlan, Unfixable
from keyguard.model import Finding
from keyguard.rulepack import RuleSet


def clear_outputs(
    plan: FixPlan, cells: list[dict[str, Any]], findings: list[Finding], outputs: list[Finding],
    rules: RuleSet,
) -> set[tuple[int, int]]:
    """The (cell, output index) pairs of outputs holding any of `findings`' keys, to remove;
    settles the `outputs` findings (fixed when their output goes)."""
    all_values = {f.secret.reveal() for f in findings}
    cleared: set[tuple[int, int]] = set()
    for index, cell in enumerate(cells):
        outs = cell.get("outputs")
        if not isinstance(outs, list) or not outs:
            continue
        for oi, out in enumerate(outs):
            blob = json.dumps(out, ensure_ascii=False)
            if any(v in blob for v in all_values):
                cleared.add((index, oi))
    # Identifier/notice findings that sat in a cleared output are gone too.
    for u in [u for u in plan.unfixable if u.reason == "not-a-secret"]:
        loc = u.finding.location
        if loc.part == "output" and (loc.cell, loc.output_index) in cleared:
            plan.unfixable.remove(u)
            plan.fixed.append(u.finding)
    for f in outputs:
        loc = f.location
        if (loc.cell, loc.output_index) in cleared or (
            loc.output_index is None and any(c == loc.cell for c, _ in cleared)
        ):
            plan.fixed.append(f)
        else:
            plan.unfixable.append(Unfixable(
                f, f"output of cell {(loc.cell or 0) + 1}: clear the cell's outputs by hand; "
                   f"{revoke_text(f, rules)}", "metadata"))
    return cleared
