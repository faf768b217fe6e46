"""The labeled corpus (every positive found, no decoy flagged) and the real corpus (quiet)."""

from __future__ import annotations

import sys

import pytest

from keyguard.config import Config
from keyguard.model import Severity
from keyguard.pipeline.scan import scan_paths

from helpers import NO_SHARED, ROOT, SHARED

LABELED = SHARED / "corpus" / "labeled"
REAL = SHARED / "corpus" / "real"


@pytest.mark.skipif(not (LABELED / "LABELS.json").exists(), reason=NO_SHARED)
def test_labeled_corpus_recall_and_false_positives():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from corpus_eval import evaluate
    finally:
        sys.path.pop(0)
    ev = evaluate(LABELED)
    assert not ev.missed, [f"{m['file']}:{m['line']} {m['note']}" for m in ev.missed]
    assert not ev.unexpected
    assert sum(ev.found.values()) == sum(ev.expected.values()) > 40


@pytest.mark.skipif(not REAL.exists(), reason=NO_SHARED)
def test_real_corpus_reports_nothing_above_low(monkeypatch):
    monkeypatch.chdir(REAL)
    result = scan_paths(["."], Config(jobs=1))
    assert result.files_scanned >= 20
    loud = [f"{f.location.display()} {f.rule_id}" for f in result.findings if f.severity > Severity.LOW]
    assert loud == []
