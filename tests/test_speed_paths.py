"""The fast paths of issue 11 give the answers of the slow ones (speed itself: bench/)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keyguard.config import Config
from keyguard.detect import python as python_detector
from keyguard.detect.bare import SHORT_RUN, BarePlan, key_runs
from keyguard.pipeline.scan import _engine, scan_bytes, scan_paths
from keyguard.read.documents import Segment
from keyguard.rulepack.fakes import FakeKeys
from keyguard.rulepack.load import load_ruleset

TEXT = st.text(alphabet=st.sampled_from("aZ09_+/=-. \n\"'é€\U0001f600"), max_size=300)


@settings(max_examples=300)
@given(TEXT, st.integers(min_value=1, max_value=40))
def test_key_runs_are_the_regex_runs(text, length):
    expected = [m.span() for m in re.finditer(rf"[A-Za-z0-9_+/=-]{{{length},}}", text)]
    assert list(key_runs(text, length)) == expected


_BUILTIN = load_ruleset(())
_BARE = tuple(r for r in _BUILTIN.rules.values() if r.regex is not None and not r.keywords)
_FAKES = FakeKeys("bare-plan")
# Fakes of every bare rule, so windows that hold a match are exercised, not only empty ones.
_BARE_FAKES = [_FAKES._from_rule(r, False) for r in _BARE for _ in range(3)]
_CHUNK = st.one_of(
    st.text(alphabet=st.sampled_from("aZq09f_+/=-"), min_size=1, max_size=700),
    st.text(alphabet=st.sampled_from("0123456789abcdef"), min_size=20, max_size=300),
    st.binary(min_size=10, max_size=600).map(lambda b: __import__("base64").b64encode(b).decode()),
    st.sampled_from(_BARE_FAKES),
    st.sampled_from([" ", "\n", '"', "=", "+", "/", "-", "_", ".", "é"]),
)


def _whole_run_matches(plan: BarePlan, text: str) -> list[tuple[str, tuple[int, int]]]:
    """The plain search the plan narrows: every bare rule over every key run."""
    found = []
    for start, stop in key_runs(text, plan.shortest):
        for bare in plan.rules:
            if stop - start >= bare.min_width:
                found += [(bare.rule.id, m.span()) for m in bare.regex.finditer(text, start, stop + 1)]
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(_CHUNK, min_size=1, max_size=30).map("".join))
def test_bare_plan_finds_what_the_whole_run_search_finds(text):
    plan = BarePlan(_BARE)
    assert [(r.id, m.span()) for r, m in plan.matches(text)] == _whole_run_matches(plan, text)


def test_built_in_bare_rules_take_a_narrow_window():
    # A bare rule without a shortcut runs over every byte of a pasted image: say which.
    plan = BarePlan(_BARE)
    slow = [b.rule.id for b in plan.rules if not (b.shape.ends_at_run_end or b.shape.ends_at_secret_run_end)]
    assert slow == []


def test_bare_plan_keeps_other_pattern_shapes_whole():

    shape = re.compile(r"(?P<secret>k[A-Za-z0-9]{30,})x")  # unbounded, a literal after the secret
    odd = _BARE[0]._replace(id="KG999", regex=shape)
    plan = BarePlan((odd,))
    text = "=" * 10 + "k" + "Ab1" * (SHORT_RUN // 3 + 40) + "x" + "+" * 5
    assert [m.span() for _, m in plan.matches(text)] == [(10, len(text) - 5)]
    assert not (plan.rules[0].shape.ends_at_run_end or plan.rules[0].shape.ends_at_secret_run_end)


def test_notebook_scan_does_not_import_nbformat(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    key = FakeKeys("nb-fast").ionq_key()
    nb.cells = [nbformat.v4.new_code_cell(f'from qiskit_ionq import IonQProvider\nIonQProvider("{key}")')]
    (tmp_path / "n.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    code = (
        "import sys, keyguard.pipeline.scan as s, keyguard.config as c;"
        "r = s.scan_paths(['n.ipynb'], c.Config(jobs=1));"
        "print(len(r.findings), 'nbformat' in sys.modules, 'jsonschema' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["1", "False", "False"]


def test_generic_call_site_names_need_a_binding(tmp_path, monkeypatch):
    detector = _engine((), load_ruleset(()).select(None, None)).python_detector
    quantum = "from qiskit_ibm_runtime import QiskitRuntimeService\nimport atexit\n"
    assert not detector._bound("register", quantum + "atexit.register(f)\n")
    assert not detector._bound("save", quantum + "model.save(path)\n")
    assert detector._bound("register", "from qiskit import (\n    execute,\n    register,\n)\n")
    assert detector._bound("register", "import qiskit\nqiskit.register(t)\n")
    assert detector._bound("register", "import qiskit as q\nq.register(t)\n")
    assert detector._bound("save", "from x import AccountManager\nAccountManager.save(token=t)\n")
    # End to end: the legacy register(token) call with an odd-shaped literal is still found.
    (tmp_path / "old.py").write_text(
        'import atexit\nfrom qiskit import register\nregister("not-a-token-shape-but-a-credential-123", "https://q")\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = scan_paths(["old.py"], Config(jobs=1))
    assert [f.rule_id for f in result.findings]


def test_builtin_regexes_compile_on_first_use_and_user_packs_at_load(tmp_path):
    code = (
        "import keyguard.rulepack.load as r;"
        "rs = r.load_ruleset(());"
        "lazy = [x for x in rs.rules.values() if x.regex is not None];"
        "print(len(lazy), sum(x.regex._compiled is not None for x in lazy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[0]) > 0 and out[1] == "0"
    from keyguard.rulepack.load import RulePackError, load_ruleset

    pack = tmp_path / "bad.toml"
    source = (Path(__file__).resolve().parents[1] / "rules" / "ionq.toml").read_text(encoding="utf-8")
    pack.write_text(source.replace('id = "ionq"', 'id = "bad"', 1).replace('"KG1', '"KG8')
                    .replace("(?P<secret>", "(?P<secret>(", 1), encoding="utf-8")
    with pytest.raises(RulePackError, match="invalid regex"):
        load_ruleset((str(pack),))


WORDS = st.lists(st.text(alphabet="abS_", min_size=1, max_size=4), min_size=1, max_size=6)
_FILLER = [f"q{i}q" for i in range(1100)]


@settings(max_examples=600)
@given(WORDS, st.text(alphabet="abS_ xé\U0001f600\ud800", max_size=80), st.integers(0, 200_000))
def test_keyword_pass_finds_exactly_the_words_in_the_text(words, text, padding):
    from keyguard.prefilter.keywords import Keywords

    keywords = Keywords(words)
    assert keywords.present(text) == {w for w in words if w in text}
    # Past 64 words another search runs (the SIMD prefilter's limit): the same answer.
    many = Keywords([*words, *(f"q{i}q" for i in range(70))])
    assert many.present(text) == {w for w in words if w in text}
    # Past 1,000 words (thousands of candidate values) the automaton is no longer a DFA.
    assert sorted(Keywords([*words, *_FILLER]).occurrences(text)) == sorted(
        (w, i) for w in dict.fromkeys(words) for i in range(len(text)) if text.startswith(w, i))
    encoded = text.encode("utf-8", "surrogatepass")  # a notebook can hold "\ud800"
    assert keywords.present_in_bytes(encoded) == {w for w in words if w.encode() in encoded}
    assert sorted(keywords.occurrences(text)) == sorted(
        (w, i) for w in dict.fromkeys(words) for i in range(len(text)) if text.startswith(w, i))
    # Bytes: a word past the first chunk, and across a chunk edge, is found too.
    data = (b"-" * padding) + encoded
    assert keywords.any_in(data) == any(w.encode() in data for w in words)


@settings(max_examples=400)
@given(WORDS, st.text(alphabet="abS_ x\n", max_size=120), st.data())
def test_match_starts_tell_which_lines_hold_a_word(words, text, data):
    # The history gate asks, per diff section, "does any word occur in these lines?" from
    # one search of the whole block: a leftmost-longest match start in the range, or a
    # search of the slice alone.
    from keyguard.prefilter.keywords import Keywords

    keywords = Keywords(words)
    encoded = text.encode()
    starts = keywords.starts_in_bytes(encoded)
    assert starts == sorted(starts)
    cuts = sorted({0, len(encoded), *(i + 1 for i, c in enumerate(encoded) if c == 10)})
    for low, high in pairwise(cuts):
        holds = any(w.encode() in encoded[low:high] for w in words)
        assert any(low <= at < high for at in starts) == holds
    low = data.draw(st.integers(0, len(encoded)))
    high = data.draw(st.integers(low, len(encoded)))
    assert keywords.any_in_range(encoded, low, high) == any(w.encode() in encoded[low:high]
                                                            for w in words)


def _old_parse_can_matter(candidates, text, regexes):
    """The quadratic reference: a `find` from the start per candidate."""
    identifier = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    for value in candidates:
        at = text.find(value)
        while at >= 0:
            start = at
            for _ in range(3):
                start = text.rfind("\n", 0, start) if start > 0 else -1
                if start < 0:
                    break
            if any(r.search(n) for r in regexes for n in identifier.findall(text, start + 1, at)):
                return True
            at = text.find(value, at + len(value))
    return False


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="aX9", min_size=1, max_size=4), min_size=1, max_size=5),
       st.text(alphabet="aX9 =\ntok_", max_size=120))
def test_one_pass_candidate_search_agrees_with_find_per_candidate(candidates, text):
    from types import SimpleNamespace

    from keyguard.pipeline.scan import _parse_can_matter
    from keyguard.read.documents import Document, Segment

    regexes = [re.compile("tok")]
    document = Document("m.py", "python", text, [Segment(text, python=text)])
    engine = SimpleNamespace(assignment_regexes=regexes)  # the one Engine field it reads
    assert _parse_can_matter([], candidates, document, engine) == _old_parse_can_matter(candidates, text, regexes)


# The literal-prefix search of anchored rules gives exactly finditer's matches.
_PREFIXED = [r for r in load_ruleset(()).rules.values() if r.regex is not None and r.keywords]
_PIECES = st.sampled_from(["eyJ", "eyJhbGciOiJIUzI1NiJ9", ".", "-", "_", "qbr_", "crn:v1:", "a", "Z9",
                           "_T_", "x" * 12, " ", "\n", "AKIA", "ASIA", "ASIAKIA", "ABCDEFGHIJKLMNOP",
                           "2345", "=="])


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=40), st.sampled_from(_PREFIXED))
def test_literal_prefix_search_equals_finditer(pieces: list[str], rule) -> None:
    from keyguard.detect.tokens import find_all

    text = "".join(pieces)
    regex = rule.regex
    expected = [(m.start(), m.end()) for m in regex.finditer(text)]
    assert [(m.start(), m.end()) for m in find_all(regex, text)] == expected


def test_the_jwt_rules_have_a_literal_prefix_and_flagged_ones_do_not() -> None:
    from keyguard.detect.tokens import _literal_prefixes

    assert _literal_prefixes("(?<![A-Za-z0-9_-])(?P<secret>eyJ[A-Za-z0-9_-]{10,})") == ("eyJ",)
    # sre parses AKIA|ASIA as "A" then a branch: both literals are the prefixes.
    aws_key_id = load_ruleset(()).rules["KG571"].regex
    assert _literal_prefixes(aws_key_id.pattern) == ("AKIA", "ASIA")
    assert _literal_prefixes("(?P<secret>abc|def)") == ("abc", "def")
    assert _literal_prefixes("(?P<secret>[xy]abc)") == ("xabc", "yabc")
    assert _literal_prefixes("(?P<secret>ab|def)") == ()  # too short a literal
    assert _literal_prefixes("(?i)(?P<secret>abcd)") == ()
    assert _literal_prefixes("(?i:apikey)=(?P<secret>x+)") == ()
    assert _literal_prefixes("(?P<secret>[a-z]bcd)") == ()  # a range is not a literal


def _python_sources() -> list[Path]:
    """Real Python of every shape: keyguard's own modules and a slice of the stdlib."""
    stdlib = Path(ast.__file__).parent
    return sorted(Path(__file__).resolve().parents[1].glob("keyguard/**/*.py")) + sorted(stdlib.glob("*.py"))[:120]


def test_the_tree_walk_skips_only_leaves() -> None:
    """The detector's walk yields every node ast.walk yields except names, constants,
    operators and contexts, which nothing reads from the walk, each once."""
    leaves = (ast.Name, ast.Constant, ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
    for path in _python_sources():
        tree = ast.parse(path.read_bytes())
        walked = [id(node) for node in python_detector._walk(tree)]
        expected = {id(node) for node in ast.walk(tree) if not isinstance(node, leaves)}
        assert len(walked) == len(set(walked)) and set(walked) == expected, path


class _Everything(frozenset):
    def __contains__(self, item: object) -> bool:
        return True


def test_calls_filtered_by_their_tail_give_the_same_hits(monkeypatch) -> None:
    """A call whose last name part is no call site's is skipped before resolution; with
    every tail let through, the detector finds exactly the same on the labeled corpora."""
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".py", ".ipynb")) if corpus.is_dir() else []
    if not files:
        pytest.skip("../shared/corpus is not beside the checkout")
    engine = _engine((), load_ruleset(()).select(None, None))

    def hits() -> list[tuple[str, str, int, int]]:
        found = []
        for path in files:
            result = scan_bytes(str(path), path.read_bytes(), engine)
            found += [(f.rule_id, f.location.path, f.location.line, f.location.column) for f in result.findings]
        return found

    filtered = hits()
    assert filtered, "the corpora hold call-site findings"
    monkeypatch.setattr(engine.python_detector, "call_tails", _Everything())
    assert hits() == filtered


def test_a_call_site_name_is_called_only_as_a_whole_word() -> None:
    """`QiskitRuntimeService(` is no call of `Service`: the parse gate looks for whole names."""
    detector = _engine((), load_ruleset(()).select(None, None)).python_detector
    service = "from qiskit_ibm_runtime import QiskitRuntimeService\nsvc = QiskitRuntimeService(channel='ibm_cloud')\n"
    pattern = re.compile(r"Service\s*\(\s*[^)\s]")
    assert not python_detector._called(service, "Service", pattern)
    assert python_detector._called("import cirq\nsvc = cirq.ionq.Service(api_key=k)\n", "Service", pattern)
    assert python_detector._called("svc = Service(api_key=k)\n", "Service", pattern)
    storage = "import cirq\nstore = StorageService(bucket='b')\n"
    assert not detector.wants([Segment(text=storage, python=storage)])
    ionq = "import cirq\nsvc = cirq.ionq.Service(api_key=k)\n"
    assert detector.wants([Segment(text=ionq, python=ionq)])
