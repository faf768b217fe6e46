"""Which of a fixed set of words occur in a text: one Aho-Corasick pass.

Used for the file prefilter (the packs' keywords), the keyword-anchored rules of a segment,
the call-site names that make a syntax-tree parse worthwhile and the key-shaped candidates
whose assignments it looks at. The automaton is
ahocorasick-rs (the Rust `aho-corasick` crate): on 42 MB of quantum code it finds the ~90
call-site names in 0.12 s, where a trie-shaped `re` pattern took 1.45 s (sre tries a branch at
every position whose character starts some word) and pyahocorasick 0.74 s (timed on
bench/peers.py's generated tree; bench/packs_cost.py measures what the packs' words cost).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import ahocorasick_rs

# A file's first keyword is usually near its top (its imports): search a growing prefix, so
# a file that passes costs a few KB, and one that fails at most ~1.15 passes. (The library
# has no "stop at the first match": each search lists every match in what it is given.)
_FIRST_CHUNK = 1 << 12
_GROWTH = 8
_DFA = ahocorasick_rs.Implementation.DFA
_LEFTMOST = ahocorasick_rs.MatchKind.LeftmostLongest
# Past this many matches, a window search per match costs more than one overlapping pass.
_FEW_MATCHES = 16
# The SIMD prefilter (Teddy) takes at most 64 words; past that the leftmost pass is no faster.
_SIMD_WORDS = 64
_DFA_WORDS = 1000


_SURROGATE = re.compile("[\ud800-\udfff]")


def _searchable(text: str) -> str:
    """`text` with each lone surrogate (which UTF-8, the library's input, cannot carry) as
    U+FFFD: the same length, so character offsets stay, and no word holds either character."""
    return _SURROGATE.sub("\ufffd", text)


class Keywords:
    """A fixed, non-empty-string word list and the searches over it.

    `present(text)`: the words occurring in `text`, overlapping ones too (`Service` inside
    `QiskitRuntimeService`); the same set as `{w for w in words if w in text}`.
    `occurrences(text)`: (word, start) of every occurrence.
    `present_in_bytes(data)`: the same as `present` over bytes (words encoded as UTF-8).
    `any_in(data)`: whether any word occurs in `data` (bytes); `any_in_range` the same for
    a slice, `starts_in_bytes` where matches start (see there).
    Matching is exact (case-sensitive): lower-case the text for case-insensitive words.

    `present` runs a leftmost-longest search, which the library speeds up with a SIMD
    prefilter (7.5x faster than an overlapping search for the ten rule keywords on 59 MB of
    quantum code and notebooks: 19 ms against 140 ms), then an overlapping search only
    around each match, where a word overlapping or inside it can hide. The automata are
    built on first use.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words: tuple[str, ...] = tuple(dict.fromkeys(w for w in words if w))
        self._longest = max(map(len, self.words), default=0)
        self._longest_bytes = max((len(w.encode()) for w in self.words), default=0)
        self._automata: dict[str, Any] = {}

    def _automaton(self, kind: str) -> Any:
        automaton = self._automata.get(kind)
        if automaton is None:
            words = list(self.words)
            if kind == "text-leftmost":
                automaton = ahocorasick_rs.AhoCorasick(words, matchkind=_LEFTMOST, store_patterns=True)
            elif kind == "text-all":
                automaton = ahocorasick_rs.AhoCorasick(words, store_patterns=True, implementation=self._full())
            elif kind == "bytes-leftmost":
                automaton = ahocorasick_rs.BytesAhoCorasick([w.encode() for w in words], matchkind=_LEFTMOST)
            else:
                automaton = ahocorasick_rs.BytesAhoCorasick([w.encode() for w in words], implementation=self._full())
            self._automata[kind] = automaton
        return automaton

    def _full(self) -> Any:
        # A DFA for the packs' word lists: the library's default picks an NFA from ~100 words
        # on, 4x slower here (0.42 s against 0.11 s for the ~150 hints of the syntax-tree
        # gate). Not for thousands of candidate values: a DFA of 50,000 keys took 1.1 GB.
        return _DFA if len(self.words) <= _DFA_WORDS else None

    def present(self, text: str) -> set[str]:
        try:
            return self._present(text)
        except UnicodeEncodeError:  # a lone surrogate (a notebook's "\ud800"): see _searchable
            return self._present(_searchable(text))

    def _present(self, text: str) -> set[str]:
        if not self.words:
            return set()
        if len(self.words) > _SIMD_WORDS:
            return set(self._automaton("text-all").find_matches_as_strings(text, overlapping=True))
        matches = self._automaton("text-leftmost").find_matches_as_indexes(text)
        if not matches:
            return set()
        every = self._automaton("text-all")
        if len(matches) > _FEW_MATCHES:  # frequent words: one overlapping pass is cheaper
            return set(every.find_matches_as_strings(text, overlapping=True))
        words = self.words
        found = {words[i] for i, _, _ in matches}
        reach = self._longest - 1
        for _, start, end in matches:
            # A word that starts inside this match (or at it: a shorter prefix) was skipped by
            # the non-overlapping search; any such word lies within this window.
            found.update(every.find_matches_as_strings(text[start: end + reach], overlapping=True))
        return found

    def occurrences(self, text: str) -> Iterator[tuple[str, int]]:
        """(word, start) of every occurrence of every word, overlapping ones too, in order of
        their end; `start` counts characters."""
        if not self.words:
            return
        automaton = self._automaton("text-all")
        try:
            matches = automaton.find_matches_as_indexes(text, overlapping=True)
        except UnicodeEncodeError:
            matches = automaton.find_matches_as_indexes(_searchable(text), overlapping=True)
        words = self.words
        for index, start, _ in matches:
            yield words[index], start

    def present_in_bytes(self, data: bytes) -> set[str]:
        if not self.words:
            return set()
        matches = self._automaton("bytes-leftmost").find_matches_as_indexes(data)
        if not matches:
            return set()
        every = self._automaton("bytes-all")
        words = self.words
        if len(matches) > _FEW_MATCHES:
            return {words[i] for i, _, _ in every.find_matches_as_indexes(data, overlapping=True)}
        found = {words[i] for i, _, _ in matches}
        view = memoryview(data)
        reach = self._longest_bytes - 1
        for _, start, end in matches:
            found.update(words[i] for i, _, _ in
                         every.find_matches_as_indexes(view[start: end + reach], overlapping=True))
        return found

    def starts_in_bytes(self, data: bytes) -> list[int]:
        """Start offsets, ascending, of a leftmost-longest (non-overlapping) set of matches:
        every occurrence of every word overlaps one of them, so a range no word can cross
        (between two newlines, when no word holds one) holds a word iff a match starts in it."""
        if not self.words:
            return []
        return [start for _, start, _ in self._automaton("bytes-leftmost").find_matches_as_indexes(data)]

    def any_in_range(self, data: bytes, start: int, end: int) -> bool:
        """Whether any word occurs within data[start:end] (no copy is made)."""
        if not self.words:
            return False
        return bool(self._automaton("bytes-leftmost").find_matches_as_indexes(memoryview(data)[start:end]))

    def any_in(self, data: bytes) -> bool:
        if not self.words:
            return False
        automaton = self._automaton("bytes-leftmost")
        view = memoryview(data)
        size = _FIRST_CHUNK
        while True:
            # Each prefix is searched from its start, so a word across a chunk edge is found.
            if automaton.find_matches_as_indexes(view[:size]):
                return True
            if size >= len(data):
                return False
            size *= _GROWTH
