"""Which blobs can hold something a scan of the version before did not: the diff gate.

A blob is one version of a file. Scanning every version in full costs commits x file size;
most versions differ from the one before by a few lines that hold no key. So one
`git log -p -U0` pass (git computes the diffs; keyguard.sources.history.diffpass reads it)
gives each new blob's added lines, and a blob is scanned only when those lines hold

- a value in the format of a token or identifier rule that passes the token detector's
  shape filters (the same format layer as a tree scan, without its context filters),
- an SDK credential call site, a provider environment-variable write or an assignment
  keyword (the Python detector's own `wants` test): a literal of unusual shape or a
  save_account() notice, or
- a removed ignore comment (a key it hid is reported again).

Everything git shows no text diff for (merge resolutions, binary or attribute-marked files,
commits git could not diff) is scanned in full, and so is every blob of HEAD (a history
scan finds at least what a tree scan finds). What the gate can miss, when it is gone again
before HEAD: provider context (a keyword such as "ionq" that a bare key shape needs) added
in a later commit to a file whose key shape was added earlier without it; and a literal of
no key format (a KG203-style "credential literal") that reaches an unchanged call site
through a constant whose assignment alone changed (`TOKEN = "..."`, with
`QiskitRuntimeService(token=TOKEN)` committed earlier). Passing every later version of
every file with a call site closes the second: on qiskit-ibm-runtime that doubled the
full scans (2,035 more syntax-tree parses), so it is named here instead.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from typing import TYPE_CHECKING

from keyguard.detect.bare import KEY_CHARS, BarePlan, bare_plan
from keyguard.detect.tokens import find_all
from keyguard.filter.shapes import is_placeholder, is_plausible_token
from keyguard.prefilter.keywords import Keywords
from keyguard.read.documents import Segment

if TYPE_CHECKING:
    from keyguard.pipeline.scan import Engine
    from keyguard.rulepack.load import Rule

# In a notebook, a run of key characters longer than this (a base64 image) sends the blob to
# a full scan, which skips images, instead of running every rule's regex along it here.
LONG_RUN = 1024
_PYTHON_LIKE = (b".py", b".pyi", b".pyw", b".ipynb")
_ADDED = re.compile(rb"^\+(.*)", re.M)
_IGNORE_WORDS = (b"keyguard", b"allowlist")  # `# keyguard: ignore`, `pragma: allowlist`
_REMOVED_IGNORE = re.compile(rb"^-.*(?:" + b"|".join(_IGNORE_WORDS) + rb")", re.M)


# Key characters -> "a", everything else -> " ": runs are then found with bytes.find (C speed)
# instead of a regex stepping through every identifier.
_RUN_MAP = bytes(0x61 if chr(i) in KEY_CHARS else 0x20 for i in range(256))
_NO_RUN = b" "  # a mapped text without a run: holds_key_format skips the bare rules


def holds_key_format(added: bytes, engine: Engine, long_run_scans: bool = True,
                     mapped: bytes | None = None, lowered: bytes | None = None) -> bool:
    """Whether `added` holds a value in the format of a selected token or identifier rule that
    passes the token detector's shape filters (plausibility, placeholders): the same format
    layer as `find_tokens`, without the context filters (context may sit elsewhere in the
    file). Bare rules' regexes are bounded by key characters, so each is run inside one run
    of key characters at a time, as `find_tokens` does. `mapped` (`added` through _RUN_MAP)
    and `lowered` (`added.lower()`) save the work when the caller has them."""
    plan, anchored = _rule_groups(engine)
    if plan.rules:
        shortest = plan.shortest
        mapped = added.translate(_RUN_MAP) if mapped is None else mapped
        needle = b"a" * shortest
        start = mapped.find(needle)
        while start >= 0:
            stop = mapped.find(b" ", start)
            stop = len(added) if stop < 0 else stop
            if long_run_scans and stop - start > LONG_RUN:
                return True  # a notebook image: the full scan (which skips images) decides
            run = added[start:stop].decode("ascii")
            for rule, match in plan.run_matches(run, 0, len(run)):
                if _passes_shape(rule, match.group("secret"), engine):
                    return True
            start = mapped.find(needle, stop)
    if anchored:
        words, by_word = anchored
        found = words.present_in_bytes(added.lower() if lowered is None else lowered)
        if found:
            text = added.decode("utf-8", "replace")
            rules = {id(r): r for word in found for r in by_word[word]}
            for rule in rules.values():
                for match in find_all(rule.regex, text):  # type: ignore[arg-type]
                    if _passes_shape(rule, match.group("secret"), engine):
                        return True
    return False


_Anchored = "tuple[Keywords, dict[str, list[Rule]]] | None"  # a string: Rule is for type checking only
_GROUPS: dict[int, tuple[Engine, BarePlan, _Anchored]] = {}


def _rule_groups(engine: Engine) -> tuple[BarePlan, _Anchored]:
    """(the bare rules' plan, the keyword rules' keywords and the rules of each; None when
    no rule has keywords)."""
    cached = _GROUPS.get(id(engine))
    if cached is None or cached[0] is not engine:
        rules = engine.token_rules
        bare = bare_plan(rules)
        by_word: dict[str, list[Rule]] = {}
        for rule in rules:
            for word in rule.keywords:
                by_word.setdefault(word, []).append(rule)
        anchored = (Keywords(by_word), by_word) if by_word else None
        cached = _GROUPS[id(engine)] = (engine, bare, anchored)
    return cached[1], cached[2]


def _passes_shape(rule: Rule, value: str, engine: Engine) -> bool:
    from keyguard.report.advice import behaviour

    if not behaviour(rule).plausibility:  # as find_tokens: only token types have shape checks
        return True
    if not is_plausible_token(value, min_entropy=rule.min_entropy, mixed_case=rule.mixed_case):
        return False
    provider = engine.ruleset.providers[rule.provider]
    return not is_placeholder(value, provider.placeholders, frozenset(provider.env_vars))


class Gate:
    """Decides per diff section; `scan` collects blobs that need a scan, `seen` every blob
    the diff pass showed as text (blobs never seen are scanned in full).

    `block` takes many sections at once and first finds, over the whole block, where a key
    shape's run of key characters or a rule keyword or ignore word starts; a section whose
    added and removed lines hold none of them (and, for Python, no call-site hint) cannot
    pass, and only its blob name is read. The others get the full test (`_decide`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.scan: set[str] = set()
        self.seen: set[str] = set()
        plan, anchored = _rule_groups(engine)
        self._shortest = plan.shortest if plan.rules else 0
        self._needle = b"a" * self._shortest
        # Lower-cased text: the rule keywords are, and the ignore words found there are a
        # superset of the case-sensitive ones _decide looks for.
        self._words = Keywords([*(anchored[0].words if anchored else ()),
                                *(w.decode() for w in _IGNORE_WORDS)])
        self._hints = engine.python_detector.hint_words

    def section(self, text: bytes) -> None:
        """One diff section: the text after "diff --git " up to the next section."""
        self.block(text, [(0, len(text))])

    def block(self, block: bytes, sections: Iterable[tuple[int, int]]) -> None:
        """The sections block[start:end] (each as `section` takes it)."""
        mapped = block.translate(_RUN_MAP) if self._shortest else b""
        lowered = block.lower()
        words = self._words.starts_in_bytes(lowered)
        for start, end in sections:
            self._section(block, start, end, mapped, lowered, words)

    def _section(self, text: bytes, start: int, end: int, mapped: bytes, lowered: bytes,
                 words: list[int]) -> None:
        at = text.find(b"\nindex ", start, end)
        if at < 0:
            return  # mode change, or a header git wrote without contents
        dots = text.find(b"..", at, end)
        line_end = text.find(b"\n", at + 1, end)
        if dots < 0 or line_end < 0 or dots > line_end:
            return
        space = text.find(b" ", dots, line_end)
        blob = text[dots + 2: space if space > 0 else line_end].decode()
        head_end = text.find(b"\n@@", line_end - 1, end)
        if head_end < 0:  # no hunk: binary ("Binary files ... differ") or empty
            return
        self.seen.add(blob)
        if blob in self.scan:
            return
        body = head_end + 1
        name = text[start:text.find(b"\n", start, end)].rstrip(b'"')
        python_like = name.endswith(_PYTHON_LIKE)
        # Runs of key characters and words lie within one line: one starting in the body
        # is in it.
        has_run = bool(mapped) and mapped.find(self._needle, body, end) >= 0
        if not (has_run or _any_between(words, body, end)
                or (python_like and self._hints.any_in_range(text, body, end))):
            return
        self._decide(name, text[body:end], blob, mapped[body:end] if has_run else _NO_RUN,
                     lowered[body:end])

    def _decide(self, name: bytes, body: bytes, blob: str, mapped: bytes, lowered: bytes
                ) -> None:
        if (b"keyguard" in body or b"allowlist" in body) and _REMOVED_IGNORE.search(body):
            self.scan.add(blob)
            return
        python_like, notebook = name.endswith(_PYTHON_LIKE), name.endswith(b".ipynb")
        # Cheap first: the whole hunk text (removed lines too) has no key format and, for
        # Python, no call-site hint: nothing new can be there.
        maybe_key = holds_key_format(body, self.engine, notebook, mapped, lowered)
        if not maybe_key and not python_like:
            return
        added = b"\n".join(_ADDED.findall(body))
        if not added:
            return
        if maybe_key and holds_key_format(added, self.engine, notebook):
            self.scan.add(blob)
            return
        if python_like:
            decoded = added.decode("utf-8", "replace")
            if notebook:  # code cells are JSON strings
                decoded = decoded.replace('\\"', '"').replace("\\n", "\n")
            if self.engine.python_detector.wants([Segment(text=decoded, python=decoded)]):
                self.scan.add(blob)


def _any_between(starts: list[int], low: int, high: int) -> bool:
    """Whether a position in sorted `starts` lies in [low, high)."""
    i = bisect_left(starts, low)
    return i < len(starts) and starts[i] < high


def select(blobs: set[str], scan: set[str], seen: set[str], always: Iterable[str] = ()) -> set[str]:
    """The blobs to scan: those the gate passed, those the diff pass never showed (merge
    resolutions, binary files, a pass cut short) and `always` (HEAD's blobs)."""
    return (blobs & scan) | (blobs - seen) | (blobs & set(always))
