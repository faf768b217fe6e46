"""Cost of the reporters with many findings: every format must stay linear.

Builds N KG201 findings with N distinct fake keys in one file (issue 8 §6: 8,000 keys in one
`.py`), renders text, JSON, SARIF and GitHub annotations, and prints seconds per format and
per 1,000 findings. The run-wide secret scrubber looks secrets up by prefix (one dictionary
look-up per character), so doubling N should about double the time.

    python bench/output_scale.py [N ...]      # default: 1000 4000 8000
"""

from __future__ import annotations

import sys
import time

from keyguard.model import Confidence, Finding, Location, Secret
from keyguard.report.github import render_github
from keyguard.report.json import render_json
from keyguard.report.sarif import render_sarif
from keyguard.report.text import render_text
from keyguard.rulepack.fakes import FakeKeys
from keyguard.rulepack.load import load_ruleset


def findings(n: int) -> list[Finding]:
    fakes = FakeKeys(n)
    rule = load_ruleset().rules["KG201"]
    out = []
    for i in range(n):
        key = fakes.ibm_key()
        loc = Location("src/many_keys.py", i + 1, 9, i + 1, 53, i + 1, 9)
        out.append(Finding(
            rule_id="KG201", provider=rule.provider, kind=rule.kind, title=rule.title,
            severity=rule.severity, confidence=Confidence.HIGH, location=loc,
            secret=Secret(key), env_var=rule.env_var, context="assigned to KEY",
            message=f"{rule.title} assigned to KEY_{i}: read it from the environment instead: "
                    f'os.environ["QISKIT_IBM_TOKEN"]; revoke this key.',
        ))
    return out


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 4000, 8000]
    ruleset = load_ruleset()
    print(f"{'findings':>8s} {'text':>7s} {'json':>7s} {'sarif':>7s} {'github':>7s}  s/1000 (sarif)")
    for n in sizes:
        found = findings(n)
        times = []
        for render, args in (
            (render_text, (found,)),
            (render_json, (found, {"findings": n})),
            (render_sarif, (found, ruleset)),
            (render_github, (found,)),
        ):
            kwargs = {"version": "0"} if render is render_sarif else {}
            start = time.perf_counter()
            render(*args, **kwargs)  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        print(f"{n:8d} " + " ".join(f"{t:7.2f}" for t in times) + f"  {times[2] / n * 1000:.3f}")


if __name__ == "__main__":
    main()
