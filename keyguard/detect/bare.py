"""Bare rules: keyword-less token rules, run only where a match can end.

Python's `re` tries a pattern at every position of its window. A bare rule (a key shape with
no keyword, such as 32 alphanumerics) is therefore never run over a whole segment: one cheap
pass finds the runs of key characters `[A-Za-z0-9_+/=-]` (`key_runs`), and the rule runs
inside those. A run can be a megabyte of base64 (an image pasted into Markdown), so inside a
long run the rule's own shape narrows the window further (`BareRule.windows`):

- a rule whose trailing lookahead refuses every key character can only end where the run
  ends: one window of the rule's maximum width at the run's end;
- a rule whose lookahead refuses every character its secret can hold ends where a run of
  its secret's characters ends (`[0-9a-f]{40}` inside base64: runs of hex, almost none).

Both are read from sre's own parse of the pattern; a pattern of any other shape runs over
the whole key run, as before. The matches are those of `regex.finditer` over the key run.
A keyword-less token rule must match at least `MIN_CANDIDATE` characters of key characters
(documented in docs/rule-packs.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cached_property, lru_cache
from typing import NamedTuple

from keyguard.rulepack.load import Rule

MIN_CANDIDATE = 20
# Below this length a key run is searched whole: narrowing would cost more than it saves.
SHORT_RUN = 256

KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+/=-"


def _flag_table(chars: str | frozenset[str]) -> bytes:
    """A bytes.translate table: the given characters -> 1, every other byte -> 0."""
    flags = bytearray(256)
    for char in chars:
        flags[ord(char)] = 1
    return bytes(flags)


_RUN_TABLE = _flag_table(KEY_CHARS)


def min_width(rule: Rule) -> int:
    """Shortest text the rule's regex can match (from the regex itself), at least MIN_CANDIDATE."""
    assert rule.regex is not None
    return _pattern_min_width(rule.regex)


@lru_cache(maxsize=64)
def _pattern_min_width(pattern: re.Pattern[str]) -> int:
    try:
        from keyguard.rulepack.sre import parser as _parser

        width = _parser.parse(pattern.pattern, pattern.flags).getwidth()[0]
    except Exception:
        width = MIN_CANDIDATE
    return max(int(width), MIN_CANDIDATE)


def flag_runs(flags: bytes, length: int, offset: int = 0) -> Iterator[tuple[int, int]]:
    """(start, stop) of every maximal run of at least `length` 1-bytes in `flags` (a text
    translated to 1/0 flags), shifted by `offset`. bytes.find is a skip search in C."""
    needle = b"\x01" * length
    find = flags.find
    start = find(needle)
    while start >= 0:
        stop = find(b"\x00", start + length)
        if stop < 0:
            stop = len(flags)
        yield start + offset, stop + offset
        start = find(needle, stop)


def key_runs(text: str, length: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of every maximal run of `[A-Za-z0-9_+/=-]` at least `length` long: the
    only places bare rules can match. Same spans as that regex's finditer, ~6x faster.

    sre tries the regex at every position, re-reading each word up to `length` times. Here
    the text becomes one byte per character (non-ASCII characters, never key characters,
    become '?'), 1 for a key character and 0 otherwise, and bytes.find (a skip search) looks
    for `length` ones in a row.
    """
    return flag_runs(text.encode("ascii", errors="replace").translate(_RUN_TABLE), length)


class Shape(NamedTuple):
    """What a bare rule's pattern says about where it can match (`Shape.of`).

    `secret_min`/`max_width`: lengths the secret can have (max None: unbounded).
    `secret_table`: translate table of the characters the secret can hold, all of them key
    characters (None: unknown, or not only key characters).
    `ends_at_run_end`: the trailing lookahead refuses every key character.
    `ends_at_secret_run_end`: it refuses every character the secret can hold.
    """

    secret_min: int = 0
    max_width: int | None = None
    secret_table: bytes | None = None
    ends_at_run_end: bool = False
    ends_at_secret_run_end: bool = False

    @classmethod
    def of(cls, regex: re.Pattern[str]) -> Shape:
        shape = _shape(regex)
        if shape is None:
            return cls()
        secret_min, max_width, secret_chars, refused_after = shape
        # Both shortcuts need a bounded width and a secret of key characters only (a match
        # then lies inside the key run, as the whole-run search assumes).
        usable = max_width is not None and bool(secret_chars) and secret_chars <= set(KEY_CHARS)
        return cls(
            secret_min,
            max_width,
            _flag_table(secret_chars) if usable else None,
            usable and refused_after >= set(KEY_CHARS),
            usable and refused_after >= secret_chars,
        )


class BareRule:
    """One bare rule: `min_width` (the key-run length below which it is not tried, see
    `min_width()`), its compiled `regex` and its `shape`, both made on first use (a
    pre-commit run over a few short files needs neither for most rules)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.min_width = min_width(rule)

    @cached_property
    def regex(self) -> re.Pattern[str]:
        assert self.rule.regex is not None
        return re.compile(self.rule.regex.pattern, self.rule.regex.flags)

    @cached_property
    def shape(self) -> Shape:
        return Shape.of(self.regex)

    def windows(self, text: str, start: int, stop: int,
                secret_flags: dict[bytes, bytes]) -> Iterator[tuple[int, int]]:
        """(pos, endpos) windows of the long key run text[start:stop] that hold every match
        of the rule in it. `secret_flags` caches the run's flags per secret table (shared by
        rules with the same alphabet)."""
        shape = self.shape
        if shape.max_width is None or shape.secret_table is None:
            yield start, stop + 1
        elif shape.ends_at_run_end:
            yield max(start, stop - shape.max_width), stop + 1
        elif shape.ends_at_secret_run_end:
            flags = secret_flags.get(shape.secret_table)
            if flags is None:
                flags = secret_flags[shape.secret_table] = (
                    text[start:stop].encode("ascii").translate(shape.secret_table))
            for run_start, run_stop in flag_runs(flags, max(shape.secret_min, 1), start):
                yield max(run_start, run_stop - shape.max_width), run_stop + 1
        else:
            yield start, stop + 1


class BarePlan:
    """The bare rules of one rule list, narrowest first, and the search over a text."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = sorted((BareRule(r) for r in rules if not r.keywords), key=lambda b: b.min_width)
        self.shortest = self.rules[0].min_width if self.rules else 0

    def matches(self, text: str) -> Iterator[tuple[Rule, re.Match[str]]]:
        """Every (rule, match) of the bare rules in `text`: per key run, per rule (narrowest
        first), in text order; the same matches as each regex's finditer over the run."""
        if not self.rules:
            return
        for start, stop in key_runs(text, self.shortest):
            yield from self.run_matches(text, start, stop)

    def run_matches(self, text: str, start: int, stop: int) -> Iterator[tuple[Rule, re.Match[str]]]:
        """The (rule, match) pairs inside the key run text[start:stop]."""
        length = stop - start
        if length <= SHORT_RUN:  # the common case, kept free of the windows' overhead
            for bare in self.rules:
                # Most runs are long identifiers, shorter than any key: skip the regex call.
                if length < bare.min_width:
                    break
                for match in bare.regex.finditer(text, start, stop + 1):
                    yield bare.rule, match
            return
        secret_flags: dict[bytes, bytes] = {}
        for bare in self.rules:
            if length < bare.min_width:
                break
            for pos, endpos in bare.windows(text, start, stop, secret_flags):
                for match in bare.regex.finditer(text, pos, endpos):
                    yield bare.rule, match


_PLANS: dict[int, tuple[Sequence[Rule], BarePlan]] = {}


def bare_plan(rules: Sequence[Rule]) -> BarePlan:
    """The BarePlan of a rule list, cached per list object (the list stays referenced, so
    its id stays unique)."""
    cached = _PLANS.get(id(rules))
    if cached is None or cached[0] is not rules:
        cached = _PLANS[id(rules)] = (rules, BarePlan(rules))
    return cached[1]


def _shape(regex: re.Pattern[str]) -> tuple[int, int | None, frozenset[str], frozenset[str]] | None:
    """(minimum and maximum width of the secret, characters the secret can hold, characters the trailing lookahead
    refuses) of a pattern shaped `[(?<!...)](?P<secret>...)[(?![...])]`; None for any other
    shape. Read from sre's parse; a construct we do not understand gives None."""
    try:
        from keyguard.rulepack.sre import parser as _parser

        parsed = _parser.parse(regex.pattern, regex.flags)
    except Exception:
        return None
    secret_group = regex.groupindex.get("secret")
    items = list(parsed)
    if items and str(items[0][0]) == "ASSERT_NOT" and items[0][1][0] == -1:
        items = items[1:]  # a leading lookbehind: checked by sre against the real text
    if not items or str(items[0][0]) != "SUBPATTERN" or items[0][1][0] != secret_group:
        return None
    secret = items[0]
    refused: frozenset[str] = frozenset()
    rest = items[1:]
    if rest:
        if len(rest) != 1 or str(rest[0][0]) != "ASSERT_NOT" or rest[0][1][0] != 1:
            return None
        body = list(rest[0][1][1])
        if len(body) != 1 or str(body[0][0]) != "IN":
            return None
        refused_set = _class_chars(body[0][1], int(parsed.state.flags))
        if refused_set is None:
            return None
        refused = refused_set
    chars = _consumed_chars([secret], int(parsed.state.flags))
    if chars is None:
        return None
    low, high = _parser.SubPattern(parsed.state, [secret]).getwidth()
    return int(low), (None if high >= _parser.MAXREPEAT else int(high)), chars, refused


def _consumed_chars(items: list, flags: int) -> frozenset[str] | None:
    """Every character the parsed items can consume (assertions consume none); None when
    that is not a plain set (any-character, categories, negated classes, backreferences)."""
    found: set[str] = set()
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            found.update(_cased(chr(arg), flags))
        elif name == "IN":
            chars = _class_chars(arg, flags)
            if chars is None:
                return None
            found.update(chars)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            inner = _consumed_chars(list(arg[2]), flags)
            if inner is None:
                return None
            found.update(inner)
        elif name == "SUBPATTERN":
            inner = _consumed_chars(list(arg[3]), flags | int(arg[1]))
            if inner is None:
                return None
            found.update(inner)
        elif name == "BRANCH":
            for branch in arg[1]:
                inner = _consumed_chars(list(branch), flags)
                if inner is None:
                    return None
                found.update(inner)
        elif name in ("ASSERT", "ASSERT_NOT", "AT"):
            continue
        else:
            return None
    return frozenset(found)


def _class_chars(members: list, flags: int) -> frozenset[str] | None:
    """The characters of a parsed `[...]` (None when negated or holding a category)."""
    found: set[str] = set()
    for op, arg in members:
        name = str(op)
        if name == "LITERAL":
            found.update(_cased(chr(arg), flags))
        elif name == "RANGE":
            for code in range(arg[0], arg[1] + 1):
                found.update(_cased(chr(code), flags))
        else:
            return None
    return frozenset(found)


def _cased(char: str, flags: int) -> set[str]:
    # `flags` is a plain int here (see _shape): enum arithmetic per character was most of
    # the cost of reading a shape.
    return {char, char.lower(), char.upper()} if flags & _IGNORECASE else {char}


_IGNORECASE = int(re.IGNORECASE)
