"""Recall and false positives of `keyguard scan` on the labeled corpus, per category.

    python bench/corpus_eval.py [CORPUS_DIR]     (default: ../shared/corpus/labeled)

A finding matches a label when it has the same file and raw line (LABELS.json `line`) and,
where the label has a value hash, the same SHA-256. Positives (`expect: true`) must be found;
decoys (`expect: false`) and unlabeled lines must not be reported; `info` labels may be.
Also used by tests/test_corpus.py.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from keyguard.config import Config
from keyguard.pipeline.scan import scan_paths

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "labeled"
NOT_CASES = {"README.md", "LABELS.json"}


@dataclass
class Evaluation:
    """Per-category counts and the unmatched cases, for printing or asserting."""

    found: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    expected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    false_positives: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    missed: list[dict[str, object]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def evaluate(corpus: Path) -> Evaluation:
    """Scan `corpus` (leaving out README.md and LABELS.json) and compare with LABELS.json."""
    labels = json.loads((corpus / "LABELS.json").read_text(encoding="utf-8"))
    files = sorted(
        str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file() and p.name not in NOT_CASES
    )
    import os

    cwd = os.getcwd()
    os.chdir(corpus)
    try:
        result = scan_paths(files, Config(jobs=1))
    finally:
        os.chdir(cwd)
    findings = result.findings
    by_place: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for label in labels:
        by_place[(label["file"], label["line"])].append(label)

    evaluation = Evaluation()
    matched_labels: set[int] = set()
    for finding in findings:
        key = (finding.location.path, finding.location.raw_line)
        candidates = by_place.get(key, [])
        match = None
        for label in candidates:
            if label.get("sha256") and label["sha256"] != finding.secret.sha256:
                continue
            if label["expect"] is False:
                continue
            match = label
            break
        if match is not None:
            matched_labels.add(id(match))
            continue
        decoys = [lab for lab in candidates if lab["expect"] is False]
        category = str(decoys[0]["category"]) if decoys else "unlabeled"
        evaluation.false_positives[category] += 1
        evaluation.unexpected.append(
            f"{finding.location.display()} (raw line {finding.location.raw_line}) {finding.rule_id} {finding.secret.redacted}"
        )
    for label in labels:
        if label["expect"] is True:
            category = str(label["category"])
            evaluation.expected[category] += 1
            if id(label) in matched_labels:
                evaluation.found[category] += 1
            else:
                evaluation.missed.append(label)
    return evaluation


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else DEFAULT_CORPUS
    if not (corpus / "LABELS.json").exists():
        print(f"no labeled corpus at {corpus}", file=sys.stderr)
        return 2
    ev = evaluate(corpus)
    print(f"{'category':<24}{'found':>8}{'expected':>10}{'recall':>9}")
    for category in sorted(ev.expected, key=lambda c: (len(c), c)):
        found, expected = ev.found[category], ev.expected[category]
        print(f"{category:<24}{found:>8}{expected:>10}{found / expected:>9.0%}")
    total_found, total_expected = sum(ev.found.values()), sum(ev.expected.values())
    print(f"{'all positives':<24}{total_found:>8}{total_expected:>10}{total_found / total_expected:>9.0%}")
    print()
    print("false positives per category:", dict(ev.false_positives) or "none")
    for label in ev.missed:
        print(f"MISSED {label['file']}:{label['line']} {label['kind']} ({label['note']})")
    for text in ev.unexpected:
        print(f"FALSE POSITIVE {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
